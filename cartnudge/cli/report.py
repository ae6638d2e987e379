"""``cartnudge report``: parse the period, collect the report, write it (table, CSV, JSON, HTML)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cartnudge.cli.common import config_option, handle_errors, load_app, parse_date
from cartnudge.cli.tabular import write_rows
from cartnudge.files import write_file
from cartnudge.operator.report import (
    BY_CHOICES,
    CSV_HEADERS,
    DEFINITIONS,
    RATE_LABEL,
    FlowReport,
    Period,
    Report,
    auto_by,
    collect,
    count_text,
    csv_columns,
    csv_rows,
    figure_cells,
    figure_headers,
    flow_figures,
    report_to_dict,
    sparkline,
    yen,
)

REPORT_FORMATS = ("table", "csv", "json")


def _right(table: Table, *names: str) -> None:
    for name in names:
        table.add_column(name, justify="right")


FIGURE_COLUMNS = figure_headers("rate")


def _print_flow(console: Console, fr: FlowReport, by: str | None) -> None:
    console.print(Text(f"{fr.flow} flow", style="bold"))
    totals = Table(header_style="bold")
    totals.add_column("figure")
    _right(totals, "value")
    rows = flow_figures(fr, indent="  ")
    for label, value in rows:
        totals.add_row(label, value)
    console.print(totals)

    if fr.variants:
        console.print(Text(f"{fr.flow} flow by step, channel and template", style="bold"))
        variants = Table(header_style="bold")
        _right(variants, "step")
        variants.add_column("channel")
        _right(variants, "template", *FIGURE_COLUMNS)
        for v in fr.variants:
            variants.add_row(
                count_text(v.step),
                v.channel or "",
                "" if v.template_id is None else str(v.template_id),
                *figure_cells(v.figures),
            )
        console.print(variants)

    if by and fr.series:
        console.print(Text(f"{fr.flow} flow by {by}", style="bold"))
        series = Table(header_style="bold")
        series.add_column(by)
        _right(series, "abandoned", "skipped", *FIGURE_COLUMNS)
        for b, f in fr.series:
            series.add_row(
                b.label, count_text(f.abandoned), count_text(f.skipped), *figure_cells(f)
            )
        console.print(series)
        figures = [f for _, f in fr.series]
        lines = [f"trend by {by}, {fr.series[0][0].label} → {fr.series[-1][0].label}"]
        trend = [
            ("abandoned", [f.abandoned for f in figures], count_text),
            ("reminded", [f.reminded for f in figures], count_text),
            ("recovered", [f.recovered for f in figures], count_text),
            ("revenue", [f.revenue for f in figures], yen),
        ]
        for label, values, fmt in trend:
            if any(v is None for v in values):
                continue
            numbers = [v or 0 for v in values]
            lines.append(
                f"  {label:<10} {sparkline(numbers)}  max {fmt(max(numbers))}, "
                f"total {fmt(sum(numbers))}"
            )
        console.print(Text("\n".join(lines) + "\n"))


def print_report(report: Report, out: TextIO) -> None:
    """The report for people: per flow a figures table, the variants and the series with a
    sparkline of each figure, then what the figures count."""
    width = None if out.isatty() else 160  # a pipe or a file gets whole tables, not folds
    console = Console(file=out, highlight=False, soft_wrap=False, width=width)
    p = report.period
    console.print(
        Text(
            f"cartnudge report: carts abandoned {p.first.isoformat()} to "
            f"{p.last.isoformat()} inclusive ({p.tz.key})\n"
        )
    )
    for fr in report.flows:
        _print_flow(console, fr, p.by)
    console.print(
        Text(
            f"rate: {RATE_LABEL}; reminded orders are {DEFINITIONS['reminded']}.\n"
            f"skipped: {DEFINITIONS['skipped']}.\n"
            f"clicks: {DEFINITIONS['clicks']}.\n"
            "sent, failed, in doubt and retry count messages; the other figures count orders."
        )
    )


def write_html(path: Path, page: str) -> None:
    """Write the page beside its final name and rename it there (:func:`cartnudge.files.
    write_file`): a reader never sees half a page, and a symlink, FIFO or device at ``path`` is
    refused (FileWriteError, exit 9)."""
    write_file(path, page, what="--html")


@click.command()
@config_option
@click.option(
    "--from",
    "date_from",
    required=True,
    metavar="DATE",
    help="First day of the period: carts abandoned on or after this local day "
    "(configured time zone), e.g. --from 2026-11-01.",
)
@click.option(
    "--to",
    "date_to",
    required=True,
    metavar="DATE",
    help="Last day of the period, included, e.g. --to 2026-11-30.",
)
@click.option(
    "--by",
    type=click.Choice(BY_CHOICES),
    help="Add a time series by local abandonment day, ISO week (Monday start) or month, "
    "drawn as sparklines in the table, e.g. --by week.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(REPORT_FORMATS),
    default=None,
    help="table on a terminal, csv when piped (default; one flat row per flow total, "
    "variant and series point), json (nested), e.g. --format json. With --html and no "
    "--format, only the page is written.",
)
@click.option("--bom", is_flag=True, help="Start CSV with a UTF-8 BOM (for Excel).")
@click.option(
    "--html",
    "html_path",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a self-contained HTML page (tables and an SVG chart of the series; "
    "by day, week or month to fit the period when --by is not given), "
    "e.g. --html report.html.",
)
@handle_errors
def report(
    config_path: str,
    date_from: str,
    date_to: str,
    by: str | None,
    fmt: str | None,
    bom: bool,
    html_path: Path | None,
) -> None:
    """What the reminders achieved for the carts abandoned in a period, per flow.

    Per flow (confirm and input separately, and each bulk mailing), and per step, channel
    and template: abandoned orders, targeted, skipped per reason, sent, failed, in doubt,
    recovered orders, recovery rate (recovered ÷ reminded orders) and recovered revenue.
    Clicks are not tracked yet (n/a). Dates are local days of the configured time zone, both
    included; every figure is about the carts abandoned on those days.

    \b
    Examples:
      cartnudge report --from 2026-11-01 --to 2026-11-30
      cartnudge report --from 2026-11-01 --to 2026-11-30 --by day
      cartnudge report --from 2026-10-01 --to 2026-12-31 --by week --format json
      cartnudge report --from 2026-11-01 --to 2026-11-30 --html /var/www/report.html
    """
    first, last = parse_date(date_from, "--from"), parse_date(date_to, "--to")
    assert first is not None and last is not None
    if first > last:
        raise click.BadParameter(f"{date_from} is after --to {date_to}", param_hint="--from")
    out = sys.stdout
    if fmt is None and html_path is None:
        fmt = "table" if out.isatty() else "csv"
    app = load_app(config_path)
    try:
        chart_by = by or (auto_by(first, last) if html_path else None)
        full = collect(app, Period(first, last, app.config.tz, chart_by))
    finally:
        app.dispose()
    if html_path is not None:
        from cartnudge.operator.report_html import render_html

        write_html(html_path, render_html(full))
    shown = full if by else full.without_series()
    if fmt == "json":
        out.write(json.dumps(report_to_dict(shown), ensure_ascii=False, indent=2) + "\n")
    elif fmt == "csv":
        columns = csv_columns(shown)
        headers = {c: CSV_HEADERS.get(c, c) for c in columns}
        write_rows(csv_rows(shown), columns, "csv", out=out, headers=headers, bom=bom)
    elif fmt == "table":
        print_report(shown, out)
