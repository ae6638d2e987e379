"""The channels' configuration sections (``sms:``, ``push:``, ``line:``) and the small pure pieces
of each channel that the rest of cartnudge needs without sending anything (a push payload, LINE's
text limit).

They live here, apart from the channels, so that loading a configuration, composing messages or
running a sweep that does not use a channel never imports that channel's HTTP client or crypto
libraries (start-up time: issue 14). Each channel module re-exports what it used to define.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cartnudge.channels import base
from cartnudge.core.ratelimit import RateLimit

LINE_API = "https://api.line.me"
MAX_TEXT = 5000  # characters of a LINE text message (LINE's limit)

TWILIO_API = "https://api.twilio.com"
DEFAULT_BODY = '{"to": {to}, "from": {from}, "text": {text}}'
PLACEHOLDERS = ("to", "from", "text")
SECRET_PLACEHOLDER = "{secret}"
CONCURRENCY_MAX = 64  # requests in flight at once, at most (sms/push/line.concurrency)


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP header name (RFC 9110 token)
_SID = re.compile(r"[A-Za-z0-9]+")


class RateLimitSettings(BaseModel):
    """``rate_limit:`` of a channel (``email.smtp.rate_limit``, ``sms.rate_limit``,
    ``push.rate_limit``): at most ``per_second`` and at most ``per_hour`` messages, over all of
    the channel's connections or concurrent requests in one sweep. Unset: no limit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_second: float | None = Field(default=None, gt=0, le=100_000)
    per_hour: float | None = Field(default=None, gt=0, le=100_000_000)

    def limit(self) -> RateLimit:
        """The pure rate limit these settings describe."""
        return RateLimit(self.per_second, self.per_hour)


# -- the webhook body ---------------------------------------------------------------------------

_JSON_STRING = r'"(?:[^"\\]|\\.)*"'
# A JSON string literal (kept as it is) or a bare placeholder standing for a JSON value.
_BARE_PLACEHOLDER = re.compile(rf"({_JSON_STRING})|\{{(to|from|text)\}}", re.DOTALL)
_INNER_PLACEHOLDER = re.compile(r"\{(to|from|text)\}")
_MARK = "\x00cartnudge:{}\x00"  # cannot occur in a parsed template unless written as \u0000


class BodyTemplate:
    """A webhook's JSON body with ``{to}``, ``{from}``, ``{text}`` placeholders.

    A bare placeholder (``{"text": {text}}``) stands for a whole JSON value: a string. Inside a
    JSON string (``"tel:{to}"``) it stands for text. The template is parsed once, with each
    bare placeholder held as a marker value; sending fills the parsed structure with Python
    strings and lets ``json.dumps`` write it. No value is ever pasted into JSON text, so a
    message containing ``"}, "to": "+1..."`` stays a string: no injection is possible.
    """

    def __init__(self, template: str) -> None:
        def mark(match: re.Match[str]) -> str:
            return match.group(1) or json.dumps(_MARK.format(match.group(2)))

        try:
            self._tree: Any = json.loads(_BARE_PLACEHOLDER.sub(mark, template))
        except json.JSONDecodeError as exc:
            raise ValueError(
                "is not JSON once {to}, {from} and {text} stand for values "
                f"({exc.msg}); write it like {DEFAULT_BODY}"
            ) from None
        self.names: frozenset[str] = frozenset(self._names(self._tree))

    def _names(self, node: Any) -> set[str]:
        if isinstance(node, dict):
            return set().union(*(self._names(k) | self._names(v) for k, v in node.items()))
        if isinstance(node, list):
            return set().union(*(self._names(v) for v in node))
        if isinstance(node, str):
            for name in PLACEHOLDERS:
                if node == _MARK.format(name):
                    return {name}
            return set(_INNER_PLACEHOLDER.findall(node))
        return set()

    def render(self, values: Mapping[str, str]) -> bytes:
        """The body as UTF-8 JSON bytes, ``values`` filled in."""
        return json.dumps(self._fill(self._tree, values), ensure_ascii=False).encode("utf-8")

    def _fill(self, node: Any, values: Mapping[str, str]) -> Any:
        if isinstance(node, dict):
            return {self._fill(k, values): self._fill(v, values) for k, v in node.items()}
        if isinstance(node, list):
            return [self._fill(v, values) for v in node]
        if isinstance(node, str):
            for name in PLACEHOLDERS:
                if node == _MARK.format(name):
                    return values[name]
            # One pass: a value that itself contains "{to}" is not substituted again.
            return _INNER_PLACEHOLDER.sub(lambda m: values[m.group(1)], node)
        return node


# -- settings -----------------------------------------------------------------------------------


