"""Operator commands beyond the sweep: templates, tokens, unsubscribe and the suppression list.

Registered on the ``cartnudge`` group by cli.py; the same rules apply: parse, wire, map errors.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import click

from cartnudge.cli import _load_app, _utcnow, config_option, handle_errors, parse_now, token
from cartnudge.errors import CartnudgeError, ConfigError
from cartnudge.tabular import write_rows


@click.group()
def templates() -> None:
    """The template catalogue: list and preview.

    \b
    Example:
      cartnudge templates list
    """


@templates.command("list")
@config_option
@handle_errors
def templates_list(config_path: str) -> None:
    """List the templates with their id, category and name.

    \b
    Example:
      cartnudge templates list --config /etc/cartnudge.yaml
    """
    app = _load_app(config_path)
    for info in sorted(app.catalogue.templates.values(), key=lambda i: i.id):
        sms = " +sms" if info.has_sms else ""
        click.echo(f"{info.id}\t{info.category}\t{info.name}{sms}")


@templates.command("preview")
@config_option
@click.argument("template_id", type=int)
@click.option(
    "--order", "order_id", type=int, help="Render for this shop order (default: a sample)."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "html", "eml", "sms"]),
    default="text",
    show_default=True,
    help="Which part to print; eml prints the whole message.",
)
@handle_errors
def templates_preview(config_path: str, template_id: int, order_id: int | None, fmt: str) -> None:
    """Render a template, with sample data or a real order's, without sending anything.

    \b
    Examples:
      cartnudge templates preview 140001
      cartnudge templates preview 140001 --order 1234 --format eml > preview.eml
    """
    from cartnudge.compose import email_envelope, render_order
    from cartnudge.shopdb import AbandonedOrder
    from cartnudge.templates import sample_context

    app = _load_app(config_path)
    now = _utcnow()
    try:
        if order_id is None:
            if fmt == "eml":
                raise click.BadParameter("--format eml needs --order", param_hint="--format")
            rendered = app.catalogue.render(template_id, sample_context())
        else:
            order = app.reader.order(order_id)
            if order is None:
                raise CartnudgeError(
                    f"order {order_id} not found by {app.contract.path('abandoned_order')}"
                )
            if not isinstance(order, AbandonedOrder):
                raise CartnudgeError(order.message)
            items = app.reader.order_items([order_id]).get(str(order_id), [])
            rendered, links = render_order(
                app.config,
                app.catalogue,
                template_id,
                order,
                items,
                delivery_id=0,
                now=now,
            )
            if fmt == "eml":
                envelope = email_envelope(
                    app.config, order, rendered, links, delivery_id=0, now=now
                )
                sys.stdout.buffer.write(envelope.data)
                return
    finally:
        app.dispose()
    if fmt == "sms" and rendered.sms is None:
        raise click.BadParameter(f"template {template_id} has no SMS body", param_hint="--format")
    part = {"text": rendered.text, "html": rendered.html, "sms": rendered.sms}[fmt]
    if fmt == "text":
        click.echo(f"Subject: {rendered.subject}\n")
    click.echo(part, nl=not part.endswith("\n"))


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

    app = _load_app(config_path)
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
    from cartnudge.recovery import resolve_token
    from cartnudge.recovery import unsubscribe as do_unsubscribe
    from cartnudge.rules import valid_email

    if bool(address) == bool(token_text):
        raise click.UsageError("give either ADDRESS or --token")
    app = _load_app(config_path)
    now = _utcnow()
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
    app = _load_app(config_path)
    fields = ["channel", "address", "reason", "created_at", "detail"]
    try:
        rows = app.store.iter_suppressions()
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
@handle_errors
def suppressions_add(config_path: str, address: str, reason: str) -> None:
    """Add an address.

    \b
    Example:
      cartnudge suppressions add taro@example.jp --reason complaint
    """
    from cartnudge.recovery import unsubscribe as add_suppression

    app = _load_app(config_path)
    try:
        new = add_suppression(app, address, now=_utcnow(), source=reason)
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
    app = _load_app(config_path)
    try:
        removed = app.store.remove_suppression("email", address)
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
    from cartnudge.recovery import unsubscribe as add_suppression
    from cartnudge.rules import valid_email

    app = _load_app(config_path)
    added = existing = bad = 0
    now = _utcnow()
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
