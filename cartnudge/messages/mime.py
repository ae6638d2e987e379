"""Build RFC 5322 / MIME e-mail bytes: multipart/alternative (text + HTML), UTF-8 throughout.

Header values are stripped of control characters first (C0, DEL, C1 with NEL, and the Unicode
line and paragraph separators), so a customer or product name holding a line break can never
start a header of its own; in a display name a run of spaces is one space, as readers take it
(RFC 5322 3.2.2). Plain ASCII subjects and names are written as they are, folded at
spaces within 78 characters (RFC 5322 2.1.1); anything else (non-ASCII, a literal ``=?`` that a
reader would take for an encoded word, a word too long to fold) becomes RFC 2047 encoded words of
at most 75 characters, one per folded line. Text parts are base64, a lone CR in them made a line
break (in a text part a CR is only ever part of a line break, RFC 2046 4.1.1).

The message is written directly rather than through ``email``'s generator: message building sets
the sweep's speed, and the generator spends most of its time re-parsing headers this module has
already made safe (about 1.4k messages/s through ``email.mime``, several times that written
directly; docs/performance.md). The tests parse every message back with Python's ``email``
parser, and tests/test_mime_property.py checks arbitrary names, addresses, subjects and bodies
against the same message built by ``email.message.EmailMessage``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
MAX_HEADER_TEXT = 300  # characters kept of a display name or subject
_LONE_CR = re.compile(r"\r(?!\n)")
_SPACES = re.compile(r"  +")
MAX_LINE = 78  # RFC 5322 2.1.1: a header line SHOULD be at most 78 characters


def header_text(value: str) -> str:
    """``value`` as a safe header text: one line, no control characters, bounded length."""
    return _CONTROL.sub(" ", value).strip()[:MAX_HEADER_TEXT].rstrip()


def name_text(value: str) -> str:
    """``value`` as a display name: :func:`header_text` with each run of spaces made one, as a
    reader takes them in a name (RFC 5322 3.2.2)."""
    return _SPACES.sub(" ", header_text(value))


def message_id_for(delivery_id: int, order_id: str, sender_address: str) -> str:
    """A Message-ID derived from the delivery, so every retry of it keeps the same one."""
    domain = sender_address.rsplit("@", 1)[-1] or "cartnudge.invalid"
    safe_order = re.sub(r"[^A-Za-z0-9]", "", order_id)[:32]
    return f"<cartnudge.{delivery_id}.{safe_order}@{domain}>"


@lru_cache(maxsize=1024)  # the sender's name and repeated subjects are encoded once
def _encoded_words(text: str, header_name: str) -> str:
    """``text`` as RFC 2047 encoded words of at most 75 characters (RFC 2047 2), one word a
    folded line. Left to the generator (or to ``formataddr``), a long Japanese name became one
    encoded word however long (a header line of over 998 characters, RFC 5322 2.1.1), and a
    subject's words were up to 77 characters."""
    lines = Header(text, "utf-8", maxlinelen=76, header_name=header_name).encode().splitlines()
    return "\n ".join(line.strip() for line in lines)  # folded: one encoded word a line


# An address as it may stand in a header: ASCII, no space, no control character, no angle bracket
# or comma (which would end it and start another: "x@y>, evil@example.com").
_HEADER_ADDRESS = re.compile(r"[!#-'*+\-/-9=?A-Z^-~.]+@[A-Za-z0-9.\-]+")


def checked_address(address: str, header_name: str) -> str:
    """``address`` if it can stand in a header as one address; ValueError otherwise (naming the
    header, never the address: it is personal data)."""
    if not _HEADER_ADDRESS.fullmatch(address):
        raise ValueError(f"the {header_name} address is not a plain ASCII e-mail address")
    return address


def _plain(text: str) -> bool:
    """ASCII that a reader takes as it is: no ``=?`` that could read as an encoded word."""
    return text.isascii() and "=?" not in text


def _fold(text: str, indent: int) -> str | None:
    """Plain ``text`` folded before spaces so that no line (the first one starting ``indent``
    characters in) is longer than :data:`MAX_LINE`; None when a word is too long for that."""
    lines: list[str] = []
    line, room = "", MAX_LINE - indent
    for i, word in enumerate(text.split(" ")):
        piece = f" {word}" if i else word
        if line.strip() and len(line) + len(piece) > room:  # fold before this space
            lines.append(line)
            line, room = piece, MAX_LINE
        else:
            line += piece
    lines.append(line)
    if len(lines[0]) > MAX_LINE - indent or any(len(x) > MAX_LINE for x in lines[1:]):
        return None
    return "\n".join(lines)


