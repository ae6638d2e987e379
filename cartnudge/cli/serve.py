"""``cartnudge serve``: the web endpoints (one-click opt-out, click redirects) for a small shop."""

from __future__ import annotations

import click

from cartnudge.cli.common import config_option, handle_errors, load_app
from cartnudge.errors import ConfigError


@click.command()
@config_option
@click.option("--host", default=None, help="Address to listen on (default web.host, 127.0.0.1).")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Port to listen on (default web.port, 8080).",
)
@handle_errors
def serve(config_path: str, host: str | None, port: int | None) -> None:
    """Serve the opt-out page, the RFC 8058 one-click opt-out and the click redirect
    (needs the web extra: pip install 'cartnudge[web]'). Put it behind the shop's web server
    and set web.base_url to its public address so messages link to it.

    \b
    Example:
      cartnudge serve --config /etc/cartnudge.yaml --port 8080
    """
    try:
        import uvicorn

        from cartnudge.web import create_app
    except ImportError:
        raise ConfigError(
            "cartnudge serve needs the web extra: pip install 'cartnudge[web]'"
        ) from None
    app = load_app(config_path)
    try:
        app.deliveries.ensure_ready()  # missing or old tables: exit 4 now, not per request
        web = app.config.settings.web
        uvicorn.run(
            create_app(app),
            host=host or web.host,
            port=port or web.port,
            proxy_headers=True,
            server_header=False,
            log_level="info",
        )
    finally:
        app.dispose()
