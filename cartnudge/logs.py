"""Logging to stderr with personal data masked: no full e-mail address or phone number ever
reaches a log line, whoever wrote the message (our code, a driver, a server's answer)."""

from __future__ import annotations

import base64
import logging
import logging.handlers
import os
import re
import sys
import time
from collections import deque

# Any local part (non-ASCII too: "山田@example.jp"); the last domain label starts with a letter
# (so "user@127.0.0.1" in a URL is left alone). The user of a URL is spared by _mask_email.
_EMAIL = re.compile(
    r"(?<![\w.%+\-])([\w.%+\-!#$&*=?^`{|}~])[\w.%+\-!#$&*=?^`{|}~]*@"
    r"((?:[\w\-]+\.)*[^\W\d_][\w\-]*)"
)
# Phone-shaped: starts with + or a 0 (Japanese numbers do), separators - . space ( ); ids and
# dates (which start with another digit) are left alone so on-call can still find rows.
_PHONE = re.compile(r"(?<![\w.])(\+\d[\d\-. ()]{7,}\d|\(?0\d[\d\-. ()]{6,}\d)(?![\w])")


def _mask_phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(1))
    return "***" + digits[-4:] if len(digits) >= 10 else match.group(0)


_SECRETS: set[str] = set()


def secret_forms(secret: str, *, username: str | None = None) -> set[str]:
    """``secret`` as a server might echo it back: plain, base64 (with and without padding), and
    inside the SMTP AUTH exchanges that carry it (PLAIN ``\\0user\\0secret``, LOGIN)."""
    if not secret:
        return set()
    raw = secret.encode("utf-8")
    blobs = [raw]
    if username is not None:
        user = username.encode("utf-8")
        blobs += [b"\0" + user + b"\0" + raw, user + b"\0" + raw]
    forms = {secret}
    for blob in blobs:
        encoded = base64.b64encode(blob).decode("ascii")
        forms.update({encoded, encoded.rstrip("=")})
    return {f for f in forms if len(f) >= 8}  # shorter ones would scrub ordinary words


def register_secret(secret: str, *, username: str | None = None) -> None:
    """Never let ``secret`` (in any of its :func:`secret_forms`) reach an output: every log
    line and every error line passes through :func:`scrub`."""
    _SECRETS.update(secret_forms(secret, username=username))


def scrub(text: str) -> str:
    """``text`` with every registered secret form replaced by ``***`` (longest first)."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "***")
    return text


def _mask_email(match: re.Match[str]) -> str:
    start = match.start()
    before = match.string[max(0, start - 200) : start]
    # The user (and password) of a URL is no customer: "postgresql://user@host", "//u:p@h".
    if re.search(r"//[^\s/@]*$", before):
        return match.group(0)
    return f"{match.group(1)}***@{match.group(2)}"


def mask_pii(text: str) -> str:
    """'hanako@example.jp' -> 'h***@example.jp'; '090-1234-5678' -> '***5678'; also after a
    colon ('recipient:hanako@...'), dotted numbers ('090.1234.5678') and non-ASCII addresses
    ('山田@example.jp'); registered secrets become '***'."""
    return _PHONE.sub(_mask_phone, _EMAIL.sub(_mask_email, scrub(text)))


class MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask_pii(super().format(record))


_verbosity = 0
_destination: dict[str, object] = {"log_file": None, "syslog": False}
# The last log lines of the run, for a healthcheck failure ping (already masked).
TAIL_LINES = 20
_tail: deque[str] = deque(maxlen=TAIL_LINES)

LINE_FORMAT = "%(asctime)s %(levelname)s cartnudge: %(message)s"


class _UtcFormatter(MaskingFormatter):
    converter = time.gmtime

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", self.converter(record.created))


class _TailHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        _tail.append(self.format(record))


def verbosity() -> int:
    """The ``-v`` count given to the command (0 without ``-v``)."""
    return _verbosity


def log_tail() -> list[str]:
    """The run's last log lines (at most :data:`TAIL_LINES`, masked), oldest first."""
    return list(_tail)


def setup_logging(
    verbosity: int, *, log_file: str | None = None, syslog: bool = False, keep: bool = False
) -> None:
    """Log through :class:`MaskingFormatter`, each line with its UTC time and level
    (``2026-11-22T00:05:01Z WARNING cartnudge: ...``); ``verbosity`` is the ``-v`` count.

    Lines go to stderr, or appended to ``log_file``, or to syslog (``/dev/log``, facility
    user, tagged ``cartnudge``). With ``keep`` (``-v`` after the subcommand) the destination
    set by the group's call stays. The file is opened at the first line written."""
    global _verbosity
    _verbosity = verbosity
    if not keep:
        _destination.update(log_file=log_file, syslog=syslog)
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler: logging.Handler
    if _destination["syslog"]:
        from logging.handlers import SysLogHandler

        address = "/dev/log" if os.path.exists("/dev/log") else ("localhost", 514)
        handler = SysLogHandler(address=address)
        handler.setFormatter(MaskingFormatter("cartnudge[%(process)d]: %(levelname)s %(message)s"))
    elif _destination["log_file"]:
        handler = logging.FileHandler(str(_destination["log_file"]), encoding="utf-8", delay=True)
        handler.setFormatter(_UtcFormatter(LINE_FORMAT))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_UtcFormatter(LINE_FORMAT))
    tail = _TailHandler()
    tail.setFormatter(_UtcFormatter(LINE_FORMAT))
    root = logging.getLogger("cartnudge")
    for old in root.handlers:
        if isinstance(old, logging.FileHandler | logging.handlers.SysLogHandler):
            old.close()
    root.handlers[:] = [handler, tail]
    root.setLevel(level)
    root.propagate = False
