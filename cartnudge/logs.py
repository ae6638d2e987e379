"""Logging to stderr with personal data masked: no full e-mail address or phone number ever
reaches a log line, whoever wrote the message (our code, a driver, a server's answer)."""

from __future__ import annotations

import logging
import re
import sys

_EMAIL = re.compile(r"([A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]*@([A-Za-z0-9.\-]+\.[A-Za-z]{2,})")
_PHONE = re.compile(r"(?<![\d-])(\+?\d[\d\- ]{7,}\d)(?![\d-])")


def mask_pii(text: str) -> str:
    """'hanako@example.jp' -> 'h***@example.jp'; '090-1234-5678' -> '***5678'."""
    text = _EMAIL.sub(r"\1***@\2", text)
    return _PHONE.sub(lambda m: "***" + re.sub(r"\D", "", m.group(1))[-4:], text)


class MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask_pii(super().format(record))


def setup_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(MaskingFormatter("cartnudge: %(levelname)s: %(message)s"))
    root = logging.getLogger("cartnudge")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
