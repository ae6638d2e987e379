"""What every command family shares: ``--config``, ``--now`` parsing, loading the app, and the
mapping of cartnudge's errors to one line on stderr and their exit code.

Command modules import from here and never from each other or from the group's package, so
the command line has no import circle (``tests/test_layout.py`` checks it).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar

import click

from cartnudge.errors import CartnudgeError
from cartnudge.logs import mask_pii

F = TypeVar("F", bound=Callable[..., Any])


def utcnow() -> datetime:
    """The clock as naive UTC (cartnudge stores UTC without a zone)."""
    return datetime.now(UTC).replace(tzinfo=None)


def parse_now(value: str | None, tz: Any) -> datetime:
    """``--now`` as naive UTC. A time without an offset is read in the configured time zone."""
    if value is None:
        return utcnow()
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


def load_app(config_path: str) -> Any:
    """Load and validate the configuration at ``config_path``; raise ConfigError (exit 3)."""
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
