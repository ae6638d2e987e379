"""``cartnudge report``: parse the period, collect the report, write it (table, CSV, JSON, HTML)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date
from fractions import Fraction
from pathlib import Path
from typing import TextIO

import click
from rich.console import Console
from rich.text import Text

from cartnudge.cli.common import config_option, handle_errors, load_app, parse_date
from cartnudge.cli.output import LEFT_OUT, arm_columns
from cartnudge.cli.tabular import Col, console_for, print_table, write_rows
from cartnudge.files import write_file
from cartnudge.operator.experiments import ExperimentReport, arm_rows, state_text
from cartnudge.operator.lift import Lift, lift_figures, lift_title
from cartnudge.operator.report import (
    BREAKDOWNS,
    BY_CHOICES,
    COUPON_HEADERS,
    CSV_HEADERS,
    DEFINITIONS,
    RATE_LABEL,
    FlowReport,
    Period,
    Report,
    auto_by,
    collect,
    count_text,
    coupon_cells,
    csv_columns,
    csv_rows,
    figure_cells,
    figure_headers,
    flow_figures,
    rate_text,
    report_to_dict,
    sparkline,
    yen,
)

REPORT_FORMATS = ("table", "csv", "json")


# Drop order at a narrow width (0: always shown): the figures a shop owner reads first stay.
_FIGURE_DROP = {
    "targeted": 6,
    "sent": 0,
    "failed": 9,
    "in doubt": 8,
    "retry": 7,
    "reminded": 0,
    "recovered": 0,
    "rate": 0,
    "revenue": 0,
    "clicked": 3,
    "click rate": 4,
    "click→purchase": 5,
}
FIGURE_COLUMNS = tuple(
    Col(h, "number", _FIGURE_DROP[h])
    for h in (*figure_headers("rate"), "clicked", "click rate", "click→purchase")
)


def _print_flow(console: Console, fr: FlowReport, by: str | None) -> None:
    console.print(Text(f"{fr.flow} flow", style="bold"))
    print_table(
        console, (Col("figure", "prose"), Col("value", "number")), flow_figures(fr, indent="  ")
    )

    if fr.variants:
        console.print(Text(f"{fr.flow} flow by step, channel and template", style="bold"))
        print_table(
            console,
            (Col("step", "id"), Col("channel"), Col("template", "id"), *FIGURE_COLUMNS),
            (
                (
                    count_text(v.step),
                    v.channel or "",
                    "" if v.template_id is None else str(v.template_id),
                    *figure_cells(v.figures),
                )
                for v in fr.variants
            ),
            left_out=LEFT_OUT,
        )

    for dimension in BREAKDOWNS:
        rows = fr.breakdown(dimension)
        if len(rows) < 2:  # one value only: the flow's totals again
            continue
        console.print(Text(f"{fr.flow} flow by {dimension}", style="bold"))
        print_table(
            console,
            (Col(dimension), *FIGURE_COLUMNS),
            ((value, *figure_cells(f)) for value, f in rows),
            left_out=LEFT_OUT,
        )

    if any(v.figures.coupons_given for v in fr.variants):
        console.print(Text(f"{fr.flow} flow coupons by step, channel and template", style="bold"))
        print_table(
            console,
            (
                Col("step", "id"),
                Col("channel"),
                Col("template", "id"),
                *(Col(h, "number") for h in COUPON_HEADERS),
            ),
            (
                (
                    count_text(v.step),
                    v.channel or "",
                    "" if v.template_id is None else str(v.template_id),
                    *coupon_cells(v.figures),
                )
                for v in fr.variants
                if v.figures.coupons_given
            ),
        )

    if by and fr.series:
        console.print(Text(f"{fr.flow} flow by {by}", style="bold"))
        print_table(
            console,
            (Col(by), Col("abandoned", "number"), Col("skipped", "number", 2), *FIGURE_COLUMNS),
            (
                (b.label, count_text(f.abandoned), count_text(f.skipped), *figure_cells(f))
                for b, f in fr.series
            ),
            left_out=LEFT_OUT,
        )
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


def _print_lift(console: Console, lift: Lift, by: str | None) -> None:
    console.print(Text(lift_title(lift), style="bold"))
    print_table(console, (Col("holdout figure", "prose"), Col("value")), lift_figures(lift))
    if by and lift.series:
        rows = []
        for point in lift.series:
            r, h = point.reminded, point.holdout
            rows.append(
                (
                    point.bucket.label,
                    f"{r.persons:,}",
                    rate_text(None if not r.persons else Fraction(r.recovered, r.persons)),
                    f"{h.persons:,}",
                    rate_text(None if not h.persons else Fraction(h.recovered, h.persons)),
                )
            )
        cols = (Col(by), *(Col(h, "number") for h in ("reminded", "rate", "holdout", "rate")))
        print_table(console, cols, rows)
    console.print()


def _print_experiment(console: Console, r: ExperimentReport) -> None:
    e = r.experiment
    console.print(
        Text(
            f"A/B test {e.name}: {e.flow} flow, step {e.step}: {state_text(r)} "
            "(all shoppers since it started)",
            style="bold",
        )
    )
    print_table(console, arm_columns(), arm_rows(r), left_out=LEFT_OUT)
    console.print()


def _print_seekers(console: Console, report: Report) -> None:
    from cartnudge.operator.report import seeker_person

    console.print(
        Text(
            f"coupon seekers: {len(report.coupon_seekers)} shopper(s) kept abandoning carts "
            "after receiving codes (coupons.seeker_after)",
            style="bold",
        )
    )
    tz = report.period.tz
    rows = [
        [
            seeker_person(x),
            x.codes,
            x.first_code_at.replace(tzinfo=UTC).astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            x.abandoned_after,
        ]
        for x in report.coupon_seekers
    ]
    print_table(
        console,
        [
            Col("shopper", "prose"),
            Col("codes", "number"),
            Col("first code"),
            Col("carts abandoned after", "number"),
        ],
        rows,
    )
    console.print()


def print_report(report: Report, out: TextIO) -> None:
    """The report for people: per flow a figures table, the variants and the series with a
    sparkline of each figure, then what the figures count. Laid out for the terminal's width
    (or ``COLUMNS``; a pipe or a file gets 160 columns)."""
    console = console_for(out)
    p = report.period
    console.print(
        Text(
            f"cartnudge report: carts abandoned {p.first.isoformat()} to "
            f"{p.last.isoformat()} inclusive ({p.tz.key})\n"
        )
    )
    for fr in report.flows:
        _print_flow(console, fr, p.by)
    for lift in report.holdouts:
        _print_lift(console, lift, p.by)
    for test in report.experiments:
        _print_experiment(console, test)
    if report.coupon_seekers:
        _print_seekers(console, report)
    console.print(
        Text(
            f"rate: {RATE_LABEL}; reminded orders are {DEFINITIONS['reminded']}.\n"
            f"skipped: {DEFINITIONS['skipped']}.\n"
            f"clicks: {DEFINITIONS['clicks']}; click rate: {DEFINITIONS['click_rate']}; "
            f"click→purchase: {DEFINITIONS['click_to_purchase_rate']}.\n"
            "sent, failed, in doubt and retry count messages; the other figures count orders."
            + (
                f"\ndiscount cost: {DEFINITIONS['discount_cost']}."
                if any(f.totals.coupons_given for f in report.flows)
                else ""
            )
        )
    )


def write_html(path: Path, page: str) -> None:
    """Write the page beside its final name and rename it there (:func:`cartnudge.files.
    write_file`): a reader never sees half a page, and a symlink, FIFO or device at ``path`` is
    refused (FileWriteError, exit 9)."""
    write_file(path, page, what="--html")


# A series longer than this is no report a person reads, and building it costs time and memory.
MAX_SERIES_ROWS = 3_700


def series_rows(first: date, last: date, by: str) -> int:
    """How many rows ``--by`` gives from ``first`` to ``last`` (both included)."""
    days = (last - first).days + 1
    if by == "day":
        return days
    if by == "week":
        return days // 7 + 2
    return (last.year - first.year) * 12 + last.month - first.month + 1


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
@click.option(
    "--lang",
    type=click.Choice(("ja", "en")),
    help="The language of the --html page: ja (the default for a shop whose timezone is "
    "Asia/Tokyo) or en (the default otherwise), e.g. --lang en.",
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
    lang: str | None,
) -> None:
    """What the reminders achieved for the carts abandoned in a period, per flow.

    Per flow (confirm and input separately, and each bulk mailing), and per step, channel
    and template: abandoned orders, targeted, skipped per reason, sent, failed, in doubt,
    recovered orders, recovery rate (recovered ÷ reminded orders) and recovered revenue;
    coupon codes given and redeemed, their discount cost and the revenue net of it; and each
    flow by channel, by trigger (delay, price_drop, low_stock) and by coupon (with or
    without a code).
    Clicks are not tracked yet (n/a). Dates are local days of the configured time zone, both
    included; every figure is about the carts abandoned on those days.

    \b
    Examples:
      cartnudge report --from 2026-11-01 --to 2026-11-30
      cartnudge report --from 2026-11-01 --to 2026-11-30 --by day
      cartnudge report --from 2026-10-01 --to 2026-12-31 --by week --format json
      cartnudge report --from 2026-11-01 --to 2026-11-30 --html /var/www/report.html
      cartnudge report --from 2026-11-01 --to 2026-11-30 --html report.html --lang en
    """
    first, last = parse_date(date_from, "--from"), parse_date(date_to, "--to")
    assert first is not None and last is not None
    if first > last:
        raise click.BadParameter(f"{date_from} is after --to {date_to}", param_hint="--from")
    if by is not None:
        rows = series_rows(first, last, by)
        if rows > MAX_SERIES_ROWS:
            raise click.BadParameter(
                f"--by {by} from {first} to {last} would be {rows:,} rows, more than "
                f"{MAX_SERIES_ROWS:,}: choose a coarser --by or a shorter period",
                param_hint="--by",
            )
    out = sys.stdout
    if fmt is None and html_path is None:
        fmt = "table" if out.isatty() else "csv"
    app = load_app(config_path)
    try:
        chart_by = by or (auto_by(first, last) if html_path else None)
        full = collect(app, Period(first, last, app.config.tz, chart_by))
        names = {i: info.name for i, info in app.catalogue.templates.items()}
    finally:
        app.dispose()
    if html_path is not None:
        from cartnudge.operator.report_html import render_html

        page = render_html(
            full, lang=lang, shop_name=app.config.settings.sender.name, template_names=names
        )
        write_html(html_path, page)
    shown = full if by else full.without_series()
    if fmt == "json":
        out.write(json.dumps(report_to_dict(shown), ensure_ascii=False, indent=2) + "\n")
    elif fmt == "csv":
        columns = csv_columns(shown)
        headers = {c: CSV_HEADERS.get(c, c) for c in columns}
        write_rows(csv_rows(shown), columns, "csv", out=out, headers=headers, bom=bom)
    elif fmt == "table":
        print_report(shown, out)
