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
from cartnudge.errors import CartnudgeError, ConfigError, TokenError
from cartnudge.logs import mask_pii


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
@click.option(
    "--kind",
    type=click.Choice(["recovery", "unsubscribe"]),
    default="recovery",
    show_default=True,
    help="The kind of token expected: a token of the other kind is refused (exit 7).",
)
@click.option(
    "--no-record",
    is_flag=True,
    help="Do not count this as a click on the reminder (for the shop's own checks).",
)
@handle_errors
def token_verify(
    config_path: str, token_text: str, now_text: str | None, kind: str, no_record: bool
) -> None:
    """Print a token as JSON (recovery: order, customer, flow, items to restore, expiry;
    opt-out with --kind unsubscribe: the address), or refuse it with exit code 7 if tampered,
    expired, malformed or of the other kind. A recovery token counts as a click on its
    reminder unless --no-record is given.

    
    Examples:
      cartnudge token verify eyJkIjo0Mi...Q.sig               # the restore page: a click
      cartnudge token verify --no-record eyJkIjo0Mi...Q.sig   # a check: no click
      cartnudge token verify --kind unsubscribe eyJkIjo0Mi...Q.sig
    """
    from cartnudge.recovery import resolve_token

    app = load_app(config_path)
    try:
        result = resolve_token(
            app,
            token_text,
            now=parse_now(now_text, app.config.tz),
            kind=kind,
            record_click=not no_record,
        )
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
    from cartnudge.recovery import resolve_optout_token
    from cartnudge.recovery import unsubscribe as do_unsubscribe

    if bool(address) == bool(token_text):
        raise click.UsageError("give either ADDRESS or --token")
    app = load_app(config_path)
    now = common.utcnow()
    channel = "email"
    try:
        if token_text:
            resolved = resolve_optout_token(app, token_text, now=now)
            if not resolved.get("address"):
                raise TokenError("--token: the opt-out token names a delivery without an address")
            address, channel = resolved["address"], resolved["channel"]
        elif not valid_email(address.strip()):
            raise click.BadParameter(f"{address!r} is not an e-mail address", param_hint="ADDRESS")
        new = do_unsubscribe(app, address, now=now, channel=channel)
    finally:
        app.dispose()
    shown = mask_pii(address) if channel in ("email", "sms") else shown_address(address, channel)
    click.echo(f"{'unsubscribed' if new else 'already unsubscribed'}: {shown}")


@click.group()
def suppressions() -> None:
    """The suppression list (opt-outs, hard bounces): list, add, remove, import.

    \b
    Example:
      cartnudge suppressions list --format csv > suppressions.csv
    """


CHANNELS = ["email", "sms", "push", "line"]


def channel_option(help_text: str, *, default: str | None = "email") -> click.Option:
    """``--channel``: which channel's list an address belongs to, spelt the same everywhere."""
    return click.option(
        "--channel",
        type=click.Choice(CHANNELS),
        default=default,
        show_default=default is not None,
        help=help_text,
    )


ADDRESS_HELP = (
    "What ADDRESS is: an e-mail address, a phone number (kept as E.164, +819012345678), a "
    "push token or a LINE user id (kept as they are)."
)


