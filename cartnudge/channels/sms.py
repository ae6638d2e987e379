"""The SMS channel: an HTTP gateway (a generic JSON webhook or Twilio), one client per sweep.

``open()`` checks the configuration and builds one ``httpx.Client`` for the sweep, so every
message of every batch reuses the same keep-alive connection (one TLS handshake per sweep, not
per SMS). A configuration that cannot work (enabled without a URL, Twilio without its account or
token, a header naming ``{secret}`` with no secret) fails there with a one-line
:class:`ChannelError`, before anything is claimed. ``send(batch)`` answers one
:class:`SendResult` per envelope and never raises for one message.

``Envelope.recipient`` is the E.164 number (:func:`cartnudge.core.phones.normalise_phone`),
``Envelope.data`` the UTF-8 text, footer included
(:func:`cartnudge.messages.sms_text.with_footer`). The sender is ``sms.sender`` (the gateway
account decides what it may send as).

Answers:

- 2xx: ``sent``; the detail keeps the status and the gateway's message id (``sid``/``id``).
- 500, 502 and 504: ``in_doubt``, never retried: they can come after the gateway (or a proxy
  in front of it) queued the message, and a retry would send a paid SMS twice.
- 408, 429, 503 and other 5xx: retried here with exponential backoff (tenacity, at most
  ``max_tries``),
  waiting what ``Retry-After`` asks when the gateway says (capped at :data:`MAX_WAIT`), then
  ``temporary`` with the status and a short excerpt of the answer.
- 401, 403, 404, 405, 407 and redirects (3xx, not followed): the gateway refuses the request
  itself (credentials, account or URL wrong), which is the same for every message: ``temporary``
  without retrying, and the rest of the batch is not tried. Answering ``permanent`` would burn
  a whole run's reminders on a typo.
- any other status: ``permanent`` (the gateway refuses this message: a bad number, an opt-out);
  for Twilio, an invalid or unsubscribed number is also a hard bounce.
- no answer because the connection could not be made, or broke before the whole request
  was written: retried, then ``temporary``; when the gateway was unreachable the rest of the
  batch is not tried (a dead gateway costs one message's retries per batch).
- no answer after the whole request was written (read timeout, connection reset, closed
  without a response): ``in_doubt`` and never retried. The gateway may have taken the
  message; cartnudge is at-most-once and reports what is in doubt rather than text a customer
  twice. Whether the request was fully written is known exactly, from httpcore's trace events.

Several requests at once: with ``sms.concurrency: N`` a batch is sent by N threads on the one
client (:class:`cartnudge.channels.base.Workers`; N keep-alive connections over HTTP/1.1, or
streams of one connection with ``sms.http2`` when an https gateway offers HTTP/2); the results
come back in envelope order. Every rule above holds per request: a connection that drops with
several requests in flight leaves in doubt exactly those whose whole request had left, and
retries the others. ``sms.rate_limit`` is shared by all of them (each request waits for its
slot); a 429 pauses every request of the channel for what the gateway asked.

The secret (API key or auth token, read from the environment variable ``sms.secret_env``) goes
only into headers; it and its encoded forms are scrubbed from every detail, exception and log
line, should a gateway ever echo them.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx
from tenacity import RetryCallState

from cartnudge.channels import base
from cartnudge.channels.base import Channel, Envelope, Result, SendResult
from cartnudge.channels.ratelimit import Limiter
from cartnudge.channels.settings import (  # noqa: F401 - re-exported, defined there
    DEFAULT_BODY,
    PLACEHOLDERS,
    SECRET_PLACEHOLDER,
    TWILIO_API,
    BodyTemplate,
    SmsSettings,
    settings_problem,
)
from cartnudge.core.answers import AnswerKind, classify_http
from cartnudge.core.phones import mask_phone
from cartnudge.errors import ChannelError

log = logging.getLogger(__name__)

MAX_WAIT = 60.0  # seconds; a cap on any wait between two tries, Retry-After included
MAX_DETAIL = 500  # characters of a detail kept for the delivery row
MAX_EXCERPT = 200  # characters of the gateway's answer body quoted in a detail
MAX_BODY = 64 * 1024  # bytes of an answer read at most (a gateway's answers are small)

RETRIED = frozenset({408, 429, 503})  # answered before the gateway took the message
# Answers that may come after a gateway (or the proxy in front of it) queued the message: a
# retry could send a paid SMS twice, so they are in doubt (never retried, reported).
AMBIGUOUS = frozenset({500, 502, 504})
SETUP_REFUSED = frozenset({401, 403, 404, 405, 407})
# Twilio error codes that mean "this number will never take our SMS": suppress it.
# 21211 invalid 'To' number, 21614 not a mobile number, 21610 the recipient replied STOP.
TWILIO_HARD_BOUNCES = frozenset({21211, 21614, 21610})

_E164 = re.compile(r"\+[1-9]\d{6,14}")


# -- helpers ------------------------------------------------------------------------------------


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header as seconds to wait (RFC 9110 10.2.3: delay-seconds or an
    HTTP-date), ``None`` when absent or unreadable. Never negative; not capped here."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP-date is GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _describe(exc: BaseException) -> str:
    """A transport error in a few words: 'ConnectError: [Errno 111] Connection refused'."""
    words = _one_line(str(exc))
    return f"{type(exc).__name__}: {words}" if words else type(exc).__name__


class _Progress:
    """httpcore's trace hook: knows whether the whole request left, which decides between
    "retry" (the gateway cannot have it) and "in doubt" (it may)."""

    def __init__(self) -> None:
        self.request_sent = False

    def __call__(self, event: str, info: Mapping[str, Any]) -> None:
        if event.endswith("send_request_body.complete"):
            self.request_sent = True


class _Retry(base.Failure):
    """A failure worth another try now: 408, 429, 5xx, no connection."""

    def __init__(
        self,
        detail: str,
        *,
        retry_after: float | None = None,
        stops_batch: bool = False,
        throttled: bool = False,
        unreachable: bool = False,
    ) -> None:
        super().__init__(detail, retry_after, stops_batch=stops_batch)
        self.throttled = throttled  # the gateway's rate limit: after the last try, THROTTLED
        self.unreachable = unreachable  # no connection after the last try: the channel is lost


# -- the channel --------------------------------------------------------------------------------


class SmsChannel(Channel):
    """SMS through an HTTP gateway (a JSON webhook or Twilio's Messages API)."""

    name = "sms"

    def __init__(
        self,
        settings: SmsSettings,
        secret: str | None,
        *,
        retries: base.Retries | None = None,
        limiter: Limiter | None = None,
    ) -> None:
        self.settings = settings
        self._secret = secret or None
        self.retries = retries or base.Retries()
        # sms.rate_limit: every request waits for its slot, over all concurrent requests.
        self.limiter = limiter or Limiter(settings.rate_limit.limit(), sleep=self.retries.sleep)
        self._workers = base.Workers(settings.concurrency, "sms")
        self._client: httpx.Client | None = None
        self._endpoint = settings.endpoint()
        self._template = BodyTemplate(settings.body)
        self._headers = {
            name: value.replace(SECRET_PLACEHOLDER, self._secret or "")
            for name, value in settings.headers.items()
        }
        self._hidden = self._hidden_forms()
        self._backoff_wait = self.retries.exponential(MAX_WAIT)
        self._retrying = self.retries.retrying(
            _Retry, log=log, where="", clean=self._clean, wait=self._wait
        )

    @property
    def where(self) -> str:
        """The gateway's origin only: a webhook URL's path or query may be a credential."""
        try:
            url = httpx.URL(self._endpoint)
        except httpx.InvalidURL:
            return "(no url)"
        if not url.host:
            return "(no url)"
        port = f":{url.port}" if url.port else ""
        return f"{url.scheme}://{url.host}{port}"

    def __repr__(self) -> str:
        return f"SmsChannel({self.settings.provider}, {self.where})"

    # -- connection ---------------------------------------------------------------------------

    def open(self) -> None:
        """Check the configuration and make the sweep's client; :class:`ChannelError` if the
        configuration cannot work. Connections are made on first use and then kept."""
        if self._client is not None:
            return
        self.check()
        headers = {"User-Agent": "cartnudge", "Accept": "application/json"}
        auth: httpx.Auth | None = None
        if self.settings.provider == "twilio":
            auth = httpx.BasicAuth(self.settings.account_sid, self._secret or "")
        else:
            headers["Content-Type"] = "application/json"
            headers.update(self._headers)
        # The client only ever requests the endpoint (no redirects followed), so a plain-http
        # endpoint can never meet a certificate: skip building a TLS context (~60 ms) for it.
        https = httpx.URL(self._endpoint).scheme == "https"
        self._client = base.http_client(
            timeout=httpx.Timeout(self.settings.timeout),
            headers=headers,
            concurrency=self.settings.concurrency,
            http2=self.settings.http2 and https,
            auth=auth,
            verify=https,
        )

    def close(self) -> None:
        """Close the client and its connections; harmless before open and when called twice."""
        self._workers.shutdown()
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def probe(self) -> str:
        """For ``cartnudge check``: open the channel and reach the gateway without sending
        anything; what was checked (one line), or :class:`ChannelError` (no secret in it).

        Twilio: the account's own resource is read (``GET .../Accounts/<sid>.json``), which
        proves the credentials. A webhook has no request that is not a message, so it gets one
        ``HEAD`` of its origin: any HTTP answer means reachable (the secret was found by
        ``open``)."""
        self.open()
        assert self._client is not None
        if self.settings.provider == "twilio":
            account = self._endpoint.removesuffix("/Messages.json") + ".json"
            request = ("GET", account)
        else:
            request = ("HEAD", self.where)
        try:
            response = self._client.request(*request)
        except httpx.HTTPError as exc:
            raise self._error(f"not reachable ({_describe(exc)})") from None
        if self.settings.provider == "twilio":
            if response.status_code in (401, 403):
                raise self._error(f"credentials refused ({response.status_code})")
            if response.status_code != 200:
                raise self._error(f"the account resource answered {response.status_code}")
            return f"sms twilio {self.where} (reachable, credentials accepted)"
        return f"sms webhook {self.where} (reachable)"

    def check(self) -> None:
        """:class:`ChannelError` (one line) if this configuration cannot send; see
        :func:`settings_problem`."""
        problem = settings_problem(self.settings, self._secret)
        if problem is not None:
            raise self._error(problem)

    def _error(self, what: str) -> ChannelError:
        return ChannelError(self._clean(f"sms {self.where}: {what}"))

    def _hidden_forms(self) -> tuple[str, ...]:
        """The secret as a gateway might echo it: plain, URL-encoded, in Basic auth, inside
        the header values it was put into. Longest first, so each is scrubbed whole."""
        if not self._secret:
            return ()
        forms = {self._secret, quote(self._secret, safe="")}
        forms.update(v for v in self._headers.values() if self._secret in v)
        if self.settings.provider == "twilio":
            pair = f"{self.settings.account_sid}:{self._secret}".encode()
            forms.add(base64.b64encode(pair).decode("ascii"))
        return tuple(sorted(forms, key=len, reverse=True))

    def _clean(self, text: str, limit: int = MAX_DETAIL) -> str:
        """One line, bounded, and never the secret."""
        text = _one_line(text)
        for hidden in self._hidden:
            text = text.replace(hidden, "***")
        return text[:limit]

    # -- sending ------------------------------------------------------------------------------

    def send(self, batch: Sequence[Envelope]) -> list[SendResult]:
        """One result per envelope, in order, on the sweep's client (opened here if needed).

        After a failure that is the gateway's and not the message's (unreachable, rate limit
        not lifted, credentials or URL refused) the rest of the batch is answered ``temporary``
        without trying; the next batch tries again.
        """
        if self._client is None and batch:
            self.open()
        results, _ = self._workers.run(batch, self._send_one)
        return results

    def _send_one(self, worker: int, envelope: Envelope) -> tuple[SendResult, str | None]:
        """The result, and why the rest of the batch is not worth trying (the gateway is
        unreachable, or refuses the request itself) or ``None``."""
        refused = self._refuse_envelope(envelope)
        if refused is not None:
            return refused, None
        try:
            return self._retrying(self._attempt, envelope), None
        except _Retry as exc:
            detail = self._clean(f"{exc.detail} (gave up after {self.retries.max_tries} tries)")
            if exc.throttled:
                # Told to slow down and still refused after waiting as asked: stop the
                # channel for this run, nobody is charged or dropped.
                throttled = SendResult(
                    envelope.delivery_id, Result.THROTTLED, detail, retry_after=exc.retry_after
                )
                return throttled, None
            if exc.unreachable:
                self.lost = f"sms {self.where}: gateway lost mid-run ({detail})"
            stop = detail if exc.stops_batch else None
            return SendResult(envelope.delivery_id, Result.TEMPORARY, detail), stop

    def _refuse_envelope(self, envelope: Envelope) -> SendResult | None:
        """What no gateway could send: refused here rather than paid for."""
        if not _E164.fullmatch(envelope.recipient):
            return SendResult(
                envelope.delivery_id,
                Result.PERMANENT,
                f"recipient {mask_phone(envelope.recipient)} is not an E.164 number",
            )
        try:
            envelope.data.decode("utf-8")
        except UnicodeDecodeError:
            return SendResult(envelope.delivery_id, Result.PERMANENT, "text is not UTF-8")
        return None

    def _request(self, envelope: Envelope) -> dict[str, Any]:
        text = envelope.data.decode("utf-8")
        if self.settings.provider == "twilio":
            return {"data": {"To": envelope.recipient, "From": self.settings.sender, "Body": text}}
        values = {"to": envelope.recipient, "from": self.settings.sender, "text": text}
        return {"content": self._template.render(values)}

    def _attempt(self, envelope: Envelope) -> SendResult:
        """One try: SENT, PERMANENT, TEMPORARY or IN_DOUBT, or :class:`_Retry`."""
        assert self._client is not None
        self.limiter.wait()
        progress = _Progress()
        try:
            with self._client.stream(
                "POST",
                self._endpoint,
                extensions={"trace": progress},
                **self._request(envelope),
            ) as response:
                body, unread = self._read(response)
        except httpx.TransportError as exc:  # no status line: what happened to the request?
            if progress.request_sent:
                return SendResult(
                    envelope.delivery_id,
                    Result.IN_DOUBT,
                    self._clean(
                        f"sms {self.where}: in doubt: the whole request was sent but no answer "
                        f"came ({_describe(exc)}); not retried so that it is never sent twice"
                    ),
                )
            unreachable = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
            what = "cannot connect" if unreachable else "connection lost before the request left"
            raise _Retry(
                f"sms {self.where}: {what} ({_describe(exc)})",
                stops_batch=unreachable,
                unreachable=unreachable,
            ) from None
        return self._answer(envelope, response, body, unread)

    @staticmethod
    def _read(response: httpx.Response) -> tuple[bytes, str]:
        """The answer's body (at most MAX_BODY bytes) and, if it broke off, why. Once the
        status is known, a body that does not arrive does not change the outcome."""
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size >= MAX_BODY:
                    break
        except httpx.HTTPError as exc:
            return b"".join(chunks), _describe(exc)
        return b"".join(chunks)[:MAX_BODY], ""

    def _answer(
        self, envelope: Envelope, response: httpx.Response, body: bytes, unread: str
    ) -> SendResult:
        status = response.status_code
        # Scrubbed before it is cut: a cut could leave half a secret nobody would recognise.
        excerpt = self._clean(body.decode("utf-8", "replace"), MAX_EXCERPT)
        if unread:
            excerpt = f"{excerpt} (answer broke off: {unread})".strip()
        answer = f"{status} {response.reason_phrase}".strip()
        data = self._json(body)
        if 200 <= status < 300:
            message_id = data.get("sid") or data.get("id")
            detail = f"{answer} id {message_id}" if isinstance(message_id, str | int) else answer
            if unread:
                detail += f" (answer broke off: {unread})"
            return SendResult(envelope.delivery_id, Result.SENT, self._clean(detail))
        detail = f"sms {self.where}: {answer}" + (f": {excerpt}" if excerpt else "")
        if status in AMBIGUOUS:
            return SendResult(
                envelope.delivery_id,
                Result.IN_DOUBT,
                self._clean(f"in doubt: {detail} (the gateway may have taken it; not retried)"),
            )
        # What the answer is about (cartnudge.core.answers): Twilio's error codes first, then
        # the status; a generic webhook by its status alone.
        provider = "twilio" if self.settings.provider == "twilio" else "webhook"
        answer = classify_http(
            provider, status, data or body.decode("utf-8", "replace"), response.headers
        )
        kind = answer.kind
        if kind is AnswerKind.CHANNEL_THROTTLED:
            if status == 429 or answer.code in ("20429", "14107"):
                # A rate limit: honour Retry-After (or back off) and try again, a few times.
                # The channel slows down rather than drops: one request at a time, that wait
                # holds every later message too; with several in flight, the whole channel
                # pauses as long (every request waits for its slot of the limiter).
                self._slow_down(answer.retry_after)
                raise _Retry(detail, retry_after=answer.retry_after, throttled=True)
            return SendResult(
                envelope.delivery_id,
                Result.THROTTLED,
                self._clean(
                    f"{detail} ({answer.reason}: check sms.url, sms.account_sid, the secret and "
                    "the account)"
                ),
                retry_after=answer.retry_after,
            )
        if kind in (AnswerKind.TEMPORARY, AnswerKind.SENT):
            raise _Retry(detail, retry_after=answer.retry_after)
        return SendResult(
            envelope.delivery_id,
            Result.PERMANENT,
            self._clean(detail),
            hard_bounce=kind is AnswerKind.RECIPIENT_GONE,
        )

    def _slow_down(self, retry_after: float | None) -> None:
        """With concurrent requests, pause every one of them for what the gateway asked (else
        the backoff), capped at :data:`MAX_WAIT`."""
        if self._workers.count > 1:
            backoff = self.retries.backoff
            self.limiter.pause(min(MAX_WAIT, backoff if retry_after is None else retry_after))

    @staticmethod
    def _json(body: bytes) -> dict[str, Any]:
        try:
            data = json.loads(body)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def _wait(self, state: RetryCallState) -> float:
        """What the gateway asked for (Retry-After), else exponential backoff; capped."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retry) and exc.retry_after is not None:
            return min(exc.retry_after, MAX_WAIT)
        return float(self._backoff_wait(state))
