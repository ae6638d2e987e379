"""Tokens and consent: ``token verify``, ``unsubscribe`` and the suppression list."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import click

from cartnudge.cli import common
from cartnudge.cli.common import config_option, handle_errors, load_app, parse_now
from cartnudge.cli.tabular import write_rows
from cartnudge.errors import CartnudgeError, ConfigError


@click.group()
def token() -> None:
    """Recovery and opt-out tokens (for the shop's own pages).

    \b
    Example:
      cartnudge token verify --config /etc/cartnudge.yaml eyJkIjo0Mi...Q.sig
    """


@token.command("verify")
@config_option
@click.argument("token_text", metavar="TOKEN")
@click.option("--now", "now_text", metavar="DATETIME", help="Check expiry as of this ISO time.")
@handle_errors
def token_verify(config_path: str, token_text: str, now_text: str | None) -> None:
    """Print a token as JSON (recovery: order, customer, flow, items to restore, expiry;
    opt-out: the address), or refuse it with exit code 7 if tampered, expired or malformed.

    \b
    Example:
      cartnudge token verify eyJkIjo0Mi...Q.sig
    """
    from cartnudge.recovery import resolve_token

    app = load_app(config_path)
    try:
        result = resolve_token(app, token_text, now=parse_now(now_text, app.config.tz))
    finally:
        app.dispose()
    click.echo(json.dumps(result, ensure_ascii=False, sort_keys=True))


@click.command()
@config_option
@click.argument("address", required=False)
@click.option("--token", "token_text", metavar="TOKEN", help="An opt-out link's token instead.")
@handle_errors
def unsubscribe(config_path: str, address: str | None, token_text: str | None) -> None:
    """Put an address on the suppression list: it receives nothing from any flow or mailing.

    \b
    Examples:
      cartnudge unsubscribe hanako@example.jp
      cartnudge unsubscribe --token eyJhIjoi...   # from the opt-out link
    """
    from cartnudge.core.rules import valid_email
    from cartnudge.recovery import resolve_token
    from cartnudge.recovery import unsubscribe as do_unsubscribe

    if bool(address) == bool(token_text):
        raise click.UsageError("give either ADDRESS or --token")
    app = load_app(config_path)
    now = common.utcnow()
    channel = "email"
    try:
        if token_text:
            resolved = resolve_token(app, token_text, now=now)
            if resolved["kind"] != "unsubscribe" or not resolved.get("address"):
                raise CartnudgeError("--token: not an opt-out token")
            address, channel = resolved["address"], resolved["channel"]
        elif not valid_email(address.strip()):
            raise click.BadParameter(f"{address!r} is not an e-mail address", param_hint="ADDRESS")
        new = do_unsubscribe(app, address, now=now, channel=channel)
    finally:
        app.dispose()
    click.echo(f"{'unsubscribed' if new else 'already unsubscribed'}: {address}")


@click.group()
def suppressions() -> None:
    """The suppression list (opt-outs, hard bounces): list, add, remove, import.

    \b
    Example:
      cartnudge suppressions list --format csv > suppressions.csv
    """


@suppressions.command("list")
@config_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@handle_errors
def suppressions_list(config_path: str, fmt: str) -> None:
    """Print the suppression list.

    \b
    Example:
      cartnudge suppressions list --format json
    """
    app = load_app(config_path)
    fields = ["channel", "address", "reason", "created_at", "detail"]
    try:
        rows = app.suppressions.iter_suppressions()
        if fmt == "csv":
            writer = csv.DictWriter(sys.stdout, fieldnames=fields, extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow(row)
        elif fmt == "json":
            # Streamed: the list can be long.
            as_text = ({k: None if r[k] is None else str(r[k]) for k in fields} for r in rows)
            write_rows(as_text, fields, "json")
        else:
            for row in rows:
                click.echo(
                    f"{row['channel']}\t{row['address']}\t{row['reason']}\t"
                    f"{row['created_at']:%Y-%m-%d %H:%M}"
                )
    finally:
        app.dispose()


@suppressions.command("add")
@config_option
@click.argument("address")
@click.option(
    "--reason",
    default="manual",
    show_default=True,
    type=click.Choice(["manual", "opt_out", "hard_bounce", "complaint"]),
)
@click.option(
    "--channel",
    default="email",
    show_default=True,
    type=click.Choice(["email", "line"]),
    help="line: ADDRESS is a LINE user id (one who blocked the account, say).",
)
@handle_errors
def suppressions_add(config_path: str, address: str, reason: str, channel: str) -> None:
    """Add an address.

    \b
    Examples:
      cartnudge suppressions add taro@example.jp --reason complaint
      cartnudge suppressions add --channel line U4af4980629...
    """
    from cartnudge.channels.line import valid_user_id
    from cartnudge.core.rules import normalise_address
    from cartnudge.recovery import unsubscribe as add_suppression

    if channel == "line" and not valid_user_id(normalise_address(address, channel)):
        raise click.BadParameter(f"{address!r} is not a LINE user id", param_hint="ADDRESS")
    app = load_app(config_path)
    try:
        new = add_suppression(app, address, now=common.utcnow(), source=reason, channel=channel)
    finally:
        app.dispose()
    click.echo(f"{'added' if new else 'already there'}: {address}")


@suppressions.command("remove")
@config_option
@click.argument("address")
@handle_errors
def suppressions_remove(config_path: str, address: str) -> None:
    """Remove an address (for a customer who opted in again).

    \b
    Example:
      cartnudge suppressions remove taro@example.jp
    """
    app = load_app(config_path)
    try:
        removed = app.suppressions.remove_suppression("email", address)
    finally:
        app.dispose()
    if not removed:
        raise CartnudgeError(f"{address} is not on the suppression list")
    click.echo(f"removed: {address}")


@suppressions.command("import")
@config_option
@click.argument("csv_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--reason", default="import", show_default=True, help="Reason for rows without a reason column."
)
@handle_errors
def suppressions_import(config_path: str, csv_path: Path, reason: str) -> None:
    """Import addresses from a CSV with an 'address' column (optional 'reason' column).

    Invalid rows are reported with their line number and skipped; valid ones are imported.

    \b
    Example:
      cartnudge suppressions import old-optouts.csv
    """
    from cartnudge.core.rules import valid_email
    from cartnudge.recovery import unsubscribe as add_suppression

    app = load_app(config_path)
    added = existing = bad = 0
    now = common.utcnow()
    try:
        with open(csv_path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or "address" not in reader.fieldnames:
                raise ConfigError(f"{csv_path}: needs a header row with an 'address' column")
            for row in reader:
                address = (row.get("address") or "").strip()
                if not valid_email(address):
                    bad += 1
                    click.echo(
                        f"{csv_path}:{reader.line_num}: not an e-mail address: "
                        f"{address!r} (skipped)",
                        err=True,
                    )
                    continue
                if add_suppression(app, address, now=now, source=row.get("reason") or reason):
                    added += 1
                else:
                    existing += 1
    finally:
        app.dispose()
    click.echo(f"imported {added}, already there {existing}, invalid {bad}")
