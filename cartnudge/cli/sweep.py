"""``cartnudge sweep``: the cron job."""

from __future__ import annotations

import json
import sys

import click

from cartnudge.cli.common import config_option, handle_errors, load_app, parse_now
from cartnudge.errors import EXIT_OK


@click.command()
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
    from cartnudge.cli.output import print_summary, progress_reporter
    from cartnudge.sweep import Sweep

    app = load_app(config_path)
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
