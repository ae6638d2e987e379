"""The ``cartnudge`` command line: this module only assembles the group.

Each command family lives in its own module and imports what it shares from
``cartnudge.cli.common`` (options, ``--now``, the error-to-exit-code mapping). Results go to
stdout, logs to stderr, and every error is one line with the exit code documented in
cartnudge.errors and the README.

The group is lazy: a command's module (and what it imports: the database, the channels, rich,
the report) is imported only when that command runs or its own help is asked for. ``--version``
and ``--help`` import click and this file; the group's help lists every command from
:data:`COMMANDS`, whose summaries a test keeps equal to the commands' own first paragraphs.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import Any

import click

from cartnudge.cli.common import CONFIG_META

# name -> (module under cartnudge.cli, attribute, the first paragraph of the command's help).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "sweep": (
        "sweep",
        "sweep",
        "Find due reminders, apply the rules, render, send, record and summarise.",
    ),
    "init": (
        "setup",
        "init",
        "Copy the shop contract (sql/), the templates, a commented configuration and the "
        "cron/systemd examples into DIRECTORY for a shop to edit.",
    ),
    "init-db": (
        "setup",
        "init_db",
        "Create or upgrade cartnudge's own tables (cartnudge_*) in the state database.",
    ),
    "check": (
        "setup",
        "check",
        "Check the configuration, the templates, both databases, the shop contract and the "
        "channels.",
    ),
    "demo": (
        "setup",
        "demo",
        "Build a demo shop under ./demo and play several days of it: hourly sweeps into the file "
        "outbox, shoppers who open the recovery link and buy through it (and some who buy "
        "without it), then the report of what the reminders earned (demo/report.html).",
    ),
    "token": ("optout", "token", "Recovery and opt-out tokens (for the shop's own pages)."),
    "templates": ("templates", "templates", "The template catalogue: list and preview."),
    "unsubscribe": (
        "optout",
        "unsubscribe",
        "Put an address on the suppression list: it receives nothing from any flow or mailing.",
    ),
    "suppressions": (
        "optout",
        "suppressions",
        "The suppression list (opt-outs, hard bounces): list, add, remove, import.",
    ),
    "search": (
        "search",
        "search",
        "Customers with abandoned orders, or (--orders) recovered orders.",
    ),
    "report": (
        "report",
        "report",
        "What the reminders achieved for the carts abandoned in a period, per flow.",
    ),
    "serve": (
        "serve",
        "serve",
        "Serve the opt-out page, the RFC 8058 one-click opt-out and the click redirect (needs "
        "the web extra: pip install 'cartnudge[web]'). Put it behind the shop's web server and "
        "set web.base_url to its public address so messages link to it.",
    ),
    "experiments": (
        "experiments",
        "experiments",
        "List the running A/B tests: variants, persons so far, sample size, state (collecting, "
        "winner, no difference, stopped). A winner is named only when the difference is "
        "significant by a test that stays valid however often this is read (mixture SPRT).",
    ),
    "send-bulk": (
        "bulk",
        "send_bulk",
        "Send a template to the customers a search finds, once per customer per campaign.",
    ),
    "coupons": (
        "coupons",
        "coupons",
        "The coupon pool that coupon steps take codes from (import, list).",
    ),
}


class LazyCommands(MutableMapping[str, click.Command]):
    """A group's ``commands`` mapping that imports a command's module on first access.

    Listing the names (``iter``, ``len``, ``in``) imports nothing; reading one imports its
    module. Commands added with ``add_command`` are kept as they are.
    """

    def __init__(self, table: dict[str, tuple[str, str, str]]) -> None:
        self._table = table
        self._loaded: dict[str, click.Command] = {}

    def is_loaded(self, name: str) -> bool:
        """Whether ``name``'s command object exists already (no import needed to show it)."""
        return name in self._loaded

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            if name not in self._table:
                raise KeyError(name)
            module, attribute, _summary = self._table[name]
            command = getattr(importlib.import_module(f"cartnudge.cli.{module}"), attribute)
            self._loaded[name] = command
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        found = name in self._loaded or name in self._table
        self._loaded.pop(name, None)
        if name in self._table:
            self._table = {k: v for k, v in self._table.items() if k != name}
        if not found:
            raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        yield from self._table
        yield from (name for name in self._loaded if name not in self._table)

    def __len__(self) -> int:
        return len(self._table.keys() | self._loaded.keys())

    def __contains__(self, name: object) -> bool:
        return name in self._table or name in self._loaded


class LazyGroup(click.Group):
    """A click group whose subcommands come from :data:`COMMANDS`, imported when used.

    ``cartnudge --help`` lists every command with its summary from the table, without
    importing any of them.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands: LazyCommands = LazyCommands(dict(COMMANDS))  # type: ignore[assignment]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The "Commands" section: as click writes it, with not-yet-imported commands shown
        through a stand-in carrying the table's summary (click shortens it the same way)."""
        shown: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            if self.commands.is_loaded(name) or name not in COMMANDS:
                command = self.get_command(ctx, name)
            else:
                command = click.Command(name, help=COMMANDS[name][2])
            if command is not None and not command.hidden:
                shown.append((name, command))
        if not shown:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in shown)
        with formatter.section("Commands"):
            formatter.write_dl([(name, c.get_short_help_str(limit)) for name, c in shown])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-v info, -vv debug).")
@click.option(
    "--config",
    "config_path",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Configuration file for the command (also accepted after it).",
)
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False),
    help="Append the log lines to this file instead of stderr (errors still go to stderr).",
)
@click.option("--syslog", is_flag=True, help="Send the log lines to syslog instead of stderr.")
@click.version_option(package_name="cartnudge")
@click.pass_context
def main(
    ctx: click.Context, verbose: int, config_path: str | None, log_file: str | None, syslog: bool
) -> None:
    """Abandoned-cart reminders for your shop, run from cron.

    Log lines carry the time (UTC) and the level; personal data is masked in them.

    \b
    Example:
      cartnudge --config /etc/cartnudge/config.yaml sweep --quiet
      cartnudge sweep --config /etc/cartnudge/config.yaml -v
    """
    from cartnudge.logs import setup_logging

    ctx.meta[CONFIG_META] = config_path
    setup_logging(verbose, log_file=log_file, syslog=syslog)
