"""The SMTP channel: ``email.smtp.connections`` connections per sweep, under the channel's rate
limit, retries for temporary failures only.

``open()`` connects once (plain, STARTTLS or implicit TLS, then AUTH when a username is set)
and fails loudly with :class:`ChannelError` when that is impossible: a sweep that cannot reach
its server should stop before claiming more work. ``send(batch)`` then reuses that connection
for every message and answers one :class:`SendResult` per envelope, never raising for one
message.

Every reply is classified by :func:`cartnudge.core.answers.classify_smtp` (RFC 3463 enhanced
status first, then the code, then the words). What is retried, here and now, with exponential
backoff (tenacity, at most ``max_tries``): answers temporary for the message (most 4xx), a lost
connection (reconnecting first) and timeouts. When the tries are used up the answer is
``temporary`` with the server's last words, and the sweep leaves the delivery for the next run.
An answer about our account rather than the message (a daily or submission quota, a rate limit,
our IP on a blocklist, our sender refused, even when it is a 5xx) is ``throttled``: the rest of
the batch is not tried and the sweep stops the channel for this run, nothing marked failed.
Other 5xx replies are ``permanent``; only clear evidence that the recipient is gone (5.1.1,
5.1.10, 5.2.1, "does not exist") is a hard bounce, which puts the address on the suppression
list; a bare 550 never is (servers say it when OUR IP is on a list).

Never twice: the channel runs each transaction itself (MAIL, RCPT, DATA, then the message and
its end marker) instead of ``sendmail()``, so it knows whether the end-of-data marker left the
socket. A drop or timeout *before* that (during MAIL, RCPT, the DATA command or while the message
is being written) is retried: without the final ``.`` no server can have accepted the message.
A drop or timeout *after* the marker was written but before the server's answer leaves the
message in doubt (the server may have queued it, RFC 1047), so it is answered ``in_doubt``
and never retried: cartnudge is at-most-once and reports what is in
doubt rather than risk a duplicate.

Several connections: with ``connections: N`` each batch is shared between N worker threads,
each with its own connection (opened on its first message), taking the batch's envelopes in
order from a shared counter; the results come back in envelope order. Everything above holds
per connection: a connection that drops with its message fully written answers ``in_doubt``
for that one message, while the other connections go on. A batch can therefore leave up to N
messages in doubt when the server goes away, and a crash of the process leaves the whole
batch in ``sending`` (in doubt), as with one connection.

Rate limit: before each message a worker waits for its slot of ``email.smtp.rate_limit``
(per second and per hour, over all connections). When the server answers that we are too fast
or over a quota (``throttled``) and a rate limit is configured, the channel pauses every
connection (for the answer's ``retry_after``, else the backoff) and tries the message again,
so it slows down instead of giving up; when the tries are used up it is ``throttled`` as
without a limit.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass

from tenacity import Retrying

from cartnudge.channels import base
from cartnudge.channels.base import Channel, Envelope, Result, SendResult
from cartnudge.channels.ratelimit import Limiter
from cartnudge.config import SmtpSettings
from cartnudge.core import answers
from cartnudge.core.answers import AnswerKind, classify_smtp
from cartnudge.errors import ChannelError
from cartnudge.logs import secret_forms

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0  # seconds; a cap on the exponential wait between two tries
MAX_DETAIL = 500  # characters of a server's answer kept for the delivery row

_BARE_LF = re.compile(rb"(?<!\r)\n")
_LEADING_DOT = re.compile(rb"(?m)^\.")

# Stages of one transaction, named as in the details an operator reads.
MAIL, RCPT, DATA, END_OF_DATA = "MAIL", "RCPT", "DATA", "end of data"


_ANSWER_STAGE = {
    MAIL: answers.MAIL,
    RCPT: answers.RCPT,
    DATA: answers.DATA,
    END_OF_DATA: answers.END_OF_DATA,
}


def is_hard_bounce(stage: str, code: int, text: str) -> bool:
    """Whether a refusal says the recipient is gone (suppress the address for good): the
    policy of :func:`cartnudge.core.answers.classify_smtp` (only clear recipient evidence, never
    a policy, blocklist, spam, quota or authentication answer, never a bare 550)."""
    answer = classify_smtp(code, text, _ANSWER_STAGE.get(stage, stage))
    return answer.kind is AnswerKind.RECIPIENT_GONE


def wire_bytes(data: bytes) -> bytes:
    """``data`` as SMTP DATA: CRLF line ends (RFC 5321; ``email`` writes bare LF), leading dots
    doubled (transparency, section 4.5.2), then the ``CRLF . CRLF`` end marker. The regular
    expressions run only when there is something to change (counting is C-fast; cartnudge's
    own MIME writer already writes CRLF and base64 parts without leading dots)."""
    body = data
    if body.count(b"\n") != body.count(b"\r\n"):
        body = _BARE_LF.sub(b"\r\n", body)
    if body.startswith(b".") or b"\n." in body:
        body = _LEADING_DOT.sub(b"..", body)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return body + b".\r\n"


def _text(reply: bytes | str) -> str:
    """A server's reply text on one line (multi-line replies are joined)."""
    raw = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(raw.split())


