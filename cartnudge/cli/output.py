"""Human output: the sweep summary as a rich table, and a progress bar only on a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from cartnudge.sweep import Summary


def print_summary(summary: Summary, tz: Any, console: Console | None = None) -> None:
    console = console or Console(highlight=False, soft_wrap=True)
    local = summary.now.replace(tzinfo=UTC).astimezone(tz)
    title = f"cartnudge sweep {local:%Y-%m-%d %H:%M %Z}" + (" (dry run)" if summary.dry_run else "")
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("what")
    table.add_column("count", justify="right")
    rows: list[tuple[str, int]] = [
        ("candidates", summary.candidates),
        ("due", summary.due),
    ]
    if summary.dry_run:
        rows.append(("would send", summary.would_send))
    else:
        rows += [
            ("sent", summary.sent),
            ("failed", summary.failed),
            ("temporary failure, retried next sweep", summary.retry_later),
            ("claimed by another sweep", summary.claimed_elsewhere),
            ("in doubt (a sweep died while sending)", summary.in_doubt_found),
        ]
    rows.append(("waiting (not yet due)", summary.waiting))
    for reason, count in sorted(summary.deferred.items()):
        rows.append((f"  of which deferred: {reason}", count))
    for reason, count in sorted(summary.skipped.items()):
        rows.append((f"skipped: {reason}", count))
    if summary.invalid_rows:
        rows.append(("invalid shop rows (see stderr)", summary.invalid_rows))
    for kind in sorted(summary.unusable_channels):
        rows.append((f"{kind} channel unusable (see stderr): left for the next sweep", 1))
    for kind, why in sorted(summary.stopped_channels.items()):
        rows.append((f"{kind} stopped ({why}): reminders held", summary.held.get(kind, 0)))
    if summary.recovered:
        rows.append(("recovered orders", summary.recovered))
        rows.append(("recovered revenue (yen)", summary.recovered_amount))
    for label, count in rows:
        table.add_row(label, f"{count:,}")
    console.print(table)
    if len(summary.flows) > 1:
        # The source platform reports its two flows apart (確認画面離脱 / 入力画面離脱).
        per_flow = Table(title="per flow", header_style="bold")
        columns = ("candidates", "due", "sent", "failed", "waiting", "deferred", "skipped")
        per_flow.add_column("flow")
        for column in columns:
            per_flow.add_column(column, justify="right")
        for flow, counts in sorted(summary.flows.items()):
            per_flow.add_row(flow, *(f"{counts.get(c, 0):,}" for c in columns))
        console.print(per_flow)


@contextmanager
def progress_reporter(enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """A callback that advances a spinner on stderr, drawn only when stderr is a terminal."""
    if not (enabled and sys.stderr.isatty()):
        yield lambda _n: None
        return
    console = Console(stderr=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("sweeping: 0 carts", total=None)
        yield lambda n: progress.update(task, description=f"sweeping: {n:,} carts")