class SmsSettings(BaseModel):
    """The ``sms:`` section of the configuration (defined here, not in config.py, so that the
    channel carries its own rules; config.py embeds it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    provider: Literal["webhook", "twilio"] = "webhook"
    url: str = ""  # webhook: the endpoint; twilio: the API base (default TWILIO_API)
    sender: str = ""  # sender ID or From number
    timeout: float = Field(default=10.0, gt=0, le=300)
    # A Japanese SMS is UCS-2 (67 characters a part); the recovery and opt-out links that the
    # law and the flow need take about 190 of them: 6 parts fit a short message with both.
    max_segments: int = Field(default=6, ge=1, le=10)
    headers: dict[str, str] = Field(default_factory=dict)  # webhook; "{secret}" is replaced
    body: str = DEFAULT_BODY  # webhook: JSON with {to}, {from}, {text}
    account_sid: str = ""  # twilio
    secret_env: str | None = None  # the environment variable holding the API key / auth token
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    # Requests in flight at once (one connection each over HTTP/1.1), like email.smtp.connections.
    concurrency: int = Field(default=1, ge=1, le=CONCURRENCY_MAX)
    # HTTP/2 when an https gateway offers it (ALPN; HTTP/1.1 otherwise). Off by default: not
    # every gateway or proxy in front of one handles it well.
    http2: bool = False

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return base.http_url(value) if value else value

    @field_validator("body")
    @classmethod
    def _body_template(cls, value: str) -> str:
        missing = {"to", "text"} - BodyTemplate(value).names
        if missing:
            raise ValueError("must use {to} and {text}")
        return value

    @field_validator("headers")
    @classmethod
    def _header_lines(cls, value: dict[str, str]) -> dict[str, str]:
        for name, header in value.items():
            if not _TOKEN.fullmatch(name):
                raise ValueError(f"{name!r} is not a valid header name")
            if not _printable(header):
                raise ValueError(f"header {name}: only printable ASCII is allowed")
        return value

    @field_validator("account_sid")
    @classmethod
    def _sid(cls, value: str) -> str:
        if value and not _SID.fullmatch(value):
            raise ValueError("must be letters and digits (Twilio's AC...)")
        return value

    def endpoint(self) -> str:
        """Where messages are POSTed."""
        if self.provider == "twilio":
            base = (self.url or TWILIO_API).rstrip("/")
            return f"{base}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        return self.url


def _printable(value: str) -> bool:
    return value.isascii() and not any(ord(c) < 32 or ord(c) == 127 for c in value)


def settings_problem(settings: SmsSettings, secret: str | None) -> str | None:
    """Why ``settings`` (with ``secret`` from ``settings.secret_env``) cannot send, naming the
    key, or ``None``. The channel's ``open()`` refuses with it; configuration loading can call
    it too, to refuse before a sweep starts. Never shows the secret."""
    s = settings
    if not s.enabled:
        return "not enabled (sms.enabled is false)"
    if s.provider == "webhook" and not s.url:
        return "sms.url: missing (the gateway's webhook URL)"
    if s.provider == "twilio":
        if not s.account_sid:
            return "sms.account_sid: missing (Twilio's account SID, AC...)"
        if not s.sender:
            return "sms.sender: missing (the From number or sender ID)"
    elif not s.sender and "from" in BodyTemplate(s.body).names:
        return "sms.sender: missing (sms.body uses {from})"
    if s.secret_env and not secret:
        return f"sms.secret_env: environment variable {s.secret_env} is not set"
    if s.provider == "twilio" and not secret:
        return "sms.secret_env: missing (Twilio's auth token: name its environment variable)"
    for name, value in s.headers.items():
        if SECRET_PLACEHOLDER not in value:
            continue
        if not secret:
            return f"sms.headers.{name}: uses {{secret}} but sms.secret_env names no secret"
        if not _printable(secret):
            # Name the header, never show the value: it holds the secret.
            return f"sms.headers.{name}: the secret is not printable ASCII"
    return None


class PushSettings(BaseModel):
    """``push:`` in the configuration file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    provider: Literal["fcm", "webhook"] = "fcm"
    timeout: float = Field(default=10.0, gt=0)
    # FCM HTTP v1
    project_id: str = ""
    service_account_env: str | None = None  # variable holding the service-account JSON
    endpoint: str = "https://fcm.googleapis.com"
    token_uri: str | None = None  # overrides the service account's token_uri
    android_click_action: str | None = None  # android.notification.click_action, if used
    # generic webhook
    url: str = ""
    headers: dict[str, str] = Field(default_factory=dict)  # values may contain {secret}
    secret_env: str | None = None
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    # Requests in flight at once, like email.smtp.connections.
    concurrency: int = Field(default=1, ge=1, le=CONCURRENCY_MAX)
    # HTTP/2 when the https server offers it (ALPN; FCM does, on one multiplexed connection);
    # a server that does not is spoken to in HTTP/1.1. false: always HTTP/1.1.
    # Off by default: httpcore's synchronous HTTP/2 client was seen to raise KeyError when the
    # server closed a connection with several streams in flight (caught in push._post).
    http2: bool = False


def push_payload(
    title: str, body: str, link: str = "", data: Mapping[str, Any] | None = None
) -> bytes:
    """The bytes of a push :class:`Envelope`: UTF-8 JSON with title, body, link and data."""
    doc = {"title": title, "body": body, "link": link, "data": dict(data or {})}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class LineSettings(BaseModel):
    """``line:`` in the configuration file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    base_url: str = LINE_API
    token_env: str | None = None  # the environment variable holding the channel access token
    token_file: str | None = None  # or a file holding it (relative to the configuration file)
    timeout: float = Field(default=10.0, gt=0, le=300)
    message: str = "text"  # text | flex
    # At most this many LINE messages a calendar month (cartnudge's own count, in `timezone`).
    monthly_quota: int | None = Field(default=None, ge=1)
    # Requests in flight at once, like email.smtp.connections.
    concurrency: int = Field(default=1, ge=1, le=CONCURRENCY_MAX)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return base.http_url(value)

    @field_validator("message")
    @classmethod
    def _message_kind(cls, value: str) -> str:
        if value not in ("text", "flex"):
            raise ValueError("must be text or flex")
        return value
