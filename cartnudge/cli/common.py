"""What every command family shares: ``--config``, ``--now`` parsing, loading the app, and the
mapping of cartnudge's errors to one line on stderr and their exit code.

Command modules import from here and never from each other or from the group's package, so
the command line has no import circle (``tests/test_layout.py`` checks it).
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

import click

from cartnudge.errors import EXIT_INTERNAL, CartnudgeError
from cartnudge.logs import mask_pii, verbosity

if TYPE_CHECKING:
    from cartnudge.operator.search import Filters

F = TypeVar("F", bound=Callable[..., Any])


def utcnow() -> datetime:
    """The clock as naive UTC (cartnudge stores UTC without a zone)."""
    return datetime.now(UTC).replace(tzinfo=None)


# Dates cartnudge accepts on its command line: wide enough for any shop's history and future,
# narrow enough that every computation on them (lookbacks, leases, ten-year durations) stays
# inside Python's dates. Outside: a usage error naming the option, never an overflow.
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2199, 12, 31)
# Integers that reach a database (order ids, template ids, row limits): a signed 64-bit value.
ID_RANGE = click.IntRange(0, 2**63 - 1)


class OrderIdType(click.ParamType):
    """A shop order id as the shop contract reads one (``shop.convert.id_of``): integer or
    text, at most 64 characters (cartnudge's state columns), no control characters."""

    name = "ORDER_ID"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        text = str(value).strip()
        if not text:
            self.fail("is empty: give the shop's order id", param, ctx)
        if len(text) > 64:
            self.fail(f"is longer than 64 characters ({len(text)})", param, ctx)
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
            self.fail("contains a control character", param, ctx)
        return text


ORDER_ID = OrderIdType()


def _in_range(day: date, text: str, option: str) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise click.BadParameter(
            f"{text!r} is outside {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}",
            param_hint=option,
        )


def parse_now(value: str | None, tz: Any) -> datetime:
    """``--now`` as naive UTC. A time without an offset is read in the configured time zone.
    click.BadParameter for text that is no ISO date-time or a day outside FIRST_DAY..LAST_DAY."""
    if value is None:
        return utcnow()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO date-time (e.g. 2026-11-22T09:00 or 2026-11-22T00:00Z)",
            param_hint="--now",
        ) from None
    _in_range(moment.date(), value, "--now")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC).replace(tzinfo=None)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def one_line(text: str) -> str:
    """``text`` on one line (runs of whitespace, newlines included, become one space)."""
    return _one_line(text)


def handle_errors(fn: F) -> F:
    """Turn every error into one line on stderr and its exit code (the one place this happens).

    cartnudge's own errors carry their documented code; click's usage errors and ``sys.exit``
    pass through; anything else is a bug: one line and :data:`EXIT_INTERNAL` (70), so that
    monitoring tells it from "some deliveries failed" (1). The traceback is printed only with
    ``-vv``; every line is masked."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CartnudgeError as exc:
            for line in exc.lines:
                click.echo(f"cartnudge: error: {mask_pii(_one_line(line))}", err=True)
            sys.exit(exc.exit_code)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("cartnudge: error: interrupted", err=True)
            sys.exit(130)
        except RecursionError:
            _internal("recursion too deep (a template or a value nested too deeply)")
        except MemoryError:
            _internal("out of memory")
        except Exception as exc:
            _internal(f"{type(exc).__name__}: {exc}")

    return wrapper  # type: ignore[return-value]


def _internal(summary: str) -> None:
    """Report an unexpected error: one masked line, the traceback only with ``-vv``."""
    if verbosity() >= 2:
        for line in traceback.format_exc().splitlines():
            click.echo(mask_pii(line), err=True)
    line = _one_line(summary)[:300]
    click.echo(
        f"cartnudge: internal error (a bug, please report it; -vv shows where): {mask_pii(line)}",
        err=True,
    )
    sys.exit(EXIT_INTERNAL)


def load_app(config_path: str) -> Any:
    """Load and validate the configuration at ``config_path``; raise ConfigError (exit 3)."""
    from cartnudge.app import App
    from cartnudge.config import load_config

    return App(load_config(config_path))


CONFIG_META = "cartnudge.config"
DEFAULT_CONFIG = "cartnudge.yaml"


def _resolve_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> str:
    """The subcommand's ``--config`` wins, then the group's (``cartnudge --config X sweep``),
    then CARTNUDGE_CONFIG, then ./cartnudge.yaml."""
    source = ctx.get_parameter_source("config_path")
    if value is not None and source is click.core.ParameterSource.COMMANDLINE:
        return value
    given = ctx.find_root().meta.get(CONFIG_META)
    return given or value or DEFAULT_CONFIG


def _add_verbosity(ctx: click.Context, _param: click.Parameter, value: int) -> int:
    """``-v`` after the subcommand adds to the group's ``-v`` (``cartnudge sweep -v``)."""
    from cartnudge.logs import setup_logging, verbosity

    if value:
        setup_logging(verbosity() + value, keep=True)
    return value


def verbose_option(fn: F) -> F:
    """``-v``/``--verbose`` on a subcommand, the same as before it."""
    return click.option(
        "-v",
        "--verbose",
        count=True,
        expose_value=False,
        callback=_add_verbosity,
        help="More logging on stderr (-v info, -vv debug); also before the command.",
    )(fn)


def config_option(fn: F) -> F:
    """``--config`` (also accepted before the subcommand) and ``-v``."""
    fn = click.option(
        "--config",
        "config_path",
        envvar="CARTNUDGE_CONFIG",
        default=None,
        callback=_resolve_config,
        metavar="FILE",
        type=click.Path(dir_okay=False),
        help=f"Configuration file (or set CARTNUDGE_CONFIG; default ./{DEFAULT_CONFIG}); "
        "also before the command.",
    )(fn)
    return verbose_option(fn)


YES_NO = click.Choice(["yes", "no", "any"])


def _tristate(value: str) -> bool | None:
    return {"yes": True, "no": False, "any": None}[value]


def parse_date(value: str | None, option: str) -> date | None:
    """A day given as ``2026-11-22`` or ``2026/11/22``; click.BadParameter naming ``option``."""
    if value is None:
        return None
    for fmt in ("%Y-%m-%d", "%Y/%m/%d"):
        try:
            day = datetime.strptime(value, fmt).date()
        except ValueError:
            continue
        _in_range(day, value, option)
        return day
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
        click.option(
            "--min-amount", type=click.IntRange(0, 2**62), help="Abandoned amount >= yen."
        ),
        click.option(
            "--max-amount", type=click.IntRange(0, 2**62), help="Abandoned amount <= yen."
        ),
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
    """The selection of ``search`` and ``send-bulk`` from their options; BadParameter when the
    range is upside down."""
    first, last = parse_date(date_from, "--from"), parse_date(date_to, "--to")
    if first and last and first > last:
        raise click.BadParameter(f"--from {date_from} is after --to {date_to}", param_hint="--from")
    if min_amount is not None and max_amount is not None and min_amount > max_amount:
        raise click.BadParameter(
            f"--min-amount {min_amount} is above --max-amount {max_amount}",
            param_hint="--min-amount",
        )
    from cartnudge.operator.search import Filters

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
