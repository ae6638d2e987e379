"""The SMTP channel: one connection per sweep, retries for temporary failures only.

``open()`` connects once (plain, STARTTLS or implicit TLS, then AUTH when a username is set)
and fails loudly with :class:`ChannelError` when that is impossible: a sweep that cannot reach
its server should stop before claiming more work. ``send(batch)`` then reuses that connection
for every message and answers one :class:`SendResult` per envelope, never raising for one
message.

What is retried, here and now, with exponential backoff (tenacity, at most ``max_tries``):
4xx replies, a lost connection (reconnecting first) and timeouts. When the tries are used up the
answer is ``temporary`` with the server's last words, and the sweep leaves the delivery for the
next run. 5xx replies are ``permanent``; an unknown recipient is also a hard bounce, which puts
the address on the suppression list.

Never twice: the channel runs each transaction itself (MAIL, RCPT, DATA, then the message and
its end marker) instead of ``sendmail()``, so it knows whether the end-of-data marker left the
socket. A drop or timeout *before* that (during MAIL, RCPT, the DATA command or while the message
is being written) is retried: without the final ``.`` no server can have accepted the message.
A drop or timeout *after* the marker was written but before the server's answer leaves the
message in doubt (the server may have queued it, RFC 1047), so it is answered ``in_doubt``
and never retried: cartnudge is at-most-once and reports what is in
doubt rather than risk a duplicate.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from collections.abc import Sequence

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from cartnudge.channels import base
from cartnudge.channels.base import Channel, Envelope, Result, SendResult
from cartnudge.config import SmtpSettings
from cartnudge.errors import ChannelError

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0  # seconds; a cap on the exponential wait between two tries
MAX_DETAIL = 500  # characters of a server's answer kept for the delivery row

# "5.1.1" at the start of a reply's text: RFC 3463 enhanced status code (class.subject.detail).
_ENHANCED = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})(?!\S)")
# Addressing statuses that are about the sender, not the recipient: no reason to suppress.
_SENDER_STATUSES = frozenset({"5.1.7", "5.1.8"})
_BARE_LF = re.compile(rb"(?<!\r)\n")
_LEADING_DOT = re.compile(rb"(?m)^\.")

# Stages of one transaction, named as in the details an operator reads.
MAIL, RCPT, DATA, END_OF_DATA = "MAIL", "RCPT", "DATA", "end of data"


def is_hard_bounce(stage: str, code: int, text: str) -> bool:
    """Whether a refusal says the recipient does not exist (suppress the address for good).

    An enhanced status code decides when there is one: 5.1.x (addressing) except the sender's
    own 5.1.7/5.1.8; so ``550 5.7.1 relaying denied`` is not the customer's fault. Without one, a
    bare 550 to RCPT is taken as "no such user". Refusals of MAIL FROM concern our sender.
    """
    if stage == MAIL or not 500 <= code < 600:
        return False
    enhanced = _ENHANCED.match(text)
    if enhanced:
        status = ".".join(enhanced.groups())
        return status.startswith("5.1.") and status not in _SENDER_STATUSES
    return stage == RCPT and code == 550


def wire_bytes(data: bytes) -> bytes:
    """``data`` as SMTP DATA: CRLF line ends (RFC 5321; ``email`` writes bare LF), leading dots
    doubled (transparency, section 4.5.2), then the ``CRLF . CRLF`` end marker."""
    body = _LEADING_DOT.sub(b"..", _BARE_LF.sub(b"\r\n", data))
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


class SmtpChannel(Channel):
    """E-mail through an SMTP server (the operator's MTA or mail provider)."""

    name = "smtp"

    def __init__(
        self,
        settings: SmtpSettings,
        password: str | None,
        *,
        max_tries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        self.settings = settings
        self._password = password
        self.max_tries = base.check_tries(max_tries)
        self.backoff = backoff
        self._conn: smtplib.SMTP | None = None
        self._retrying = Retrying(
            stop=stop_after_attempt(max_tries),
            wait=wait_exponential(multiplier=backoff, max=MAX_BACKOFF),
            retry=retry_if_exception_type(_Retry),
            before_sleep=base.log_retry(log, f"smtp {self.where}", self._clean, max_tries),
            reraise=True,
        )

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def __repr__(self) -> str:
        return f"SmtpChannel({self.where}, security={self.settings.security})"

    # -- connection ---------------------------------------------------------------------------

    def open(self) -> None:
        """Connect and log in once for the sweep; :class:`ChannelError` if that fails."""
        if self._conn is None:
            self._conn = self._connect()

    def close(self) -> None:
        """QUIT politely; a server already gone is no error at this point."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
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
        if self._password:
            text = text.replace(self._password, "***")
        return text[:MAX_DETAIL]

    @staticmethod
    def _discard(conn: smtplib.SMTP | None) -> None:
        """Close without QUIT: the connection's state is unknown."""
        if conn is not None:
            conn.close()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._discard(conn)

    # -- sending ------------------------------------------------------------------------------

    def send(self, batch: Sequence[Envelope]) -> list[SendResult]:
        """One result per envelope, in order, on the sweep's one connection.

        If the server cannot be reached again after a drop (every try used up and no connection
        left), the rest of the batch is answered ``temporary`` without trying: a dead server
        costs one message's retries per batch, not every message's.
        """
        results: list[SendResult] = []
        unusable: str | None = None
        for envelope in batch:
            if unusable is not None:
                results.append(
                    SendResult(envelope.delivery_id, Result.TEMPORARY, f"not tried: {unusable}")
                )
                continue
            result = self._send_one(envelope)
            if result.result is Result.TEMPORARY and self._conn is None:
                unusable = result.detail
            results.append(result)
        return results

    def _send_one(self, envelope: Envelope) -> SendResult:
        try:
            return self._retrying(self._attempt, envelope)
        except _Retry as exc:
            detail = self._clean(f"{exc.detail} (gave up after {self.max_tries} tries)")
            return SendResult(envelope.delivery_id, Result.TEMPORARY, detail)

    def _attempt(self, envelope: Envelope) -> SendResult:
        """One try: SENT or PERMANENT as a result, :class:`_Retry` for what may pass."""
        if self._conn is None:
            try:
                self._conn = self._connect()
            except ChannelError as exc:
                raise _Retry(str(exc)) from None
        conn = self._conn
        stage = MAIL
        try:
            code, reply = conn.mail(envelope.sender)
            if code == 250:
                stage = RCPT
                code, reply = conn.rcpt(envelope.recipient)
                if code in (250, 251):
                    stage = DATA
                    code, reply = conn.docmd("data")
                    if code == 354:
                        # send() raises unless all of it, end marker included, was written.
                        conn.send(wire_bytes(envelope.data))
                        stage = END_OF_DATA
                        code, reply = conn.getreply()
        except UnicodeEncodeError:
            # smtplib refused to write a non-ASCII address; nothing of that command was sent.
            self._reset_transaction()
            return SendResult(
                envelope.delivery_id,
                Result.PERMANENT,
                f"{stage}: address is not ASCII (SMTPUTF8 is not used)",
            )
        except OSError as exc:  # smtplib.SMTPServerDisconnected, socket errors, timeouts
            self._drop()
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
        return self._refused(envelope, stage, code, _text(reply))

    def _refused(self, envelope: Envelope, stage: str, code: int, text: str) -> SendResult:
        """A reply that is not success: permanent for 5xx, :class:`_Retry` for 4xx."""
        detail = self._clean(f"{code} {text}")
        if 400 <= code < 500:
            if code == 421:  # the server is closing this connection: next try on a new one
                self._drop()
            else:
                self._reset_transaction()
            raise _Retry(detail)
        if 500 <= code < 600:
            self._reset_transaction()
            return SendResult(
                envelope.delivery_id,
                Result.PERMANENT,
                detail,
                hard_bounce=is_hard_bounce(stage, code, text),
            )
        # Not an SMTP answer at all (smtplib says -1 for a garbled line): trust nothing more.
        self._drop()
        if stage == END_OF_DATA:
            return SendResult(
                envelope.delivery_id,
                Result.IN_DOUBT,
                self._clean(f"in doubt: unexpected answer to the message ({detail}); not retried"),
            )
        raise _Retry(f"unexpected answer to {stage} ({detail})")

    def _reset_transaction(self) -> None:
        """RSET after a refusal so the connection can carry the next message."""
        if self._conn is None:
            return
        try:
            self._conn.rset()
        except OSError:
            self._drop()
