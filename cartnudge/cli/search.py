"""``cartnudge search`` and the filter options it shares with ``send-bulk``."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import click

from cartnudge.cli import common
from cartnudge.cli.common import config_option, handle_errors, load_app
from cartnudge.cli.tabular import FORMATS, write_rows
from cartnudge.operator.search import (
    CUSTOMER_COLUMNS,
    DEFAULT_CUSTOMER_COLUMNS,
    DEFAULT_ORDER_COLUMNS,
    ORDER_COLUMNS,
    SORT_KEYS,
    Filters,
    customers,
    recovered_orders,
    sort_rows,
)

YES_NO = click.Choice(["yes", "no", "any"])
TABLE_LIMIT = 1000


def _tristate(value: str) -> bool | None:
    return {"yes": True, "no": False, "any": None}[value]


def parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    for fmt in ("%Y-%m-%d", "%Y/%m/%d"):
        try:
            from datetime import datetime

            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise click.BadParameter(
        f"{value!r} is not a date (write 2026-11-22 or 2026/11/22)", param_hint=option
    )


def filter_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The selection options of ``search`` and ``send-bulk``, spelled the same in both."""
    options = [
        click.option(
            "--abandoned",
            type=YES_NO,
            default="yes",
            show_default=True,
            help="Customers with an order in abandoned state (no: without; any).",
        ),
        click.option(
            "--status",
            "statuses",
            multiple=True,
            type=click.Choice(["member", "visitor"]),
            help="Customer status; repeat for several. Default: all statuses, "
            "visitors included (unlike the source platform's default).",
        ),
        click.option(
            "--from",
            "date_from",
            metavar="DATE",
            help="Abandoned on or after this day (configured time zone).",
        ),
        click.option("--to", "date_to", metavar="DATE", help="Abandoned on or before this day."),
        click.option("--min-amount", type=click.IntRange(min=0), help="Abandoned amount >= yen."),
        click.option("--max-amount", type=click.IntRange(min=0), help="Abandoned amount <= yen."),
        click.option(
            "--flow",
            type=click.Choice(["confirm", "input"]),
            help="Where they left: confirm (cart/confirmation) or input (LP form).",
        ),
        click.option(
            "--reminded", type=YES_NO, default="any", show_default=True, help="Received a reminder."
        ),
        click.option(
            "--recovered",
            type=YES_NO,
            default="any",
            show_default=True,
            help="Came back and bought after a reminder.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def build_filters(
    abandoned: str,
    statuses: tuple[str, ...],
    date_from: str | None,
    date_to: str | None,
    min_amount: int | None,
    max_amount: int | None,
    flow: str | None,
    reminded: str,
    recovered: str,
) -> Filters:
    first, last = parse_date(date_from, "--from"), parse_date(date_to, "--to")
    if first and last and first > last:
        raise click.BadParameter(f"--from {date_from} is after --to {date_to}", param_hint="--from")
    if min_amount is not None and max_amount is not None and min_amount > max_amount:
        raise click.BadParameter(
            f"--min-amount {min_amount} is above --max-amount {max_amount}",
            param_hint="--min-amount",
        )
    return Filters(
        abandoned=_tristate(abandoned),
        statuses=frozenset(statuses),
        date_from=first,
        date_to=last,
        min_amount=min_amount,
        max_amount=max_amount,
        flow=flow,
        reminded=_tristate(reminded),
        recovered=_tristate(recovered),
    )


@click.command()
@config_option
@filter_options
@click.option(
    "--orders",
    is_flag=True,
    help="List completed orders (with --from/--to as completion days, default the "
    "last 30 days) and their recovery column instead of customers.",
)
@click.option(
    "--columns",
    metavar="A,B,...",
    help="Columns to show, comma-separated. Customers: "
    + ", ".join(CUSTOMER_COLUMNS)
    + ". Orders: "
    + ", ".join(ORDER_COLUMNS)
    + ".",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="table on a terminal, csv when piped (default), json, jsonl.",
)
@click.option("--bom", is_flag=True, help="Start CSV with a UTF-8 BOM (Excel and Japanese text).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many rows.")
@click.option(
    "--sort",
    "sort_key",
    type=click.Choice(SORT_KEYS),
    help="Sort by this column (default: id order, streamed). Sorting without --limit "
    "holds the matching rows in memory.",
)
@click.option("--desc", is_flag=True, help="Sort descending.")
@handle_errors
def search(
    config_path: str,
    orders: bool,
    columns: str | None,
    fmt: str | None,
    bom: bool,
    limit: int | None,
    sort_key: str | None,
    desc: bool,
    **filters: Any,
) -> None:
    """Customers with abandoned orders, or (--orders) recovered orders.

    Abandoned state shows あり or blank, the abandoned date YYYY/MM/DD in the configured time
    zone, the abandoned amount is the total of the latest abandoned order.

    \b
    Examples:
      cartnudge search --from 2026-11-01 --to 2026-11-30 --min-amount 5000
      cartnudge search --status visitor --reminded no --format csv --bom > visitors.csv
      cartnudge search --orders --recovered yes --from 2026-11-01 --format json
    """
    f = build_filters(**filters)
    names = ORDER_COLUMNS if orders else CUSTOMER_COLUMNS
    chosen = (
        tuple(c.strip() for c in columns.split(","))
        if columns
        else (DEFAULT_ORDER_COLUMNS if orders else DEFAULT_CUSTOMER_COLUMNS)
    )
    unknown = [c for c in chosen if c not in names]
    if unknown:
        raise click.BadParameter(
            f"unknown column {unknown[0]!r}; choose from {', '.join(names)}", param_hint="--columns"
        )
    if sort_key and sort_key not in names:
        raise click.BadParameter(
            f"{sort_key!r} is not a column of this search", param_hint="--sort"
        )
    if fmt is None:
        fmt = "table" if sys.stdout.isatty() else "csv"
    app = load_app(config_path)
    try:
        if orders:
            today = (common.utcnow() + app.config.tz.utcoffset(common.utcnow())).date()
            rows = recovered_orders(
                app,
                date_from=f.date_from or today - timedelta(days=30),
                date_to=f.date_to or today,
                recovered=f.recovered,
                min_amount=f.min_amount,
                max_amount=f.max_amount,
            )
        else:
            rows = customers(app, f)
        if fmt == "table" and limit is None:
            # A table is drawn whole: bound it, and say so (files and pipes stream everything).
            limit = TABLE_LIMIT
            click.echo(
                f"cartnudge: showing at most {TABLE_LIMIT} rows as a table; use --limit, or "
                "--format csv|json|jsonl for everything",
                err=True,
            )
        if sort_key:
            rows = sort_rows(rows, sort_key, descending=desc, limit=limit)
        elif limit:
            rows = itertools.islice(rows, limit)
        write_rows(rows, chosen, fmt, headers=names if fmt == "table" else None, bom=bom)
    finally:
        app.dispose()
