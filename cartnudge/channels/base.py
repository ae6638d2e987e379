"""One interface for every channel: send a batch, get back one result per message.

Like Django's mail backends: ``open()`` once per sweep, ``send(batch)`` many times, ``close()``;
usable as a context manager. A channel never raises for one bad message: it answers
``temporary`` or ``permanent`` for it with the server's words, and the sweep records that.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import TYPE_CHECKING

from cartnudge.errors import ChannelError

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    import httpx
    from tenacity import RetryCallState, Retrying


class Result(StrEnum):
    SENT = "sent"
    TEMPORARY = "temporary"  # worth another try later (4xx, connection lost, timeout)
    PERMANENT = "permanent"  # never worth another try (5xx, invalid recipient)
    IN_DOUBT = "in_doubt"  # may or may not have been delivered: never tried again
    # The channel refused for every message (quota, rate limit, account, credentials): stop
    # handing it messages for this run; the message waits for the next sweep, no attempt charged.
    THROTTLED = "throttled"


@dataclass(frozen=True)
class Envelope:
    """One message ready to leave: who it goes to and the bytes of it."""

    delivery_id: int
    recipient: str
    sender: str
    message_id: str
    data: bytes  # RFC 5322 bytes for e-mail; UTF-8 text for SMS; JSON for push
    subject: str = ""


@dataclass(frozen=True)
class SendResult:
    delivery_id: int
    result: Result
    detail: str = ""  # the server's answer, for the delivery row
    hard_bounce: bool = False  # the recipient does not exist: put it on the suppression list
    # False when the message was never handed to the server ("not tried: ..."): no attempt is
    # charged for it.
    tried: bool = True
    retry_after: float | None = None  # seconds, when the server said how long to wait


class Failure(Exception):
    """A failure a channel handles itself. ``detail``: one line for the delivery row or the
    log, already free of secrets; ``retry_after``: the seconds the server asked to wait, if it
    did; ``stops_batch``: after the last try, do not try the rest of the batch."""

    def __init__(
        self, detail: str, retry_after: float | None = None, *, stops_batch: bool = False
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after
        self.stops_batch = stops_batch


def not_tried(envelope: Envelope, throttled: SendResult) -> SendResult:
    """The result of an envelope left untried because the channel was throttled earlier in the
    batch by ``throttled``: ``throttled`` again, nothing charged, the same wait."""
    return SendResult(
        envelope.delivery_id,
        Result.THROTTLED,
        f"not tried: channel throttled: {throttled.detail}",
        tried=False,
        retry_after=throttled.retry_after,
    )


@dataclass(frozen=True)
class Retries:
    """How a channel tries a message again after a temporary failure, within one sweep: at
    most ``max_tries`` tries in all, waiting ``backoff`` seconds before the second and twice as
    long before each next one (exponential, capped by the channel; a server's Retry-After may
    ask for more), slept with ``sleep`` (tests pass one that records the waits). The rate
    limit's waits use the same ``sleep``. :class:`ValueError` when ``max_tries`` is below 1."""

    max_tries: int = 3
    backoff: float = 0.5  # seconds
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        if self.max_tries < 1:
            raise ValueError("max_tries must be at least 1")

    def exponential(self, cap: float) -> Callable[[RetryCallState], float]:
        """The exponential wait from ``backoff``, at most ``cap`` seconds (a tenacity wait)."""
        from tenacity import wait_exponential

        return wait_exponential(multiplier=self.backoff, max=cap)

    def retrying(
        self,
        failure: type[BaseException],
        *,
        log: logging.Logger,
        where: str,
        clean: Callable[[str], str],
        wait: Callable[[RetryCallState], float],
        stop: Callable[[RetryCallState], bool] | None = None,
    ) -> Retrying:
        """A tenacity ``Retrying`` that tries again on ``failure`` (re-raised after the last
        try), waits ``wait``, stops after ``max_tries`` tries (or when ``stop`` says) and logs
        each retry with :func:`log_retry`."""
        from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

        return Retrying(
            stop=stop or stop_after_attempt(self.max_tries),
            wait=wait,
            retry=retry_if_exception_type(failure),
            before_sleep=log_retry(log, where, clean, self.max_tries),
            sleep=self.sleep,
            reraise=True,
        )


def log_retry(
    log: logging.Logger, where: str, clean: Callable[[str], str], max_tries: int
) -> Callable[[RetryCallState], None]:
    """A tenacity ``before_sleep`` hook: one INFO line "WHERE: WHY; try N of M", the failure
    passed through ``clean`` (which removes secrets). ``where`` may be empty."""

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        why = clean(str(exc))
        log.info(
            "%s%s; try %d of %d",
            f"{where}: " if where else "",
            why,
            state.attempt_number + 1,
            max_tries,
        )

    return before_sleep


def open_or_refuse(channel: Channel, batch: Sequence[Envelope]) -> list[SendResult]:
    """Open ``channel`` for ``batch`` (``open()`` is idempotent): nothing when that works, else
    every envelope ``temporary`` with "not tried: WHY", since a channel never raises for a
    batch. Raises only what ``open()`` raises besides :class:`ChannelError`."""
    try:
        channel.open()
    except ChannelError as exc:
        return [SendResult(e.delivery_id, Result.TEMPORARY, f"not tried: {exc}") for e in batch]
    return []


