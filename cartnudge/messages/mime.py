"""Build RFC 5322 / MIME e-mail bytes: multipart/alternative (text + HTML), UTF-8 throughout.

Header values are stripped of control characters first, so a customer or product name holding
CR/LF can never start a header of its own; non-ASCII names and subjects become RFC 2047 encoded
words of at most 75 characters, one per folded line. The message is written directly rather
than through ``email``'s generator: message building sets the sweep's speed, and the generator
spends most of its time re-parsing headers this module has already made safe (about 1.4k
messages/s through ``email.mime``, several times that written directly; docs/performance.md).
The tests parse every message back with Python's ``email`` parser.
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

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
MAX_HEADER_TEXT = 300  # characters kept of a display name or subject


def header_text(value: str) -> str:
    """``value`` as a safe header text: one line, no control characters, bounded length."""
    return _CONTROL.sub(" ", value).strip()[:MAX_HEADER_TEXT]


def message_id_for(delivery_id: int, order_id: str, sender_address: str) -> str:
    """A Message-ID derived from the delivery, so every retry of it keeps the same one."""
    domain = sender_address.rsplit("@", 1)[-1] or "cartnudge.invalid"
    safe_order = re.sub(r"[^A-Za-z0-9]", "", order_id)[:32]
    return f"<cartnudge.{delivery_id}.{safe_order}@{domain}>"


@lru_cache(maxsize=1024)  # the sender's name and repeated subjects are encoded once
def _encoded_words(text: str, header_name: str) -> str:
    """Non-ASCII ``text`` as RFC 2047 encoded words of at most 75 characters (RFC 2047 2), joined
    by spaces where the generator folds the header, one word a line. Left to the generator (or to
    ``formataddr``), a long Japanese name became one encoded word however long (a header line of
    over 998 characters, RFC 5322 2.1.1), and a subject's words were up to 77 characters."""
    if text.isascii():
        return text
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


def _address(header_name: str, name: str, address: str) -> str:
    address = checked_address(address, header_name)
    text = header_text(name)
    if not text or text.isascii():
        return formataddr((text, address))
    return f"{_encoded_words(text, header_name)} <{address}>"


def reply_to_header(value: str) -> str:
    """``Name <address>`` or ``address`` as a Reply-To header value, the name RFC 2047 encoded
    when it is not ASCII (a Japanese name). ValueError when the address is not usable."""
    name, address = parseaddr(header_text(value))
    return _address("Reply-To", name, address)


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
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
        "MIME-Version: 1.0",
        f"Subject: {_encoded_words(header_text(subject), 'Subject')}",
        f"From: {_address('From', from_name, from_address)}",
        f"To: {_address('To', to_name, to_address)}",
    ]
    if reply_to:
        headers.append(f"Reply-To: {reply_to_header(reply_to)}")
    headers += [
        f"Date: {format_datetime(aware)}",
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
    """A UTF-8 text part, base64 in lines of 76 (RFC 2045 6.8)."""
    encoded = base64.encodebytes(body.encode("utf-8")).decode("ascii")
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\n'
        "MIME-Version: 1.0\n"
        "Content-Transfer-Encoding: base64\n\n" + encoded
    )
