"""Logging to stderr with personal data masked: no full e-mail address or phone number ever
reaches a log line, whoever wrote the message (our code, a driver, a server's answer)."""

from __future__ import annotations

import logging
import re
import sys

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


def verbosity() -> int:
    """The ``-v`` count given to the command (0 without ``-v``)."""
    return _verbosity


def setup_logging(verbosity: int) -> None:
    """Log to stderr through :class:`MaskingFormatter`; ``verbosity`` is the ``-v`` count."""
    global _verbosity
    _verbosity = verbosity
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(MaskingFormatter("cartnudge: %(levelname)s: %(message)s"))
    root = logging.getLogger("cartnudge")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
