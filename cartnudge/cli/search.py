"""``cartnudge search`` and the filter options it shares with ``send-bulk``."""

from __future__ import annotations

import itertools
import sys
from datetime import timedelta
from typing import Any

import click

from cartnudge.cli import common
from cartnudge.cli.common import (
    build_filters,
    config_option,
    filter_options,
    handle_errors,
    load_app,
)
from cartnudge.cli.tabular import FORMATS, write_rows
from cartnudge.operator.search import (
    CUSTOMER_COLUMNS,
    DEFAULT_CUSTOMER_COLUMNS,
    DEFAULT_ORDER_COLUMNS,
    ORDER_COLUMNS,
    SORT_KEYS,
    customers,
    recovered_orders,
    sort_rows,
)

TABLE_LIMIT = 1000
# How a table shows a column: amounts right-aligned with thousands separators, ids right.
KINDS = {
    "abandoned_amount": "number",
    "amount": "number",
    "customer_id": "id",
    "order_id": "id",
    "abandoned_order_id": "id",
}
# The default customer columns that give way on a narrow terminal, the highest first: at 120
# columns the state (always あり by default), recovery and status go, at 80 also the last
# reminder and the e-mail address. Columns chosen with --columns are all shown (a vertical
# layout when they do not fit).
DEFAULT_DROPS = {"abandoned": 6, "recovered": 5, "status": 4, "last_reminder": 3, "email": 2}


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
@click.option("--limit", type=click.IntRange(1, 2**62), help="At most this many rows.")
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
        write_rows(
            rows,
            chosen,
            fmt,
            headers=names if fmt == "table" else None,
            bom=bom,
            kinds=KINDS,
            drops=None if columns else DEFAULT_DROPS,
            left_out="--columns chooses the columns",
        )
    finally:
        app.dispose()
