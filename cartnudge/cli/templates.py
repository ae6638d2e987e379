"""``cartnudge templates``: list the catalogue; preview a template as text, HTML, e-mail, SMS."""

from __future__ import annotations

import sys

import click

from cartnudge.cli import common
from cartnudge.cli.common import config_option, handle_errors, load_app
from cartnudge.errors import CartnudgeError


@click.group()
def templates() -> None:
    """The template catalogue: list and preview.

    \b
    Example:
      cartnudge templates list
    """


@templates.command("list")
@config_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "tsv"]),
    default=None,
    help="table on a terminal, tsv (tab-separated lines) when piped (default).",
)
@handle_errors
def templates_list(config_path: str, fmt: str | None) -> None:
    """List the templates with their id, category, name and the channels they have a text for.

    \b
    Example:
      cartnudge templates list --config /etc/cartnudge.yaml
    """
    app = load_app(config_path)
    found = sorted(app.catalogue.templates.values(), key=lambda i: i.id)
    if (fmt or ("table" if sys.stdout.isatty() else "tsv")) == "table":
        from cartnudge.cli.tabular import write_rows

        rows = (
            {
                "id": info.id,
                "category": info.category,
                "name": info.name,
                "channels": " ".join(["email"] + ["sms"] * info.has_sms + ["line"] * info.has_line),
            }
            for info in found
        )
        write_rows(
            rows,
            ("id", "category", "name", "channels"),
            "table",
            kinds={"id": "id", "channels": "prose"},
            drops={"category": 1},
        )
        return
    for info in found:
        sms = " +sms" if info.has_sms else ""
        line = " +line" if info.has_line else ""
        click.echo(f"{info.id}\t{info.category}\t{info.name}{sms}{line}")


@templates.command("preview")
@config_option
@click.argument("template_id", type=common.ID_RANGE)
@click.option(
    "--order",
    "order_id",
    type=common.ORDER_ID,
    help="Render for this shop order, an integer or text id (default: a sample).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "html", "eml", "sms", "line"]),
    default="text",
    show_default=True,
    help="Which part to print; eml prints the whole message, line the LINE text as sent.",
)
@click.option(
    "--output",
    "output",
    type=click.Path(dir_okay=False),
    help="Write to this file instead of stdout (atomically; never over a symlink or device).",
)
@handle_errors
def templates_preview(
    config_path: str, template_id: int, order_id: str | None, fmt: str, output: str | None
) -> None:
    """Render a template, with sample data or a real order's, without sending anything.

    \b
    Examples:
      cartnudge templates preview 140001
      cartnudge templates preview 140001 --order 3 --format eml --output preview.eml
    """
    from cartnudge.messages.compose import (
        OverLimit,
        email_envelope,
        line_text,
        render_within_limits,
    )
    from cartnudge.messages.templates import sample_context
    from cartnudge.shop.reader import AbandonedOrder

    app = load_app(config_path)
    now = common.utcnow()
    try:
        if order_id is None:
            if fmt == "eml":
                raise click.BadParameter("--format eml needs --order", param_hint="--format")
            rendered = app.catalogue.render(template_id, sample_context())
            unsubscribe_url = str(sample_context()["unsubscribe_url"])
        else:
            order = app.reader.order(order_id)
            if order is None:
                raise CartnudgeError(
                    f"order {order_id} not found by {app.contract.path('abandoned')} "
                    "(not an abandoned order)"
                )
            if not isinstance(order, AbandonedOrder):
                raise CartnudgeError(f"{order.message} (skipped as {order.reason})")
            items = app.reader.order_items([order.raw_order_id]).get(order.candidate.order_id, [])
            try:
                rendered, links = render_within_limits(
                    app.config,
                    app.catalogue,
                    template_id,
                    order,
                    items,
                    delivery_id=0,
                    now=now,
                    channel="sms" if fmt == "sms" else "email",
                    all_parts=True,
                )
            except OverLimit as exc:
                raise CartnudgeError(f"order {order_id}: {exc}") from None
            unsubscribe_url = links.unsubscribe_url
            if fmt == "eml":
                try:
                    # The sweep's own path: an address that cannot stand in a header (a line
                    # break, "x@y>, z@w") is refused here as it is there.
                    envelope = email_envelope(
                        app.config, order, rendered, links, delivery_id=0, now=now
                    )
                except ValueError as exc:
                    raise CartnudgeError(f"order {order_id}: {exc}") from None
                _emit(envelope.data, output)
                return
    finally:
        app.dispose()
    if fmt == "sms" and rendered.sms is None:
        raise click.BadParameter(f"template {template_id} has no SMS body", param_hint="--format")
    if fmt == "line" and rendered.line is None and rendered.sms is None:
        raise click.BadParameter(
            f"template {template_id} has no LINE (or SMS) body", param_hint="--format"
        )
    line = line_text(
        rendered.line if rendered.line is not None else (rendered.sms or ""),
        app.config.settings.sender.name,
        unsubscribe_url,
    )
    part = {"text": rendered.text, "html": rendered.html, "sms": rendered.sms, "line": line}[fmt]
    if fmt == "text":
        part = f"Subject: {rendered.subject}\n\n{part}"
    _emit((part if part.endswith("\n") else part + "\n").encode("utf-8"), output)


def _emit(data: bytes, output: str | None) -> None:
    """Write the preview to stdout, or to ``output`` through :func:`cartnudge.files.write_file`
    (FileWriteError, exit 9, for a symlink, FIFO or device)."""
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        from cartnudge.files import write_file

        write_file(output, data, what="--output")
