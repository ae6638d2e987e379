"""Logging to stderr with personal data masked: no full e-mail address or phone number ever
reaches a log line, whoever wrote the message (our code, a driver, a server's answer)."""

from __future__ import annotations

import base64
import logging
import re
import sys

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
