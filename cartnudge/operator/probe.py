"""``cartnudge check``'s channel probes: open each enabled channel as a sweep would, send nothing.

- e-mail by SMTP: connect, EHLO, STARTTLS and AUTH as configured (the channel's own ``open``),
  then QUIT. The file outbox has nothing to open.
- SMS: the configuration and the secret (the channel's ``open``); Twilio: the account resource
  read with the credentials; a webhook: one ``HEAD`` of the gateway's origin.
- push: the configuration and the secret; FCM: the OAuth token exchange with the service
  account (the credentials are obtainable), then one ``HEAD`` of the FCM endpoint's origin; a
  webhook: one ``HEAD`` of its origin. Any HTTP answer to a ``HEAD`` means reachable.
- LINE: ``GET /v2/bot/info`` with the channel access token, which proves the token.

Every probe uses a short timeout (at most :data:`PROBE_TIMEOUT`, or the channel's own when
shorter) and one try, and fails with one line naming the channel and why, never a secret.
"""

from __future__ import annotations

import httpx

from cartnudge.app import App
from cartnudge.channels.base import Channel, Retries
from cartnudge.errors import ChannelError

PROBE_TIMEOUT = 10.0

ONE_TRY = Retries(max_tries=1)  # check tries each server once: no retry, no wait


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


def probe(app: App, kind: str, *, timeout: float | None = None) -> str:
    """Open channel ``kind``, reach its server, close it again; return what was checked (one
    line). Raises ChannelError naming the channel when it cannot be used. ``timeout``: at most
    this many seconds per step (default :data:`PROBE_TIMEOUT`)."""
    timeout = PROBE_TIMEOUT if timeout is None else timeout
    s = app.config.settings
    if kind == "email" and s.email.transport == "outbox":
        return f"email outbox {app.config.outbox_dir} (files; nothing to open)"
    channel = _channel(app, kind, timeout)
    try:
        if kind == "email":
            channel.open()
            smtp = s.email.smtp
            login = ", logged in" if smtp.username else ""
            return f"email SMTP {smtp.host}:{smtp.port} ({smtp.security}{login})"
        if kind in ("sms", "line"):
            return str(channel.probe())  # type: ignore[attr-defined]
        channel.open()
        where = str(getattr(channel, "where", kind))
        _reachable(_origin(s.push.endpoint if s.push.provider == "fcm" else s.push.url), timeout)
        got = ", access token obtained" if s.push.provider == "fcm" else ""
        return f"push {where} (reachable{got})"
    except ChannelError as exc:
        raise ChannelError(f"{kind} channel: {exc}") from None
    finally:
        channel.close()  # SMTP: QUIT


def _channel(app: App, kind: str, timeout: float) -> Channel:
    """The channel a sweep would open, with the probe's timeout and a single try."""
    config, s = app.config, app.config.settings
    if kind == "email":
        from cartnudge.channels.smtp import SmtpChannel

        smtp = s.email.smtp.model_copy(update={"timeout": min(s.email.smtp.timeout, timeout)})
        return SmtpChannel(smtp, config.smtp_password, retries=ONE_TRY)
    if kind == "sms":
        from cartnudge.channels.sms import SmsChannel

        sms = s.sms.model_copy(update={"timeout": min(s.sms.timeout, timeout)})
        return SmsChannel(sms, config.sms_secret, retries=ONE_TRY)
    if kind == "push":
        from cartnudge.channels.push import PushChannel

        push = s.push.model_copy(update={"timeout": min(s.push.timeout, timeout)})
        return PushChannel(push, config.push_secret, retries=ONE_TRY)
    if kind == "line":
        from cartnudge.channels.line import LineChannel

        line = s.line.model_copy(update={"timeout": min(s.line.timeout, timeout)})
        return LineChannel(line, config.line_token, retries=ONE_TRY)
    raise ValueError(f"unknown channel {kind!r}")


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: a path or query may hold a credential."""
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}"


def _reachable(origin: str, timeout: float) -> None:
    """One ``HEAD`` of ``origin``; any HTTP answer means reachable."""
    try:
        httpx.head(origin, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as exc:
        words = " ".join(str(exc).split())
        raise ChannelError(f"{origin} is not reachable ({type(exc).__name__}: {words})") from None
