"""Setting up: ``init-db``, ``check`` and ``demo``."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from cartnudge.cli import common
from cartnudge.cli.common import config_option, handle_errors, load_app


@click.command("init-db")
@config_option
@handle_errors
def init_db(config_path: str) -> None:
    """Create or upgrade cartnudge's own tables (cartnudge_*) in the state database.

    \b
    Example:
      cartnudge --config /etc/cartnudge.yaml init-db
    """
    from cartnudge.engines import redact
    from cartnudge.state.store import migrate

    app = load_app(config_path)
    try:
        revision = migrate(app.state_engine)
    finally:
        app.dispose()
    click.echo(f"cartnudge tables at revision {revision} in {redact(app.config.state_url)}")


@click.command()
@config_option
@click.option(
    "--offline", is_flag=True, help="Do not open the enabled channels (SMTP, SMS, push, LINE)."
)
@handle_errors
def check(config_path: str, offline: bool) -> None:
    """Check the configuration, the templates, both databases, the shop contract and the
    channels.

    Prints one line per check; exits non-zero on the first kind of problem found (every
    error of the configuration file is listed, one line each, exit 3). Each enabled channel
    is opened as a sweep would (SMTP: connect, EHLO, STARTTLS, AUTH, QUIT; SMS, push and
    LINE: credentials obtainable, endpoint reachable), nothing sent, one line "ok" or "FAIL"
    each; a channel that fails makes check exit 5. --offline skips the channels.

    Each contract query's plan is read (EXPLAIN): a "warn" line names every table a query
    reads whole and the index that would help. Warnings do not change the exit code.

    \b
    Example:
      cartnudge check --config /etc/cartnudge.yaml
    """
    from sqlalchemy.exc import SQLAlchemyError

    from cartnudge.engines import redact
    from cartnudge.errors import ContractError, DatabaseError

    app = load_app(config_path)
    try:
        click.echo(f"ok   configuration {app.config.source}")
        click.echo(f"ok   {len(app.catalogue.templates)} templates in {app.catalogue.directory}")
        try:
            with app.shop_engine.connect():
                pass
        except SQLAlchemyError as exc:
            raise DatabaseError(
                f"shop database {redact(app.config.shop_url)}: "
                f"{str(getattr(exc, 'orig', exc)).splitlines()[0]}"
            ) from None
        click.echo(f"ok   shop database {redact(app.config.shop_url)}")
        problems = app.reader.check(common.utcnow())
        if problems:
            raise ContractError("; ".join(problems))
        click.echo(f"ok   shop contract in {app.contract.sql_dir}")
        for name, provided in app.reader.optional_columns().items():
            shown = ", ".join(provided) if provided else "none (defaults apply)"
            click.echo(f"ok   {name}.sql optional columns: {shown}")
        if app.contract.has("product_status"):
            click.echo("ok   product_status.sql: prices and stock for trigger steps")
        else:
            click.echo("--   product_status.sql absent: no trigger steps, no stock check")
        if app.config.settings.coupons.source == "pattern":  # App refused it if absent
            app.shop_writer.try_insert(common.utcnow())  # rolled back; DatabaseError: exit 4
            click.echo("ok   coupon_insert.sql: generated codes are written to the shop")
        from cartnudge.shop.explain import plan_warnings

        warnings = plan_warnings(app.reader, common.utcnow())
        for line in warnings:
            click.echo(f"warn {line}")
        if not warnings:
            click.echo("ok   query plans: no contract query reads a whole table")
        app.deliveries.ensure_ready()
        click.echo(f"ok   state database {redact(app.config.state_url)}")
        _check_buckets(app, common.utcnow())
        _check_key_rotation(app, common.utcnow())
        click.echo("ok   every key that signed a live opt-out link still verifies it")
        if offline:
            click.echo("--   channels not opened (--offline)")
        else:
            from cartnudge.errors import ChannelError
            from cartnudge.operator.probe import enabled_channels, probe

            failed: list[ChannelError] = []
            for kind in enabled_channels(app):
                try:
                    click.echo(f"ok   {probe(app, kind)}")
                except ChannelError as exc:
                    click.echo(f"FAIL {exc}")
                    failed.append(exc)
            if failed:
                raise ChannelError(failed[0].message, more=[e.message for e in failed[1:]])
    finally:
        app.dispose()


def _check_buckets(app: Any, now: datetime) -> None:
    """With ``sweep.buckets`` (several sweepers, README "Several sweepers"): a warning when a
    bucket was not swept in this round or the last (no sweeper took it: every host down, or
    one stuck holding it), else one "ok" line. Warnings do not change the exit code."""
    from cartnudge.core.buckets import stale_buckets

    n = app.config.settings.sweep.buckets
    if not n:
        return
    interval = app.config.sweep_interval
    rows = {r.bucket: r.swept_for for r in app.buckets.rows(n) if r.bucket >= 0}
    if not rows:
        click.echo(f"--   sweep.buckets {n}: no sweep has taken a bucket yet")
        return
    stale = stale_buckets(n, rows, now, interval)
    if stale:
        swept = [rows[b] for b in stale if rows.get(b) is not None]
        since = f"since {min(swept).isoformat(timespec='minutes')} UTC" if swept else "ever"
        click.echo(
            f"warn sweep.buckets {n}: {len(stale)} bucket(s) not swept {since} "
            f"({', '.join(map(str, stale[:10]))}{', ...' if len(stale) > 10 else ''}): is every "
            "sweeper down, or one stuck?"
        )
    else:
        click.echo(f"ok   sweep.buckets {n}: every bucket swept in this round or the last")


def _check_key_rotation(app: Any, now: datetime) -> None:
    """Refuse (ConfigError, exit 3) when a key that signed opt-out links still within their
    lifetime is in neither ``recovery.keys_env`` nor ``recovery.retired_keys_env``: every such
    link would be refused, and the law requires the opt-out to keep working (README, "Key
    rotation"). Runs record the fingerprint of the key they signed with."""
    from cartnudge.core.durations import format_duration
    from cartnudge.errors import ConfigError
    from cartnudge.messages.tokens import UNSUBSCRIBE_TTL, key_fingerprint

    config = app.config
    known = {key_fingerprint(k) for k in (*config.token_keys, *config.retired_token_keys)}
    for fingerprint, last in sorted(app.runs.signing_keys_since(now - UNSUBSCRIBE_TTL).items()):
        if fingerprint in known:
            continue
        until = (last + UNSUBSCRIBE_TTL).date().isoformat()
        raise ConfigError(
            f"{config.source}: recovery: the key with fingerprint {fingerprint} signed opt-out "
            f"links until {last.date().isoformat()}, which stay valid until {until} "
            f"({format_duration(UNSUBSCRIBE_TTL)}), but it is in neither "
            f"{config.settings.recovery.keys_env} nor recovery.retired_keys_env: put it in "
            "the retired keys (README, 'Key rotation')"
        )


def invoked_as() -> str:
    """How to run cartnudge again from this shell: ``cartnudge`` when that is on PATH and is this
    program, else the path it was started by (``.venv/bin/cartnudge`` under ``make demo``)."""
    import shutil

    started = Path(sys.argv[0])
    on_path = shutil.which("cartnudge")
    if on_path and started.name == "cartnudge" and Path(on_path).resolve() == started.resolve():
        return "cartnudge"
    if started.name == "cartnudge":
        return str(_relative(started))
    return f"{sys.executable} -m cartnudge"


def _relative(path: Path) -> Path:
    """``path`` relative to the current directory when inside it, else absolute."""
    absolute = path.resolve()
    try:
        return absolute.relative_to(Path.cwd())
    except ValueError:
        return absolute


@click.command()
@click.option(
    "--dir",
    "directory",
    default="demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where the demo writes everything.",
)
@click.option(
    "--customers",
    default=3000,
    show_default=True,
    type=click.IntRange(10, 1_000_000),
    help="How many customers the demo shop has.",
)
@click.option("--seed", default=42, show_default=True, help="Seed for the demo data.")
@click.option(
    "--smtp",
    "smtp",
    metavar="HOST:PORT",
    help="Send through this SMTP server instead of the file outbox.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace an earlier demo's shop.db, config.yaml and outbox messages in --dir.",
)
@click.option(
    "--days",
    default=3,
    show_default=True,
    type=click.IntRange(0, 7),
    help="How many days of hourly sweeps to play (0: one sweep).",
)
@handle_errors
def demo(
    directory: str, customers: int, seed: int, smtp: str | None, force: bool, days: int
) -> None:
    """Build a demo shop under ./demo and play several days of it: hourly sweeps into the file
    outbox, shoppers who open the recovery link and buy through it (and some who buy without
    it), then the report of what the reminders earned (demo/report.html).

    An existing demo in --dir is replaced only with --force (exit 9 otherwise).

    \b
    Example:
      cartnudge demo --dir demo --customers 3000 --seed 42
      cartnudge demo --dir demo --force --days 2
    """
    from cartnudge.app import App
    from cartnudge.cli.tabular import Col, console_for, print_table
    from cartnudge.config import load_config
    from cartnudge.demo.build import build_demo
    from cartnudge.demo.simulate import simulate
    from cartnudge.engines import build_engine
    from cartnudge.operator.report import Period, collect, yen
    from cartnudge.operator.report_html import render_html

    smtp_host, smtp_port = None, 25
    if smtp:
        host, _, port = smtp.rpartition(":")
        if (
            not re.fullmatch(r"[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\]", host)
            or not port.isdigit()
            or not 0 < int(port) <= 65535
        ):
            raise click.BadParameter(
                f"{smtp!r} is not HOST:PORT (a host name or address, a port 1 to 65535)",
                param_hint="--smtp",
            )
        smtp_host, smtp_port = host, int(port)
    end = common.utcnow().replace(minute=5, second=0, microsecond=0)
    start = end - timedelta(days=days)
    target = Path(directory).resolve()
    config_path, seeded = build_demo(
        target,
        now=end,
        customers=customers,
        seed=seed,
        smtp_host=smtp_host,
        smtp_port=smtp_port,
        force=force,
    )
    click.echo(
        f"demo shop: {seeded.customers} customers, {seeded.orders} orders "
        f"({seeded.abandoned_orders} abandoned) in {_relative(target / 'shop.db')}"
    )
    app = App(load_config(config_path))
    tz = app.config.tz
    local = lambda moment: moment.replace(tzinfo=UTC).astimezone(tz)  # noqa: E731
    click.echo(
        f"playing {days} days, a sweep every hour: {local(start):%Y-%m-%d %H:%M} to "
        f"{local(end):%Y-%m-%d %H:%M} {local(end):%Z}"
    )
    shop = build_engine(app.config.shop_url, writer=True)
    try:
        story = simulate(app, app.email_channel(), shop, start=start, end=end, seed=seed, tz=tz)
        first, last = local(start).date() - timedelta(days=2), local(end).date()
        full = collect(app, Period(first, last, tz, "day"))
        names = {i: info.name for i, info in app.catalogue.templates.items()}
    finally:
        shop.dispose()
        app.dispose()
    click.echo("what the reminders did, by local day:")
    cols = [Col("day"), *(Col(c, "number") for c in ("sweeps", "sent", "links opened"))]
    rows: list[tuple[object, ...]] = [
        (day, d.sweeps, d.sent, d.opened, d.recovered, yen(d.revenue))
        for day, d in sorted(story.days.items())
    ]
    t = story.totals
    rows.append(("total", t.sweeps, t.sent, t.opened, t.recovered, yen(t.revenue)))
    cols += [Col("recovered", "number"), Col("revenue", "number")]
    print_table(console_for(pipe_width=80), cols, rows, sections=[len(rows) - 1])
    html_path = target / "report.html"
    write_html_report(
        html_path,
        render_html(full, shop_name=app.config.settings.sender.name, template_names=names),
    )
    where = (
        f"SMTP {smtp_host}:{smtp_port}"
        if smtp_host
        else f"{_relative(app.config.outbox_dir)}/ (one .eml file per message)"
    )
    exe = invoked_as()
    shown = _relative(config_path)
    click.echo(f"report:   {_relative(html_path)} (open it in a browser)")
    click.echo(f"messages: {where}")
    click.echo(f"config:   {shown}")
    click.echo(f"next:     {exe} report --config {shown} --from {first} --to {last} --by day")
    click.echo(f"          {exe} sweep --config {shown} --dry-run")


def write_html_report(path: Path, page: str) -> None:
    """Write the demo's report page (atomically, never through a symlink)."""
    from cartnudge.files import write_file

    write_file(path, page, what="demo report")


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False))
@handle_errors
def init(directory: str) -> None:
    """Copy the shop contract (sql/), the templates, a commented configuration and the
    cron/systemd examples into DIRECTORY for a shop to edit.

    The configuration (config.yaml) points shop.sql_dir and templates_dir at the copies.
    Nothing is overwritten: an existing file is refused (exit 1).

    \b
    Example:
      cartnudge init /etc/cartnudge
    """
    import shutil

    from cartnudge import bundled
    from cartnudge.errors import EXIT_DELIVERY_PROBLEMS

    target = Path(directory)
    plan = {
        "sql": "sql",
        "templates": "templates",
        "config.example.yaml": "config.yaml",
        "crontab.example": "crontab.example",
        "systemd": "systemd",
    }
    existing = [str(target / dest) for dest in plan.values() if (target / dest).exists()]
    if existing:
        click.echo(
            f"cartnudge: error: {', '.join(existing)}: already there; nothing was copied",
            err=True,
        )
        sys.exit(EXIT_DELIVERY_PROBLEMS)
    target.mkdir(parents=True, exist_ok=True)
    for name, dest in plan.items():
        source = bundled.bundled_path(name)
        if source.is_dir():
            shutil.copytree(source, target / dest, ignore=shutil.ignore_patterns("__pycache__"))
        elif name == "config.example.yaml":
            text = source.read_text(encoding="utf-8")
            text = text.replace("# templates_dir: templates", "templates_dir: templates", 1)
            text = text.replace("  # sql_dir: sql", "  sql_dir: sql", 1)
            (target / dest).write_text(text, encoding="utf-8")
        else:
            shutil.copyfile(source, target / dest)
    click.echo(f"wrote {target}: config.yaml, sql/, templates/, crontab.example, systemd/")
    config = target / "config.yaml"
    click.echo(f"next: edit {config}, then: cartnudge check --config {config}")