def _describe(exc: BaseException) -> str:
    """An OS or smtplib error in a few words: 'Connection refused', 'timed out'."""
    return (getattr(exc, "strerror", None) or str(exc) or type(exc).__name__).strip()


class _Retry(base.Failure):
    """A temporary failure worth another try now: 4xx, connection lost, timeout."""


class _SlowDown(_Retry):
    """The server said we are too fast (or over a quota) and a rate limit is configured: pause
    every connection, then try again."""


@dataclass
class _Lane:
    """One connection and the worker that uses it."""

    number: int
    conn: smtplib.SMTP | None = None


class SmtpChannel(Channel):
    """E-mail through an SMTP server (the operator's MTA or mail provider)."""

    name = "smtp"

    def __init__(
        self,
        settings: SmtpSettings,
        password: str | None,
        *,
        retries: base.Retries | None = None,
        connections: int | None = None,
        limiter: Limiter | None = None,
    ) -> None:
        self.settings = settings
        self._password = password
        # The password as a server might echo it: plain, base64, inside AUTH PLAIN/LOGIN.
        forms = secret_forms(password or "", username=settings.username)
        self._hidden = sorted(forms | ({password} if password else set()), key=len, reverse=True)
        self.retries = retries or base.Retries()
        self.connections = connections or settings.connections
        if self.connections < 1:
            raise ValueError("connections must be at least 1")
        rate_limit = settings.rate_limit.limit()
        self.limiter = limiter or Limiter(rate_limit, sleep=self.retries.sleep)
        self._slow_down = limiter is not None or not rate_limit.unlimited
        self._lanes = [_Lane(n) for n in range(self.connections)]
        self._workers = base.Workers(self.connections, "smtp")
        self._retrying = self.retries.retrying(
            _Retry,
            log=log,
            where=f"smtp {self.where}",
            clean=self._clean,
            wait=self.retries.exponential(MAX_BACKOFF),
        )

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def __repr__(self) -> str:
        return (
            f"SmtpChannel({self.where}, security={self.settings.security}, "
            f"connections={self.connections})"
        )

    @property
    def _conn(self) -> smtplib.SMTP | None:
        """The first connection (the only one with ``connections: 1``)."""
        return self._lanes[0].conn

    # -- connection ---------------------------------------------------------------------------

    def open(self) -> None:
        """Connect and log in once for the sweep (the first connection; the others open on
        their first message); :class:`ChannelError` if that fails."""
        lane = self._lanes[0]
        if lane.conn is None:
            lane.conn = self._connect()

    def close(self) -> None:
        """QUIT politely on every connection; a server already gone is no error here."""
        self._workers.shutdown()
        for lane in self._lanes:
            conn, lane.conn = lane.conn, None
            if conn is None:
                continue
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                pass
            finally:
                conn.close()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        conn: smtplib.SMTP | None = None
        try:
            if s.security == "tls":
                conn = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=ssl.create_default_context()
                )
            else:
                conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            conn.ehlo()
            if s.security == "starttls":
                conn.starttls(context=ssl.create_default_context())
                conn.ehlo()
            if s.username:
                if not self._password:
                    raise ChannelError(
                        f"smtp {self.where}: email.smtp.username is set but there is no "
                        "password (name its environment variable in email.smtp.password_env)"
                    )
                conn.login(s.username, self._password)
        except ChannelError:
            self._discard(conn)
            raise
        except smtplib.SMTPAuthenticationError as exc:
            self._discard(conn)
            reply = f"{exc.smtp_code} {_text(exc.smtp_error)}"
            raise self._error(f"login as {s.username!r} refused: {reply}") from None
        except smtplib.SMTPResponseException as exc:
            self._discard(conn)
            reply = f"{exc.smtp_code} {_text(exc.smtp_error)}"
            raise self._error(f"the server refused the session: {reply}") from None
        except smtplib.SMTPNotSupportedError as exc:  # no STARTTLS or no AUTH offered
            self._discard(conn)
            raise self._error(_describe(exc)) from None
        except (OSError, smtplib.SMTPException) as exc:  # refused, DNS, timeout, TLS, dropped
            self._discard(conn)
            raise self._error(f"cannot connect ({_describe(exc)})") from None
        return conn

    def _error(self, what: str) -> ChannelError:
        return ChannelError(self._clean(f"smtp {self.where}: {what}"))

    def _clean(self, text: str) -> str:
        """One line, bounded, and never the password (should a server ever echo it)."""
        text = " ".join(text.split())
        for hidden in self._hidden:
            text = text.replace(hidden, "***")
        return text[:MAX_DETAIL]

    @staticmethod
    def _discard(conn: smtplib.SMTP | None) -> None:
        """Close without QUIT: the connection's state is unknown."""
        if conn is not None:
            conn.close()

    def _drop(self, lane: _Lane) -> None:
        conn, lane.conn = lane.conn, None
        self._discard(conn)

    # -- sending ------------------------------------------------------------------------------

    def send(self, batch: Sequence[Envelope]) -> list[SendResult]:
        """One result per envelope, in order, over the sweep's connections.

        If the server cannot be reached again after a drop (every try used up and no connection
        left), the rest of the batch is answered ``temporary`` without trying: a dead server
        costs one message's retries per batch, not every message's. After a ``throttled``
        answer the rest is ``throttled``, not tried.
        """
        results, unusable = self._workers.run(batch, self._send_on_lane)
        if unusable is not None:
            self.lost = f"smtp {self.where}: server lost mid-run ({unusable})"
        return results

    def _send_on_lane(self, number: int, envelope: Envelope) -> tuple[SendResult, str | None]:
        """Send ``envelope`` on connection ``number``; when the server could not be reached
        again (temporary, no connection left), that stops the rest of the batch."""
        lane = self._lanes[number]
        result = self._send_one(lane, self._retrying.copy(), envelope)  # copy: one per thread
        lost = result.result is Result.TEMPORARY and lane.conn is None
        return result, result.detail if lost else None

    def _send_one(self, lane: _Lane, retrying: Retrying, envelope: Envelope) -> SendResult:
        try:
            return retrying(self._attempt, lane, envelope)
        except _SlowDown as exc:
            detail = self._clean(f"{exc.detail} (gave up after {self.retries.max_tries} tries)")
            return SendResult(
                envelope.delivery_id, Result.THROTTLED, detail, retry_after=exc.retry_after
            )
        except _Retry as exc:
            detail = self._clean(f"{exc.detail} (gave up after {self.retries.max_tries} tries)")
            return SendResult(envelope.delivery_id, Result.TEMPORARY, detail)

    def _attempt(self, lane: _Lane, envelope: Envelope) -> SendResult:
        """One try: SENT or PERMANENT as a result, :class:`_Retry` for what may pass."""
        if lane.conn is None:
            try:
                lane.conn = self._connect()
            except ChannelError as exc:
                raise _Retry(str(exc)) from None
        conn = lane.conn
        self.limiter.wait()
        stage = MAIL
        try:
            if conn.has_extn("pipelining"):
                stage, code, reply = self._pipelined(conn, envelope)
            else:
                code, reply = conn.mail(envelope.sender)
                if code == 250:
                    stage = RCPT
                    code, reply = conn.rcpt(envelope.recipient)
                    if code in (250, 251):
                        stage = DATA
                        code, reply = conn.docmd("data")
            if stage == DATA and code == 354:
                # send() raises unless all of it, end marker included, was written.
                conn.send(wire_bytes(envelope.data))
                stage = END_OF_DATA
                code, reply = conn.getreply()
        except UnicodeEncodeError:
            stage = MAIL if not envelope.sender.isascii() else RCPT
            # smtplib refused to write a non-ASCII address; nothing of that command was sent.
            self._reset_transaction(lane)
            return SendResult(
                envelope.delivery_id,
                Result.PERMANENT,
                f"{stage}: address is not ASCII (SMTPUTF8 is not used)",
            )
        except OSError as exc:  # smtplib.SMTPServerDisconnected, socket errors, timeouts
            self._drop(lane)
            if stage == END_OF_DATA:
                return SendResult(
                    envelope.delivery_id,
                    Result.IN_DOUBT,
                    self._clean(
                        f"in doubt: connection lost after the whole message was sent, before "
                        f"the server answered ({_describe(exc)}); not retried so that it is "
                        "never sent twice"
                    ),
                )
            raise _Retry(f"connection lost during {stage} ({_describe(exc)})") from None
        if stage == END_OF_DATA and code == 250:
            return SendResult(envelope.delivery_id, Result.SENT, self._clean(f"250 {_text(reply)}"))
        return self._refused(lane, envelope, stage, code, _text(reply))

    @staticmethod
    def _pipelined(conn: smtplib.SMTP, envelope: Envelope) -> tuple[str, int, bytes]:
        """MAIL, RCPT and DATA in one write (RFC 2920 PIPELINING, when the server offers it),
        then their three replies: one round trip instead of three before the message. Returns
        the stage that answered last and its reply: DATA with 354 when the message may follow.
        Nothing of the message has left here, so a drop is still worth a retry."""
        commands = (
            f"mail FROM:{smtplib.quoteaddr(envelope.sender)}\r\n"
            f"rcpt TO:{smtplib.quoteaddr(envelope.recipient)}\r\n"
            "data\r\n"
        ).encode("ascii")  # UnicodeEncodeError before anything is written, as in smtplib
        conn.send(commands)
        replies = [conn.getreply() for _ in range(3)]
        (mail_code, mail_reply), (rcpt_code, rcpt_reply), (data_code, data_reply) = replies
        if mail_code == 250 and rcpt_code in (250, 251):
            return DATA, data_code, data_reply
        if data_code == 354:
            # A server that opened DATA although MAIL or RCPT was refused (RFC 2920 says it
            # must not): end the empty message at once; nobody is addressed, RSET follows.
            conn.send(b".\r\n")
            conn.getreply()
        if mail_code != 250:
            return MAIL, mail_code, mail_reply
        return RCPT, rcpt_code, rcpt_reply

    def _refused(
        self, lane: _Lane, envelope: Envelope, stage: str, code: int, text: str
    ) -> SendResult:
        """A reply that is not success, by :func:`cartnudge.core.answers.classify_smtp`:
        temporary for this message (:class:`_Retry`), the channel throttled (quota, rate
        limit, our IP or sender refused: THROTTLED, the sweep stops the channel for the run),
        permanent, or permanent with the recipient gone (a hard bounce: suppressed)."""
        detail = self._clean(f"{code} {text}")
        if 400 <= code < 600:
            answer = classify_smtp(code, text, _ANSWER_STAGE[stage])
            if code == 421:  # the server is closing this connection: next try on a new one
                self._drop(lane)
            else:
                self._reset_transaction(lane)
            if answer.kind is AnswerKind.CHANNEL_THROTTLED and self._slow_down:
                # Slow down rather than give up: every connection waits, then this message is
                # tried again (nothing of it was accepted: the answer was a refusal).
                wait = min(answer.retry_after or self.retries.backoff, MAX_BACKOFF)
                self.limiter.pause(wait)
                raise _SlowDown(detail, answer.retry_after)
            if answer.kind is AnswerKind.CHANNEL_THROTTLED:
                return SendResult(
                    envelope.delivery_id,
                    Result.THROTTLED,
                    detail,
                    retry_after=answer.retry_after,
                )
            if answer.kind in (AnswerKind.TEMPORARY, AnswerKind.SENT):
                raise _Retry(detail)
            return SendResult(
                envelope.delivery_id,
                Result.PERMANENT,
                detail,
                hard_bounce=answer.kind is AnswerKind.RECIPIENT_GONE,
            )
        # Not an SMTP answer at all (smtplib says -1 for a garbled line): trust nothing more.
        self._drop(lane)
        if stage == END_OF_DATA:
            return SendResult(
                envelope.delivery_id,
                Result.IN_DOUBT,
                self._clean(f"in doubt: unexpected answer to the message ({detail}); not retried"),
            )
        raise _Retry(f"unexpected answer to {stage} ({detail})")

    def _reset_transaction(self, lane: _Lane) -> None:
        """RSET after a refusal so the connection can carry the next message."""
        if lane.conn is None:
            return
        try:
            lane.conn.rset()
        except OSError:
            self._drop(lane)
