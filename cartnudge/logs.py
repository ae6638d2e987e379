"""Logging to stderr with personal data masked: no full e-mail address or phone number ever
reaches a log line, whoever wrote the message (our code, a driver, a server's answer)."""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
import time
from collections import deque

# Not after "//" or ":" (the user of a database URL is no customer); the last domain label
# starts with a letter (so "user@127.0.0.1" in a URL is left alone).
_EMAIL = re.compile(
    r"(?<![/:\w.%+-])([A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]*@"
    r"((?:[A-Za-z0-9\-]+\.)*[A-Za-z][A-Za-z0-9\-]*)"
)
# Phone-shaped: starts with + or a 0 (Japanese numbers do), separators - space ( ); ids and
# dates (which start with another digit) are left alone so on-call can still find rows.
_PHONE = re.compile(r"(?<![\w.])(\+\d[\d\- ()]{7,}\d|\(?0\d[\d\- ()]{6,}\d)(?![\w])")


def _mask_phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(1))
    return "***" + digits[-4:] if len(digits) >= 10 else match.group(0)


def mask_pii(text: str) -> str:
    """'hanako@example.jp' -> 'h***@example.jp'; '090-1234-5678' -> '***5678'."""
    return _PHONE.sub(_mask_phone, _EMAIL.sub(r"\1***@\2", text))


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


def setup_logging(verbosity: int, *, log_file: str | None = None, syslog: bool = False) -> None:
    """Log through :class:`MaskingFormatter`, each line with its UTC time and level
    (``2026-11-22T00:05:01Z WARNING cartnudge: ...``); ``verbosity`` is the ``-v`` count.

    Lines go to stderr, or appended to ``log_file``, or to syslog (``/dev/log``, facility
    user, tagged ``cartnudge``). A later call (``-v`` after the subcommand) keeps the
    destination. Raises OSError when ``log_file`` cannot be opened."""
    global _verbosity
    _verbosity = verbosity
    if log_file is not None or syslog:
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
