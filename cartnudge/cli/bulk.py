"""``cartnudge send-bulk``: a manual mailing to the result of a search (cartnudge.operator.bulk)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from cartnudge.cli import common
from cartnudge.cli.common import (
    build_filters,
    config_option,
    filter_options,
    handle_errors,
    load_app,
)
from cartnudge.errors import EXIT_DELIVERY_PROBLEMS, CartnudgeError


def _campaign(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    from cartnudge.operator.bulk import campaign_problem

    problem = campaign_problem(value)
    if problem:
        raise click.BadParameter(problem)
    return value


@click.command("send-bulk")
@config_option
@click.option(
    "--template",
    "template_id",
    type=common.ID_RANGE,
    required=True,
    metavar="ID",
    help="Template to send (category cart_abandonment or remarketing).",
)
@click.option(
    "--campaign",
    required=True,
    metavar="NAME",
    callback=_campaign,
    help="Name of the mailing (letters, digits, - and _, at most 50). Running the same "
    "campaign again sends nothing to anyone who already has it.",
)
@filter_options
@click.option(
    "--ignore-cap",
    is_flag=True,
    help="Send also to customers the frequency cap holds back (reminded max_sends times "
    "within frequency_cap.window).",
)
@click.option("--yes", "assume_yes", is_flag=True, help="Send without asking (for scripts).")
@click.option(
    "--dry-run", is_flag=True, help="Stop after the count and the sample: write and send nothing."
)
@handle_errors
def send_bulk(
    config_path: str,
    template_id: int,
    campaign: str,
    ignore_cap: bool,
    assume_yes: bool,
    dry_run: bool,
    **filters: Any,
) -> None:
    """Send a template to the customers a search finds, once per customer per campaign.

    Selects customers with the same filters as 'search', leaves out those without e-mail
    consent (when consent.required), on the suppression list, without a valid address, who
    already have this campaign, without an abandoned cart (for a cart_abandonment template) or
    held back by the frequency cap (unless --ignore-cap), prints the counts and one rendered
    sample, and asks before sending. An interrupted mailing is finished by running the same
    command again.

    \b
    Examples:
      cartnudge send-bulk --template 140001 --campaign nov-sale --status member --dry-run
      cartnudge send-bulk --template 140001 --campaign nov-sale --status member
      cartnudge send-bulk --template 140002 --campaign lp-nov --flow input --yes
    """
    from cartnudge.operator.bulk import Mailing, check_template, plan, send

    f = build_filters(**filters)
    app = load_app(config_path)
    now = common.utcnow()
    try:
        check_template(app, template_id)
        mailing = Mailing(
            campaign=campaign, template_id=template_id, filters=f, ignore_cap=ignore_cap
        )
        found = plan(app, mailing, now=now)
        click.echo(f"will receive: {found.recipients}")
        click.echo(
            "excluded: " + ", ".join(f"{reason} {count}" for reason, count in found.exclusions())
        )
        if found.sample is None:
            click.echo("sample: none (nobody to send to)")
        else:
            s = found.sample
            click.echo(f"sample (customer {s.customer_id}, {s.recipient}):")
            click.echo(f"Subject: {s.subject}\n")
            click.echo(s.text, nl=not s.text.endswith("\n"))
        if dry_run:
            click.echo("dry run: nothing sent")
            return
        if found.recipients == 0:
            click.echo("nothing to send")
            return
        if not assume_yes:
            question = (
                f"Send template {template_id} to {found.recipients} customers "
                f"as campaign {campaign!r}?"
            )
            try:
                confirmed = click.confirm(question, default=False)
            except click.Abort:
                click.echo("", err=True)
                raise CartnudgeError(
                    "no answer to the confirmation (no terminal or stdin): "
                    "pass --yes to send without asking"
                ) from None
            if not confirmed:
                click.echo("cancelled: nothing sent")
                sys.exit(EXIT_DELIVERY_PROBLEMS)
        with _progress() as on_progress:
            summary = send(
                app, mailing, app.email_channel(), now=common.utcnow(), on_progress=on_progress
            )
    finally:
        app.dispose()
    line = f"sent {summary.sent}, failed {summary.failed}, retry later {summary.retry_later}"
    if summary.in_doubt:
        line += f", in doubt {summary.in_doubt}"
    if summary.claimed_elsewhere:
        line += f", being sent by another run {summary.claimed_elsewhere}"
    if summary.throttled:
        line += "; the channel was throttled (quota or rate limit): run it again later"
    if summary.lost:
        line += "; the server went away: run it again later"
    click.echo(line)
    sys.exit(summary.exit_code)


@contextmanager
def _progress() -> Iterator[Callable[[Any], None]]:
    """A spinner on stderr with the running count, drawn only when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield lambda _summary: None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task("sending: 0 sent", total=None)
        yield lambda s: progress.update(task, description=f"sending: {s.sent:,} sent")
