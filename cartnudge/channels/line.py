"""The LINE channel: the LINE Messaging API's push message, one client per sweep.

``POST {line.base_url}/v2/bot/message/push`` with ``{"to": <user id>, "messages": [...]}`` and
the channel access token as a bearer token (from ``line.token_env`` or ``line.token_file``,
never from the configuration file). ``Envelope.recipient`` is the shopper's LINE user id
(``U`` and 32 hex digits, from the contract's optional ``line_user_id`` column) and
``Envelope.data`` the UTF-8 JSON list of message objects that
:func:`cartnudge.messages.compose.line_envelope` builds (a text message, or a flex message with
its text as ``altText``).

Every request carries ``X-Line-Retry-Key``: a UUID derived from the delivery's message id, the
same on every try of the same delivery. LINE accepts a key once and answers a repeat with 409
"The retry key is already accepted" (taken as sent), so a push whose answer was lost may be
repeated without reaching the shopper twice. That is why a timeout or a lost connection after
the request left is retried here (up to ``max_tries``), and only then left ``in_doubt``.

With ``line.concurrency: N`` a batch is sent by N threads on the sweep's client
(:class:`cartnudge.channels.base.Workers`, up to N keep-alive connections), each request with
its own retry key; the results come back in envelope order.

Answers are classified by :func:`cartnudge.core.answers.classify_line`:

- ``SENT``: sent (409 with the retry key too).
- ``TEMPORARY`` (5xx): retried here with exponential backoff under the same retry key, then
  ``temporary`` (a later sweep tries again, still under the same key).
- ``CHANNEL_THROTTLED`` (401/403: the token or the plan; 429: the rate limit, or "You have
  reached your monthly limit."): this message and the rest of the batch ``temporary``, the rest
  not tried; :attr:`LineChannel.stopped` says why, so the sweep stops LINE for the run, and
  :attr:`LineChannel.monthly_limit` is set when it was the month's message limit.
- ``RECIPIENT_GONE`` (400 invalid ``to``): ``permanent`` with ``hard_bounce``: the sweep puts
  the user id on the LINE suppression list.
- ``PERMANENT``: ``permanent``.

A user who blocked the account is answered 200 by LINE (LINE's FAQ): cartnudge cannot see it in
the answer. The shop learns it from the ``unfollow`` webhook event and returns
``line_consent`` false (or the operator puts the user id on the suppression list).

The token never appears in a detail, an exception or a log line.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from typing import Any

import httpx

from cartnudge.channels import base
from cartnudge.channels.base import Channel, Envelope, Result, SendResult
from cartnudge.channels.settings import LINE_API, MAX_TEXT, LineSettings  # noqa: F401
from cartnudge.core.answers import AnswerKind, classify_line
from cartnudge.errors import ChannelError

log = logging.getLogger(__name__)

PUSH_PATH = "/v2/bot/message/push"
INFO_PATH = "/v2/bot/info"  # the bot's own profile: read by check, proves the token
MAX_DETAIL = 500
MAX_BACKOFF = 30.0
USER_AGENT = "cartnudge-line"
# The namespace of the retry keys: uuid5(namespace, message id) is stable per delivery.
RETRY_KEY_NAMESPACE = uuid.UUID("6f1d2a52-8d0c-5b8e-9a53-0c6e4c1f2b77")


def retry_key(message_id: str, user_id: str) -> str:
    """The ``X-Line-Retry-Key`` of a delivery: a UUID, the same for every try of it (the
    delivery's message id and the user id it goes to, so that another installation's delivery
    with the same number is never taken for a repeat)."""
    return str(uuid.uuid5(RETRY_KEY_NAMESPACE, f"{message_id}/{user_id}"))


def valid_user_id(user_id: str) -> bool:
    """A LINE user id as the Messaging API gives it: ``U`` and 32 lower-case hex digits."""
    return (
        len(user_id) == 33
        and user_id[0] == "U"
        and all(c in "0123456789abcdef" for c in user_id[1:])
    )


def _describe(exc: BaseException) -> str:
    words = " ".join(str(exc).split())
    return f"{type(exc).__name__} ({words})" if words else type(exc).__name__


class LineChannel(Channel):
    """Push messages through the LINE Messaging API."""

    name = "line"

    def __init__(
        self,
        settings: LineSettings,
        token: str | None,
        *,
        retries: base.Retries | None = None,
    ) -> None:
        self.settings = settings
        self._token = (token or "").strip()
        self.retries = retries or base.Retries()
        self._client: httpx.Client | None = None
        self._workers = base.Workers(settings.concurrency, "line")
        self.stopped: str | None = None  # why LINE takes nothing more this run
        self.monthly_limit = False  # LINE answered "You have reached your monthly limit."

    def __repr__(self) -> str:
        return f"LineChannel({httpx.URL(self.settings.base_url).host})"

    def _clean(self, text: str) -> str:
        if self._token:
            text = text.replace(self._token, "***")
        return " ".join(text.split())[:MAX_DETAIL]

    def open(self) -> None:
        """Check the token is there and start the sweep's client (:class:`ChannelError`)."""
        if self._client is not None:
            return
        if not self._token:
            raise ChannelError(
                "line: no channel access token (set line.token_env or line.token_file)"
            )
        if any(c in self._token for c in "\r\n\0 "):
            raise ChannelError("line: the channel access token contains spaces or line breaks")
        self._client = base.http_client(
            timeout=self.settings.timeout,
            headers={"User-Agent": USER_AGENT},
            concurrency=self.settings.concurrency,
        )

    def close(self) -> None:
        self._workers.shutdown()
        client, self._client = self._client, None
        if client is not None:
            client.close()

    @property
    def url(self) -> str:
        return self.settings.base_url.rstrip("/") + PUSH_PATH

    def probe(self) -> str:
        """For ``cartnudge check``: read the bot's own information (``GET /v2/bot/info``),
        which proves the channel access token and sends nothing; what was checked (one line),
        or :class:`ChannelError` (never the token)."""
        self.open()
        assert self._client is not None
        host = httpx.URL(self.settings.base_url).host
        try:
            response = self._client.get(
                self.settings.base_url.rstrip("/") + INFO_PATH,
                headers={"Authorization": f"Bearer {self._token}"},
            )
        except httpx.HTTPError as exc:
            raise ChannelError(
                self._clean(f"line {host}: not reachable ({_describe(exc)})")
            ) from None
        if response.status_code in (401, 403):
            raise ChannelError(
                f"line {host}: the channel access token was refused ({response.status_code})"
            )
        if response.status_code != 200:
            raise ChannelError(
                self._clean(f"line {host}: {INFO_PATH} answered {response.status_code}")
            )
        return f"line {host} (reachable, channel access token accepted)"

    def send(self, batch: Sequence[Envelope]) -> list[SendResult]:
        """One result per envelope, in order. Once LINE refuses the channel itself (token,
        plan, rate or monthly limit), the rest of the batch is ``temporary``, not tried."""
        if not batch:
            return []
        refused = base.open_or_refuse(self, batch) if self._client is None else []
        if refused:
            return refused
        results, _ = self._workers.run(batch, self._send_or_stop)
        return results

    def _send_or_stop(self, worker: int, envelope: Envelope) -> tuple[SendResult, str | None]:
        """The result, and why LINE takes nothing more this run, if it said so."""
        if self.stopped is not None:  # by an earlier batch
            detail = f"not tried: {self.stopped}"
            return SendResult(envelope.delivery_id, Result.TEMPORARY, detail, tried=False), None
        result = self._send_one(envelope)
        return result, self.stopped

    def _body(self, envelope: Envelope) -> bytes | None:
        try:
            messages = json.loads(envelope.data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        if not isinstance(messages, list) or not 1 <= len(messages) <= 5:
            return None
        doc = {"to": envelope.recipient.strip(), "messages": messages}
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def _send_one(self, envelope: Envelope) -> SendResult:
        body = self._body(envelope)
        if body is None:
            return SendResult(envelope.delivery_id, Result.PERMANENT, "malformed LINE messages")
        if not valid_user_id(envelope.recipient.strip()):
            return SendResult(envelope.delivery_id, Result.PERMANENT, "not a LINE user id")
        assert self._client is not None
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Content-Type": "application/json; charset=utf-8",
            "X-Line-Retry-Key": retry_key(
                envelope.message_id or str(envelope.delivery_id), envelope.recipient.strip()
            ),
        }
        last = ""
        max_tries = self.retries.max_tries
        for attempt in range(1, max_tries + 1):
            if attempt > 1:
                self.retries.sleep(min(MAX_BACKOFF, self.retries.backoff * 2 ** (attempt - 2)))
            try:
                response = self._client.post(self.url, content=body, headers=headers)
            except httpx.TransportError as exc:
                # Whether or not it left, the retry key makes another try safe.
                last = self._clean(f"no answer: {_describe(exc)}")
                lost = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if attempt == max_tries:
                    kind = Result.IN_DOUBT if lost else Result.TEMPORARY
                    return SendResult(
                        envelope.delivery_id, kind, f"{last} (gave up after {attempt} tries)"
                    )
                continue
            result = self._answer(envelope, response)
            if result is not None:
                return result
            last = self._clean(f"{response.status_code} {self._text(response)}")
        return SendResult(
            envelope.delivery_id, Result.TEMPORARY, f"{last} (gave up after {max_tries} tries)"
        )

    @staticmethod
    def _text(response: httpx.Response) -> str:
        try:
            return " ".join(response.text.split())[:200]
        except (UnicodeDecodeError, LookupError):
            return ""

    def _answer(self, envelope: Envelope, response: httpx.Response) -> SendResult | None:
        """The result for LINE's answer, or None to try again (a 5xx)."""
        body: Any
        try:
            body = response.json()
        except ValueError:
            body = self._text(response)
        answer = classify_line(response.status_code, body, dict(response.headers))
        status = response.status_code
        words = self._text(response)
        detail = self._clean(f"{status} {answer.reason}" + (f": {words}" if words else ""))
        if answer.kind is AnswerKind.SENT:
            request_id = response.headers.get("x-line-request-id", "")
            return SendResult(
                envelope.delivery_id,
                Result.SENT,
                self._clean(f"{status} {request_id}".strip()),
            )
        if answer.kind is AnswerKind.TEMPORARY:
            log.info("line: %s; trying again", detail)
            return None
        if answer.kind is AnswerKind.CHANNEL_THROTTLED:
            self.stopped = detail
            self.monthly_limit = answer.reason.startswith("monthly")
            log.warning("line: %s: no more LINE messages this run", detail)
            return SendResult(envelope.delivery_id, Result.TEMPORARY, detail)
        return SendResult(
            envelope.delivery_id,
            Result.PERMANENT,
            detail,
            hard_bounce=answer.kind is AnswerKind.RECIPIENT_GONE,
        )
