"""The ``cartnudge`` command line: this module only assembles the group.

Each command family lives in its own module and imports what it shares from
``cartnudge.cli.common`` (options, ``--now``, the error-to-exit-code mapping). Results go to
stdout, logs to stderr, and every error is one line with the exit code documented in
cartnudge.errors and the README.
"""

from __future__ import annotations

import click

from cartnudge.cli import bulk, optout, report, search, setup, sweep, templates
from cartnudge.logs import setup_logging


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
    bulk.send_bulk,
):
    main.add_command(command)
