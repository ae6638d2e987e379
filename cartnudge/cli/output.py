"""Human output: the sweep summary as a rich table, and a progress bar only on a terminal.

rich and the table helpers are imported by the functions that draw: a quiet cron sweep never
loads them (start-up time).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from cartnudge.cli.tabular import Col
    from cartnudge.sweep import Summary

# The note under a table whose columns gave way to a narrow terminal.
LEFT_OUT = "--format csv or json has every column"


def print_summary(summary: Summary, tz: Any, console: Console | None = None) -> None:
    """The sweep's summary table (and one per flow when there are several) on ``console``."""
    from cartnudge.cli.tabular import Col, console_for, print_table

    console = console or console_for(pipe_width=None)
    local = summary.now.replace(tzinfo=UTC).astimezone(tz)
    title = f"cartnudge sweep {local:%Y-%m-%d %H:%M %Z}" + (" (dry run)" if summary.dry_run else "")
    rows: list[tuple[str, int]] = []
    if summary.mode_reason:
        why = "" if summary.mode == "incremental" else f": {summary.mode_reason}"
        rows.append((f"shop rows read ({summary.mode} sweep{why})", summary.shop_rows_read))
    rows += [
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
    if summary.held_out:
        rows.append(("held out (holdout: recorded, not sent)", summary.held_out))
    rows.append(("waiting (not yet due)", summary.waiting))
    for reason, count in sorted(summary.deferred.items()):
        rows.append((f"  of which deferred: {reason}", count))
    for reason, count in sorted(summary.skipped.items()):
        rows.append((f"skipped: {reason}", count))
    if summary.invalid_rows:
        rows.append(("invalid shop rows (see stderr)", summary.invalid_rows))
    for kind in sorted(summary.unusable_channels):
        rows.append((f"{kind} channel unusable (see stderr): left for the next sweep", 1))
    for kind in sorted(summary.throttled_channels):
        rows.append((f"{kind} channel throttled (quota or rate limit): left for the next sweep", 1))
    for kind, why in sorted(summary.stopped_channels.items()):
        rows.append((f"{kind} stopped ({why}): reminders held", summary.held.get(kind, 0)))
    if summary.recovered:
        rows.append(("recovered orders", summary.recovered))
        rows.append(("recovered revenue (yen)", summary.recovered_amount))
    if summary.buckets.get("of"):  # several sweepers (sweep.buckets)
        of = summary.buckets["of"]
        rows.append(
            (f"buckets swept (of {of}; the others by other sweepers)", summary.buckets["swept"])
        )
        if summary.buckets["lost"]:
            rows.append(
                ("buckets taken over by another sweeper (lease ran out)", summary.buckets["lost"])
            )
    print_table(console, (Col("what", "prose"), Col("count", "number")), rows, title=title)
    if len(summary.flows) > 1:
        # The source platform reports its two flows apart (確認画面離脱 / 入力画面離脱).
        columns = ("candidates", "due", "sent", "failed", "waiting", "deferred", "skipped")
        print_table(
            console,
            (Col("flow"), *(Col(c, "number") for c in columns)),
            [
                (flow, *(counts.get(c, 0) for c in columns))
                for flow, counts in sorted(summary.flows.items())
            ],
            title="per flow",
        )


def arm_columns() -> tuple[Col, ...]:
    """The columns of an A/B test's table (:data:`ARM_HEADERS`); at a narrow width the
    weight, template, delay and click columns give way first."""
    from cartnudge.cli.tabular import Col
    from cartnudge.operator.experiments import ARM_HEADERS

    drop = {"weight": 5, "template": 4, "delay": 6, "clicks": 3, "click rate": 2, "sent": 1}
    kinds = {"variant": "text", "template": "id"}
    return tuple(Col(h, kinds.get(h, "number"), drop.get(h, 0)) for h in ARM_HEADERS)


@contextmanager
def progress_reporter(enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """A callback that advances a spinner on stderr, drawn only when stderr is a terminal."""
    if not (enabled and sys.stderr.isatty()):
        yield lambda _n: None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

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
