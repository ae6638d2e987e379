"""The ``cartnudge`` command line: this module only assembles the group.

Each command family lives in its own module and imports what it shares from
``cartnudge.cli.common`` (options, ``--now``, the error-to-exit-code mapping). Results go to
stdout, logs to stderr, and every error is one line with the exit code documented in
cartnudge.errors and the README.
"""

from __future__ import annotations

import click

from cartnudge.cli import (
    bulk,
    coupons,
    experiments,
    optout,
    report,
    search,
    serve,
    setup,
    sweep,
    templates,
)
from cartnudge.cli.common import CONFIG_META
from cartnudge.logs import setup_logging


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    ctx.meta[CONFIG_META] = config_path
    setup_logging(verbose, log_file=log_file, syslog=syslog)


for command in (
    sweep.sweep,
    setup.init,
    setup.init_db,
    setup.check,
    setup.demo,
    optout.token,
    templates.templates,
    optout.unsubscribe,
    optout.suppressions,
    search.search,
    report.report,
    serve.serve,
    experiments.experiments,
    bulk.send_bulk,
    coupons.coupons,
):
    main.add_command(command)