# One envelope sent by worker N: its result and, when nothing more of the batch is worth trying
# (the server is gone, the credentials or the URL are refused), why.
SendOne = Callable[[int, Envelope], tuple[SendResult, str | None]]


@dataclass
class _BatchState:
    """What the workers of one batch share: the next envelope to take, and whether the rest of
    the batch is still worth trying."""

    next_index: int = 0
    throttled: SendResult | None = None
    stopped: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class Workers:
    """Up to ``count`` threads sending one batch together (``email.smtp.connections``,
    ``sms.concurrency``, ``push.concurrency``, ``line.concurrency``).

    Each worker takes the batch's envelopes in order from a shared counter and sends each with
    ``send_one(worker number, envelope)``; the results come back in envelope order. After a
    ``throttled`` result the envelopes not yet taken are answered ``throttled`` ("not tried:",
    :func:`not_tried`); after a result that stops the batch they are ``temporary`` with
    "not tried: WHY". Envelopes already taken by other workers are finished normally. With one
    worker (or one envelope) everything runs in the calling thread; the threads are started on
    the first batch that needs them and kept for the sweep (:meth:`shutdown`)."""

    def __init__(self, count: int, name: str) -> None:
        if count < 1:
            raise ValueError(f"{name}: the number of concurrent sends must be at least 1")
        self.count = count
        self._name = name
        self._pool: ThreadPoolExecutor | None = None

    def run(
        self, batch: Sequence[Envelope], send_one: SendOne
    ) -> tuple[list[SendResult], str | None]:
        """(one result per envelope, in order; why the batch was stopped, or ``None``).
        Raises what ``send_one`` raises."""
        results: list[SendResult | None] = [None] * len(batch)
        state = _BatchState()
        workers = min(self.count, len(batch))
        if workers <= 1:
            self._work(0, batch, send_one, results, state)
        else:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor  # here: most sweeps need none

                self._pool = ThreadPoolExecutor(self.count, thread_name_prefix=self._name)
            futures = [
                self._pool.submit(self._work, n, batch, send_one, results, state)
                for n in range(workers)
            ]
            for future in futures:
                future.result()
        done = [r for r in results if r is not None]
        assert len(done) == len(batch), "every envelope has a result"
        return done, state.stopped

    @staticmethod
    def _work(
        number: int,
        batch: Sequence[Envelope],
        send_one: SendOne,
        results: list[SendResult | None],
        state: _BatchState,
    ) -> None:
        """One worker: take the next envelope until none is left, send it."""
        while True:
            with state.lock:
                index = state.next_index
                if index >= len(batch):
                    return
                state.next_index += 1
                throttled, stopped = state.throttled, state.stopped
            envelope = batch[index]
            if throttled is not None:
                results[index] = not_tried(envelope, throttled)
                continue
            if stopped is not None:
                results[index] = SendResult(
                    envelope.delivery_id, Result.TEMPORARY, f"not tried: {stopped}", tried=False
                )
                continue
            result, stop = send_one(number, envelope)
            results[index] = result
            with state.lock:
                if result.result is Result.THROTTLED:
                    state.throttled = state.throttled or result
                elif stop is not None:
                    state.stopped = state.stopped or stop

    def shutdown(self) -> None:
        """Let the threads finish and end them; harmless when none were started."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


def http_client(
    *,
    timeout: float | httpx.Timeout,
    headers: dict[str, str],
    concurrency: int = 1,
    http2: bool = False,
    **more: object,
) -> httpx.Client:
    """The sweep's HTTP client for a channel: keep-alive connections for ``concurrency``
    requests in flight, and one more for a request beside the messages (an access token, a
    probe), redirects never followed (a redirected POST is a misconfigured URL, not a send),
    HTTP/2 when ``http2`` and the https server offers it (ALPN). ``more``: other
    :class:`httpx.Client` arguments (``auth``, ``verify``)."""
    import httpx  # here: the outbox and in-memory channels never need it

    return httpx.Client(
        timeout=timeout,
        headers=headers,
        follow_redirects=False,
        limits=httpx.Limits(max_connections=concurrency + 1, max_keepalive_connections=concurrency),
        http2=http2,
        **more,  # type: ignore[arg-type]
    )


def http_url(value: str) -> str:
    """``value`` when it is an http:// or https:// URL with a host; :class:`ValueError` (for a
    pydantic validator) otherwise."""
    import httpx  # here: the outbox and in-memory channels never need it

    try:
        url = httpx.URL(value)
    except httpx.InvalidURL:
        raise ValueError("is not a URL") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value


class Channel:
    """Base class; subclasses implement :meth:`send` and, if they hold a connection,
    :meth:`open` and :meth:`close`."""

    name = "base"
    # Set by a channel that lost its server for good in the middle of a run (reconnecting
    # failed): the sweep stops handing it messages and exits as if it were lost at the start.
    lost: str | None = None

    def open(self) -> None:  # noqa: B027 - optional hook
        """Open connections; called once per sweep before the first batch."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; always called, even after an error."""

    def send(self, batch: Sequence[Envelope]) -> list[SendResult]:
        raise NotImplementedError

    def __enter__(self) -> Channel:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
