"""``cartnudge experiments``: the A/B tests, their sample sizes and state; ``stop`` ends one."""

from __future__ import annotations

import json

import click
from rich.text import Text

from cartnudge.cli import common
from cartnudge.cli.common import config_option, handle_errors, load_app


@click.group(invoke_without_command=True)
@config_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
@handle_errors
def experiments(ctx: click.Context, config_path: str, fmt: str) -> None:
    """List the running A/B tests: variants, persons so far, sample size, state (collecting,
    winner, no difference, stopped). A winner is named only when the difference is
    significant by a test that stays valid however often this is read (mixture SPRT).

    \b
    Examples:
      cartnudge experiments
      cartnudge experiments stop timing --keep 3h
    """
    if ctx.invoked_subcommand is not None:
        ctx.obj = config_path
        return
    from cartnudge.operator.experiments import (
        arm_rows,
        collect_experiments,
        experiment_to_dict,
        state_text,
    )

    app = load_app(config_path)
    try:
        found = collect_experiments(app, common.utcnow())
    finally:
        app.dispose()
    if fmt == "json":
        click.echo(json.dumps([experiment_to_dict(r) for r in found], ensure_ascii=False))
        return
    from cartnudge.cli.output import LEFT_OUT, arm_columns
    from cartnudge.cli.tabular import console_for, print_table

    console = console_for()
    if not found:
        console.print("no A/B tests configured (flows.confirm.steps[].variants)")
        return
    for r in found:
        e = r.experiment
        console.print(
            Text(
                f"{e.name}: {e.flow} flow, step {e.step}: {state_text(r)}; "
                f"at most {r.design.max_per_arm:,} persons per variant",
                style="bold",
            )
        )
        print_table(console, arm_columns(), arm_rows(r), left_out=LEFT_OUT.replace("csv or ", ""))


@experiments.command("stop")
@config_option
@click.argument("name")
@click.option("--keep", "keep", required=True, metavar="VARIANT", help="The variant to keep.")
@click.pass_context
@handle_errors
def stop(ctx: click.Context, config_path: str, name: str, keep: str) -> None:
    """End the A/B test NAME: from the next sweep every shopper gets VARIANT (its template and
    delay); the figures so far stay in the report. Remove the variants from the configuration
    when convenient.

    \b
    Example:
      cartnudge experiments stop timing --keep 3h
    """
    if ctx.get_parameter_source("config_path") is not click.core.ParameterSource.COMMANDLINE:
        config_path = ctx.obj or config_path  # given to the group: experiments --config X stop
    app = load_app(config_path)
    try:
        test = app.config.experiments.get(name)
        if test is None:
            known = ", ".join(sorted(app.config.experiments)) or "none"
            raise click.BadParameter(
                f"no A/B test {name!r} (configured: {known})", param_hint="NAME"
            )
        if keep not in {v.name for v in test.variants}:
            names = ", ".join(v.name for v in test.variants)
            raise click.BadParameter(
                f"{keep!r} is not a variant of {name} ({names})", param_hint="--keep"
            )
        app.deliveries.ensure_ready()
        new = app.experiments.decide(
            name, "stopped", keep, "stopped by the operator", common.utcnow()
        )
    finally:
        app.dispose()
    click.echo(
        f"{name}: stopped, every shopper now gets {keep}" if new else f"{name}: already stopped"
    )
