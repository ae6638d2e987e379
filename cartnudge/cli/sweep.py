"""``cartnudge sweep``: the cron job."""

from __future__ import annotations

import json
import random
import sys
import time
from datetime import timedelta
from typing import Any

import click

from cartnudge.cli.common import config_option, handle_errors, load_app, one_line, parse_now, utcnow
from cartnudge.errors import EXIT_OK, CartnudgeError
from cartnudge.logs import log_tail, mask_pii

# A --now this far ahead of the clock is a replay of the future: refused without --force.
FUTURE_SLACK = timedelta(minutes=5)


def _delay(value: str | None) -> float:
    if value is None:
        return 0.0
    from cartnudge.core.durations import parse_duration

    if value.removesuffix("s").isdigit():
        seconds = float(value.removesuffix("s"))  # seconds: 30 or 30s
    else:
        try:
            seconds = parse_duration(value, bare_unit="s").total_seconds()
        except (ValueError, OverflowError) as exc:
            raise click.BadParameter(str(exc), param_hint="--random-delay") from None
    if seconds > MAX_RANDOM_DELAY:
        # A delay longer than the cron interval would overlap the next run (issue 10: bounded
        # arguments, never an overflow).
        raise click.BadParameter(
            f"{value!r} is longer than {MAX_RANDOM_DELAY:.0f} seconds", param_hint="--random-delay"
        )
    return seconds


MAX_RANDOM_DELAY = 3600.0


@click.command()
@config_option
@click.option("--dry-run", is_flag=True, help="Decide and render, but write and send nothing.")
@click.option(
    "--now",
    "now_text",
    metavar="DATETIME",
    help="Replay the sweep as of this ISO time (default: the clock). A time in the future "
    "is refused without --dry-run or --force.",
)
@click.option("--force", is_flag=True, help="Send even with a --now in the future.")
@click.option(
    "--full",
    is_flag=True,
    help="Read every order in the window, not only what changed since the last sweep "
    "(full sweeps also happen by themselves: sweep.full_every, a configuration change).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the summary as JSON on stdout; on an error, {status, exit_code, error}.",
)
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="Print nothing when all went well (for cron, which mails any output).",
)
@click.option(
    "--metrics-file",
    metavar="FILE",
    help="Write the run's counters, exit code and duration as a Prometheus textfile "
    "(replaced atomically), e.g. /var/lib/node_exporter/cartnudge.prom.",
)
@click.option(
    "--random-delay",
    metavar="DURATION",
    help="Wait a random time up to DURATION (e.g. 5m, 30s) before starting, so a fleet of hosts "
    "does not start at the same second.",
)
@click.option(
    "--every-bucket",
    is_flag=True,
    help="With sweep.buckets: sweep again the buckets already swept in this round.",
)
@handle_errors
def sweep(
    config_path: str,
    dry_run: bool,
    now_text: str | None,
    force: bool,
    full: bool,
    as_json: bool,
    quiet: bool,
    metrics_file: str | None,
    random_delay: str | None,
    every_bucket: bool,
) -> None:
    """Find due reminders, apply the rules, render, send, record and summarise.

    Safe to run late, twice, or in parallel: every delivery is claimed before it is sent.
    With sweep.buckets, sweeps on several hosts divide the candidates (README, "Several
    sweepers"); a second sweep in the same round reads nothing unless --every-bucket.
    A sweep reads only what can have changed since the last one (incremental); a full
    sweep, reading every order in the window, runs by itself every sweep.full_every, after
    a change of the flows' configuration, and with --full.
    With healthcheck.url (or url_env) configured, pings URL/start, URL on success and
    URL/<exit code> on failure (never in a dry run; a ping never fails the job).

    \b
    Examples:
      cartnudge sweep                      # the hourly cron job
      cartnudge sweep --dry-run            # what would go out now
      cartnudge sweep --full               # read every order in the window
      cartnudge sweep --now 2026-11-22T09:00 --json
      cartnudge sweep --quiet --metrics-file cartnudge.prom --random-delay 1s
    """
    from cartnudge.cli.output import print_summary, progress_reporter
    from cartnudge.operator.cron import Healthcheck, metrics_text, write_metrics
    from cartnudge.sweep import Sweep

    wait = _delay(random_delay)
    started = time.monotonic()
    ping = Healthcheck(None)
    summary_dict: dict[str, Any] | None = None

    def metrics(exit_code: int) -> None:
        if metrics_file:
            text = metrics_text(
                summary_dict,
                exit_code=exit_code,
                duration=time.monotonic() - started,
                finished_at=time.time(),
            )
            write_metrics(metrics_file, text)

    try:
        app = load_app(config_path)
        try:
            now = parse_now(now_text, app.config.tz)
            if now_text and not (dry_run or force) and now > utcnow() + FUTURE_SLACK:
                raise click.BadParameter(
                    f"{now_text} is in the future: a sweep would send reminders before they "
                    "are due (add --dry-run to preview, or --force)",
                    param_hint="--now",
                )
            if wait and not dry_run:
                time.sleep(random.uniform(0, wait))
                started = time.monotonic()
            if not dry_run:
                ping = Healthcheck(
                    app.config.healthcheck_url, timeout=app.config.settings.healthcheck.timeout
                )
            ping.start()
            with progress_reporter(enabled=not (quiet or as_json)) as on_progress:
                summary = Sweep(
                    app,
                    app.email_channel(),
                    now=now,
                    dry_run=dry_run,
                    on_progress=on_progress,
                    every_bucket=every_bucket,
                    full=full,
                ).run()
        finally:
            app.dispose()
    except CartnudgeError as exc:
        line = mask_pii(one_line(str(exc)))
        if as_json:
            click.echo(json.dumps({"status": "error", "exit_code": exc.exit_code, "error": line}))
        ping.finish(exc.exit_code, [*log_tail(), f"cartnudge: error: {line}"])
        try:
            metrics(exc.exit_code)
        except CartnudgeError as problem:
            click.echo(f"cartnudge: error: {mask_pii(one_line(str(problem)))}", err=True)
        raise
    summary_dict = summary.to_dict()
    ping.finish(summary.exit_code, log_tail())
    metrics(summary.exit_code)
    if as_json:
        click.echo(json.dumps(summary_dict, ensure_ascii=False))
    elif not (quiet and summary.exit_code == EXIT_OK):
        print_summary(summary, app.config.tz)
    sys.exit(summary.exit_code)