@suppressions.command("list")
@config_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "tsv", "csv", "json"]),
    default=None,
    help="table on a terminal, tsv (tab-separated lines) when piped (default): both mask phone "
    "numbers, push tokens and LINE user ids; csv and json are the whole list (an export).",
)
@channel_option("Only this channel's addresses (default: every channel).", default=None)
@handle_errors
def suppressions_list(config_path: str, fmt: str, channel: str | None) -> None:
    """Print the suppression list.

    \b
    Examples:
      cartnudge suppressions list --format json
      cartnudge suppressions list --channel sms
    """
    app = load_app(config_path)
    fields = ["channel", "address", "reason", "created_at", "detail"]
    if fmt is None:
        fmt = "table" if sys.stdout.isatty() else "tsv"
    try:
        rows = app.suppressions.iter_suppressions(channel)
        if fmt == "csv":
            writer = csv.DictWriter(sys.stdout, fieldnames=fields, extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow(row)
        elif fmt == "json":
            # Streamed: the list can be long.
            as_text = ({k: None if r[k] is None else str(r[k]) for k in fields} for r in rows)
            write_rows(as_text, fields, "json")
        elif fmt == "table":
            shown = (
                {
                    **r,
                    "address": shown_address(r["address"], r["channel"]),
                    "created_at": f"{r['created_at']:%Y-%m-%d %H:%M}",
                }
                for r in rows
            )
            write_rows(shown, fields[:4], "table", drops={"channel": 1})
        else:
            for row in rows:
                click.echo(
                    f"{row['channel']}\t{shown_address(row['address'], row['channel'])}\t"
                    f"{row['reason']}\t{row['created_at']:%Y-%m-%d %H:%M}"
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
@channel_option(ADDRESS_HELP)
@handle_errors
def suppressions_add(config_path: str, address: str, reason: str, channel: str) -> None:
    """Add an address of a channel (a value that is not one is refused, exit 2).

    \b
    Examples:
      cartnudge suppressions add taro@example.jp --reason complaint
      cartnudge suppressions add --channel sms 090-1234-5678
      cartnudge suppressions add --channel push fcmToken:APA91bH-example
      cartnudge suppressions add --channel line U4af4980629d0e1f2a3b4c5d6e7f8a9b0
    """
    from cartnudge.recovery import unsubscribe as add_suppression

    app = load_app(config_path)
    try:
        kept = _channel_address_or_refuse(address, channel, app.config.settings.phone_region)
        new = add_suppression(app, kept, now=common.utcnow(), source=reason, channel=channel)
    finally:
        app.dispose()
    shown = address if channel == "email" else shown_address(kept, channel)
    click.echo(f"{'added' if new else 'already there'}: {shown}")


@suppressions.command("remove")
@config_option
@click.argument("address")
@channel_option(ADDRESS_HELP)
@handle_errors
def suppressions_remove(config_path: str, address: str, channel: str) -> None:
    """Remove an address (for a customer who opted in again).

    \b
    Examples:
      cartnudge suppressions remove taro@example.jp
      cartnudge suppressions remove --channel sms 090-1234-5678
    """
    app = load_app(config_path)
    try:
        kept = _channel_address_or_refuse(address, channel, app.config.settings.phone_region)
        removed = app.suppressions.remove_suppression(channel, kept)
    finally:
        app.dispose()
    shown = address if channel == "email" else shown_address(kept, channel)
    if not removed:
        raise CartnudgeError(f"{shown} is not on the suppression list")
    click.echo(f"removed: {shown}")


def _channel_address_or_refuse(address: str, channel: str, region: str) -> str:
    """``address`` as ``channel``'s suppression list keeps it; a usage error (exit 2), the
    value masked, when it is not an address of that channel."""
    kept, problem = channel_address(address.strip(), channel, region)
    if kept is None:
        raise click.BadParameter(f"{mask_pii(repr(address))}: {problem}", param_hint="ADDRESS")
    return kept


def shown_address(address: str, channel: str) -> str:
    """An address as printed for people: e-mail as it is, a phone number as its last four
    digits (``***5678``), a push token or LINE user id as its first six characters."""
    from cartnudge.core.phones import mask_phone

    if channel == "email":
        return address
    if channel == "sms":
        return mask_phone(address)
    return address[:6] + "…" if len(address) > 12 else "***"


@suppressions.command("import")
@config_option
@click.argument("csv_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--reason", default="import", show_default=True, help="Reason for rows without a reason column."
)
@click.option(
    "--channel",
    type=click.Choice(["email", "sms", "push", "line"]),
    default="email",
    show_default=True,
    help="What the addresses are: e-mail addresses, phone numbers (kept as E.164), push "
    "tokens or LINE user ids (kept as they are).",
)
@click.option(
    "--encoding",
    type=click.Choice(["auto", "utf-8", "utf-8-sig", "utf-16", "cp932", "shift_jis"]),
    default="auto",
    show_default=True,
    help="The file's encoding; auto tells UTF-8 (with or without BOM), UTF-16 and "
    "Shift_JIS/CP932 (Excel's CSV in Japan) apart.",
)
@handle_errors
def suppressions_import(
    config_path: str, csv_path: Path, reason: str, channel: str, encoding: str
) -> None:
    """Import addresses from a CSV with an 'address' column (optional 'reason' column).

    Invalid rows are reported, masked, with their line number and skipped; valid ones are
    imported.

    \b
    Example:
      cartnudge suppressions import old-optouts.csv
      cartnudge suppressions import --channel sms --encoding cp932 phones.csv
    """
    import io

    from cartnudge.core.rules import normalise_address
    from cartnudge.logs import mask_pii
    from cartnudge.operator.csvfiles import decode_csv
    from cartnudge.recovery import unsubscribe as add_suppression

    try:
        text, _used = decode_csv(csv_path.read_bytes(), encoding)
    except ValueError as exc:
        raise ConfigError(f"{csv_path}: {exc}") from None
    app = load_app(config_path)
    region = app.config.settings.phone_region
    added = existing = bad = 0
    now = common.utcnow()
    try:
        first = text.split("\n", 1)[0]
        # Excel's "Unicode text" is tab-separated; its CSV is comma-separated.
        delimiter = "\t" if "\t" in first and "," not in first else ","
        reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
        if not reader.fieldnames or "address" not in [f.strip() for f in reader.fieldnames]:
            raise ConfigError(f"{csv_path}: needs a header row with an 'address' column")
        reader.fieldnames = [f.strip() for f in reader.fieldnames]
        for row in reader:
            raw = (row.get("address") or "").strip()
            address, problem = channel_address(raw, channel, region)
            if address is None:
                bad += 1
                click.echo(
                    f"{csv_path}:{reader.line_num}: {problem}: {mask_pii(repr(raw))} (skipped)",
                    err=True,
                )
                continue
            address = normalise_address(address, channel)
            source = (row.get("reason") or "").strip() or reason
            if add_suppression(app, address, now=now, source=source, channel=channel):
                added += 1
            else:
                existing += 1
    finally:
        app.dispose()
    click.echo(f"imported {added}, already there {existing}, invalid {bad}")


def channel_address(raw: str, channel: str, region: str) -> tuple[str | None, str]:
    """``raw`` as kept on ``channel``'s suppression list (e-mail as given, a phone number as
    E.164, a push token or LINE user id as it is), or None and what is wrong with it."""
    from cartnudge.core.phones import normalise_phone
    from cartnudge.core.rules import valid_email

    if channel == "email":
        return (raw, "") if valid_email(raw) else (None, "not an e-mail address")
    if channel == "sms":
        e164 = normalise_phone(raw, region)
        return (e164, "") if e164 else (None, "not a phone number")
    if channel == "line":
        from cartnudge.channels.line import valid_user_id

        return (raw, "") if valid_user_id(raw) else (None, "not a LINE user id")
    # FCM registration tokens, APNs device tokens (hex) and web push ids: printable ASCII
    # without spaces, with letters; not an e-mail address nor a phone number.
    ok = (
        8 <= len(raw) <= 4096
        and raw.isascii()
        and raw.isprintable()
        and not any(c.isspace() for c in raw)
        and "@" not in raw
        and any(c.isalpha() for c in raw)
    )
    return (raw, "") if ok else (None, "not a push token")
