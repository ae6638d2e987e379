"""``cartnudge check``'s channel probes: open each enabled channel as a sweep would.

SMTP: connect, EHLO, STARTTLS and AUTH as configured (the channel's own ``open``), then QUIT.
SMS and push: the channel's own ``open`` (the configuration and the secret, and for FCM an
OAuth access token from the service account: the credentials are obtainable), then one HEAD
request to the endpoint's origin: any HTTP answer means it is reachable. Nothing is sent.
"""

from __future__ import annotations

import httpx

from cartnudge.app import App
from cartnudge.errors import ChannelError

PROBE_TIMEOUT = 10.0


def _reachable(origin: str, timeout: float) -> None:
    try:
        httpx.head(origin, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise ChannelError(f"{origin} is not reachable: {type(exc).__name__}: {exc}") from None


def enabled_channels(app: App) -> list[str]:
    """The channels the configuration would use: e-mail always, SMS, push and LINE when
    enabled."""
    s = app.config.settings
    return (
        ["email"]
        + (["sms"] if s.sms.enabled else [])
        + (["push"] if s.push.enabled else [])
        + (["line"] if s.line.enabled else [])
    )


def probe(app: App, kind: str, *, timeout: float = PROBE_TIMEOUT) -> str:
    """Open channel ``kind`` and close it again; return what was checked (one line). Raises
    ChannelError naming the channel when it cannot be used."""
    s = app.config.settings
    if kind == "email" and s.email.transport == "outbox":
        return f"email outbox {app.config.outbox_dir} (files; nothing to open)"
    channel = app.channel(kind)
    try:
        channel.open()
        if kind == "email":
            smtp = s.email.smtp
            login = ", logged in" if smtp.username else ""
            return f"email SMTP {smtp.host}:{smtp.port} ({smtp.security}{login})"
        if kind == "line":
            name = channel.verify()  # type: ignore[attr-defined]
            return f"line {s.line.base_url} (token accepted{', bot ' + name if name else ''})"
        where = str(getattr(channel, "where", kind))
        if kind == "sms":
            _reachable(where, timeout)
            return f"sms {s.sms.provider} {where} (reachable)"
        origin = _push_origin(app)
        if origin:
            _reachable(origin, timeout)
        got = ", access token obtained" if s.push.provider == "fcm" else ""
        return f"push {where} (reachable{got})"
    except ChannelError as exc:
        raise ChannelError(f"{kind} channel: {exc}") from None
    finally:
        channel.close()


def _push_origin(app: App) -> str | None:
    s = app.config.settings.push
    if s.provider != "webhook" or not s.url:
        return None  # FCM: fetching the access token already reached Google's endpoint
    url = httpx.URL(s.url)
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}"
