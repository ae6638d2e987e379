"""The coupon pool: ``coupons import CSV`` and ``coupons list``."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import click

from cartnudge.cli import common
from cartnudge.cli.common import config_option, handle_errors, load_app
from cartnudge.cli.tabular import write_rows
from cartnudge.errors import ConfigError

MAX_CODE = 64


@click.group()
def coupons() -> None:
    """The coupon pool that coupon steps take codes from (import, list).

    \b
    Example:
      cartnudge coupons import codes.csv
    """


@coupons.command("import")
@config_option
@click.argument("csv_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@handle_errors
def coupons_import(config_path: str, csv_path: Path) -> None:
    """Add codes from a CSV with 'code' and 'discount' columns (an optional 'valid_until',
    an ISO date-time in the configured time zone). A code already in the pool is left as it
    is; invalid rows are reported with their line number and skipped.

    \b
    Example:
      cartnudge coupons import codes.csv
    """
    app = load_app(config_path)
    tz = app.config.tz
    rows: list[tuple[str, str, datetime | None]] = []
    bad = 0
    try:
        with open(csv_path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            names = set(reader.fieldnames or ())
            if not {"code", "discount"} <= names:
                raise ConfigError(
                    f"{csv_path}: needs a header row with 'code' and 'discount' columns"
                )
            for row in reader:
                code = (row.get("code") or "").strip()
                discount = (row.get("discount") or "").strip()
                until_text = (row.get("valid_until") or "").strip()
                problem = None
                until = None
                if not code or len(code) > MAX_CODE or any(c.isspace() for c in code):
                    problem = f"code {code!r} is empty, too long or has spaces"
                elif not discount:
                    problem = "discount is empty"
                elif until_text:
                    try:
                        moment = datetime.fromisoformat(until_text)
                    except ValueError:
                        problem = f"valid_until {until_text!r} is not an ISO date-time"
                    else:
                        if moment.tzinfo is None:
                            moment = moment.replace(tzinfo=tz)
                        until = moment.astimezone(UTC).replace(tzinfo=None)
                if problem:
                    bad += 1
                    click.echo(f"{csv_path}:{reader.line_num}: {problem} (skipped)", err=True)
                    continue
                rows.append((code, discount[:64], until))
        added, existing = app.coupons.import_codes(rows, common.utcnow())
        left = app.coupons.available(common.utcnow())
    finally:
        app.dispose()
    click.echo(f"imported {added}, already there {existing}, invalid {bad}; {left} free")


@coupons.command("list")
@config_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@handle_errors
def coupons_list(config_path: str, fmt: str) -> None:
    """Print the pool: each code, its discount, and whether it is free, given or redeemed.

    \b
    Example:
      cartnudge coupons list --format csv > coupons.csv
    """
    fields = ["code", "discount", "state", "valid_until", "delivery_id", "expires_at"]
    app = load_app(config_path)
    try:
        rows = []
        for r in app.coupons.iter_coupons():
            state = (
                "redeemed"
                if r["redeemed_order_id"]
                else "given"
                if r["delivery_id"] is not None
                else "free"
            )
            rows.append(
                {
                    "code": r["code"],
                    "discount": r["discount"],
                    "state": state,
                    "valid_until": _iso(r["valid_until"]),
                    "delivery_id": "" if r["delivery_id"] is None else str(r["delivery_id"]),
                    "expires_at": _iso(r["expires_at"]),
                }
            )
    finally:
        app.dispose()
    if fmt == "table":
        for row in rows:
            click.echo("\t".join(row[f] for f in fields))
    else:
        write_rows(iter(rows), fields, fmt)


def _iso(value: datetime | None) -> str:
    return "" if value is None else value.replace(tzinfo=UTC).isoformat()
