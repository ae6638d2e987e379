"""The ``cartnudge`` command line: parse, wire, map exceptions to exit codes; nothing else.

Results go to stdout (a table, or JSON with ``--json``), logs to stderr, and every error is one
line naming what was wrong, with the exit code documented in cartnudge.errors and the README.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from cartnudge.errors import EXIT_OK, CartnudgeError
from cartnudge.logs import mask_pii, setup_logging

F = TypeVar("F", bound=Callable[..., Any])


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def parse_now(value: str | None, tz: Any) -> datetime:
    """``--now`` as naive UTC. A time without an offset is read in the configured time zone."""
    if value is None:
        return _utcnow()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO date-time (e.g. 2026-11-22T09:00 or 2026-11-22T00:00Z)",
            param_hint="--now",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC).replace(tzinfo=None)


def handle_errors(fn: F) -> F:
    """Turn cartnudge's errors into one line on stderr and their exit code."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CartnudgeError as exc:
            click.echo(f"cartnudge: error: {mask_pii(str(exc))}", err=True)
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


def _load_app(config_path: str) -> Any:
    from cartnudge.app import App
    from cartnudge.config import load_config

    return App(load_config(config_path))


config_option = click.option(
    "--config",
    "config_path",
    envvar="CARTNUDGE_CONFIG",
    default="cartnudge.yaml",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="Configuration file (or set CARTNUDGE_CONFIG).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-v info, -vv debug).")
@click.version_option(package_name="cartnudge")
def main(verbose: int) -> None:
    """Abandoned-cart reminders for your shop, run from cron.

    \b
    Example:
      cartnudge --config /etc/cartnudge.yaml sweep --quiet
    """
    setup_logging(verbose)


@main.command()
@config_option
@click.option("--dry-run", is_flag=True, help="Decide and render, but write and send nothing.")
@click.option(
    "--now",
    "now_text",
    metavar="DATETIME",
    help="Replay the sweep as of this ISO time (default: the clock).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="Print nothing when all went well (for cron, which mails any output).",
)
@handle_errors
def sweep(
    config_path: str, dry_run: bool, now_text: str | None, as_json: bool, quiet: bool
) -> None:
    """Find due reminders, apply the rules, render, send, record and summarise.

    Safe to run late, twice, or in parallel: every delivery is claimed before it is sent.

    \b
    Examples:
      cartnudge sweep                      # the hourly cron job
      cartnudge sweep --dry-run            # what would go out now
      cartnudge sweep --now 2026-11-22T09:00 --json
    """
    from cartnudge.output import print_summary, progress_reporter
    from cartnudge.sweep import Sweep

    app = _load_app(config_path)
    now = parse_now(now_text, app.config.tz)
    try:
        with progress_reporter(enabled=not (quiet or as_json)) as on_progress:
            summary = Sweep(
                app, app.email_channel(), now=now, dry_run=dry_run, on_progress=on_progress
            ).run()
    finally:
        app.dispose()
    if as_json:
        click.echo(json.dumps(summary.to_dict(), ensure_ascii=False))
    elif not (quiet and summary.exit_code == EXIT_OK):
        print_summary(summary, app.config.tz)
    sys.exit(summary.exit_code)


@main.command("init-db")
@config_option
@handle_errors
def init_db(config_path: str) -> None:
    """Create or upgrade cartnudge's own tables (cartnudge_*) in the state database.

    \b
    Example:
      cartnudge --config /etc/cartnudge.yaml init-db
    """
    from cartnudge.engines import redact
    from cartnudge.state import migrate

    app = _load_app(config_path)
    try:
        revision = migrate(app.state_engine)
    finally:
        app.dispose()
    click.echo(f"cartnudge tables at revision {revision} in {redact(app.config.state_url)}")


@main.command()
@config_option
@handle_errors
def check(config_path: str) -> None:
    """Check the configuration, the templates, both databases and the shop contract.

    Prints one line per check; exits non-zero on the first kind of problem found.

    \b
    Example:
      cartnudge check --config /etc/cartnudge.yaml
    """
    from sqlalchemy.exc import SQLAlchemyError

    from cartnudge.engines import redact
    from cartnudge.errors import ContractError, DatabaseError

    app = _load_app(config_path)
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
        problems = app.reader.check(_utcnow())
        if problems:
            raise ContractError("; ".join(problems))
        click.echo(f"ok   shop contract in {app.contract.sql_dir}")
        app.store.ensure_ready()
        click.echo(f"ok   state database {redact(app.config.state_url)}")
    finally:
        app.dispose()


@main.command()
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
@handle_errors
def demo(directory: str, customers: int, seed: int, smtp: str | None) -> None:
    """Build a demo shop under ./demo and run one sweep into the file outbox.

    \b
    Example:
      cartnudge demo --dir demo --customers 3000 --seed 42
    """
    from cartnudge.app import App
    from cartnudge.config import load_config
    from cartnudge.demo.build import build_demo
    from cartnudge.output import print_summary
    from cartnudge.sweep import Sweep

    smtp_host, smtp_port = None, 25
    if smtp:
        host, _, port = smtp.rpartition(":")
        if not host or not port.isdigit():
            raise click.BadParameter(f"{smtp!r} is not HOST:PORT", param_hint="--smtp")
        smtp_host, smtp_port = host, int(port)
    now = _utcnow()
    target = Path(directory).resolve()
    config_path, report = build_demo(
        target, now=now, customers=customers, seed=seed, smtp_host=smtp_host, smtp_port=smtp_port
    )
    click.echo(
        f"demo shop: {report.customers} customers, {report.orders} orders "
        f"({report.abandoned_orders} abandoned) in {target / 'shop.db'}"
    )
    app = App(load_config(config_path))
    try:
        summary = Sweep(app, app.email_channel(), now=now).run()
    finally:
        app.dispose()
    print_summary(summary, app.config.tz)
    where = (
        f"SMTP {smtp_host}:{smtp_port}"
        if smtp_host
        else str(app.config.outbox_dir) + " (one .eml file per message)"
    )
    click.echo(f"messages: {where}")
    click.echo(
        f"config:   {config_path}  (try: cartnudge --help; "
        f"cartnudge sweep --config {config_path} --dry-run)"
    )


@main.group()
def token() -> None:
    """Recovery and opt-out tokens (for the shop's own pages).

    \b
    Example:
      cartnudge token verify --config /etc/cartnudge.yaml eyJkIjo0Mi...Q.sig
    """


def _register_operator_commands() -> None:
    from cartnudge import cli_bulk, cli_operator, cli_report, cli_search

    for command in (
        cli_operator.templates,
        cli_operator.unsubscribe,
        cli_operator.suppressions,
        cli_search.search,
        cli_report.report,
        cli_bulk.send_bulk,
    ):
        main.add_command(command)


_register_operator_commands()