def _unstructured(header_name: str, value: str) -> str:
    """A Subject-like header's value: plain and folded, or encoded words."""
    text = header_text(value)
    folded = _fold(text, len(header_name) + 2) if _plain(text) else None
    return folded if folded is not None else _encoded_words(text, header_name)


def _address(header_name: str, name: str, address: str) -> str:
    address = checked_address(address, header_name)
    text = name_text(name)
    plain = formataddr((text, address))
    if not text or (_plain(text) and len(header_name) + 2 + len(plain) <= MAX_LINE):
        return plain
    words = _encoded_words(text, header_name)
    last = words.rsplit("\n", 1)[-1] if "\n" in words else f"{header_name}: {words}"
    sep = " " if len(last) + len(address) + 3 <= MAX_LINE else "\n "  # fold before the address
    return f"{words}{sep}<{address}>"


# The sender's From and Reply-To and the sweep's Date are the same for every message of a sweep:
# each is folded or encoded once (pure functions of their arguments; a refused address raises
# every time, as exceptions are not cached).
_sender_address = lru_cache(maxsize=16)(_address)
_date_header = lru_cache(maxsize=16)(format_datetime)


_BASE64_LINE = re.compile(".{1,76}", re.S)


def _base64_lines(data: bytes) -> str:
    """``base64.encodebytes(data)`` (lines of 76, each ending in LF) in a few C calls per
    part instead of one per 57 bytes (the lines cut by one regular expression: a third faster
    than slicing them in a Python loop)."""
    if not data:
        return ""
    encoded = base64.b64encode(data).decode("ascii")
    return "\n".join(_BASE64_LINE.findall(encoded)) + "\n"


def reply_to_header(value: str) -> str:
    """``Name <address>`` or ``address`` as a Reply-To header value, the name RFC 2047 encoded
    when it is not ASCII (a Japanese name). ValueError when the address is not usable."""
    name, address = parseaddr(header_text(value))
    return _sender_address("Reply-To", name, address)


def build_email(
    *,
    subject: str,
    text: str,
    html: str,
    from_name: str,
    from_address: str,
    to_name: str,
    to_address: str,
    message_id: str,
    date: datetime,
    unsubscribe: Sequence[str],
    reply_to: str | None = None,
) -> bytes:
    """The message as bytes ready for SMTP or an ``.eml`` file (LF line ends; the SMTP channel
    sends CRLF)."""
    # A boundary derived from the Message-ID: deterministic, and no random generation per message.
    boundary = "=_cartnudge_" + hashlib.sha1(message_id.encode()).hexdigest()[:24]
    aware = date.replace(tzinfo=UTC) if date.tzinfo is None else date
    headers = [
        f'Content-Type: multipart/alternative;\n boundary="{boundary}"',
        "MIME-Version: 1.0",
        f"Subject: {_unstructured('Subject', subject)}",
        f"From: {_sender_address('From', from_name, from_address)}",
        f"To: {_address('To', to_name, to_address)}",
    ]
    if reply_to:
        headers.append(f"Reply-To: {reply_to_header(reply_to)}")
    headers += [
        f"Date: {_date_header(aware)}",
        f"Message-ID: {header_text(message_id)}",
        "List-Unsubscribe: " + ",\n ".join(f"<{header_text(u)}>" for u in unsubscribe),
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        "Auto-Submitted: auto-generated",
    ]
    parts = [
        "\n".join(headers),
        "",
        f"--{boundary}",
        _part("plain", text),
        f"--{boundary}",
        _part("html", html),
        f"--{boundary}--",
        "",
    ]
    return "\n".join(parts).encode("ascii")


def _part(subtype: str, body: str) -> str:
    """A UTF-8 text part, base64 in lines of 76 (RFC 2045 6.8). A lone CR becomes a line break
    (LF, as the other lines end; CRLF stays as it was typed)."""
    if "\r" in body:
        body = _LONE_CR.sub("\n", body)
    encoded = _base64_lines(body.encode("utf-8"))
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\n'
        "MIME-Version: 1.0\n"
        "Content-Transfer-Encoding: base64\n\n" + encoded
    )
