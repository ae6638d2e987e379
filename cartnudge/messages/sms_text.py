"""SMS text: how many segments a text costs, the footer the law asks for, a length check.

Pure functions, no I/O. Gateways bill per segment and split long texts silently, so
cartnudge counts the way the network does (3GPP TS 23.038 / GSM 03.38) and refuses a
template that would blow the configured maximum before anything is sent:

- a text made only of the GSM 7-bit default alphabet is sent as GSM-7: 160 septets in one
  segment; characters of the extension table (``€ [ ] { } \\ ^ ~ |`` and form feed) take two
  septets (an escape, then the character);
- anything else (Japanese, an emoji, ``ç``) makes the whole text UCS-2 (UTF-16): 70 code
  units in one segment, and a character outside the BMP (most emoji) takes two units;
- a longer text is sent as concatenated parts whose header takes room: 153 septets or 67
  units each. A part never ends in the middle of an escape sequence or a surrogate pair,
  as handsets and gateways do, so such a character moves to the next part whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from cartnudge.errors import TemplateError

# The GSM 03.38 default alphabet, in table order (the escape at 0x1B is left out).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# The extension table reached through the escape: two septets each.
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

DEFAULT_OPT_OUT_LABEL = "配信停止"

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True)
class SmsLength:
    """What a text costs: its encoding, its length in that encoding's units, its segments."""

    encoding: Encoding
    characters: int  # GSM septets (extension characters count 2) or UTF-16 code units
    segments: int


def is_gsm7(text: str) -> bool:
    """Whether every character of ``text`` is in the GSM default alphabet or its extension."""
    return all(c in GSM_BASIC or c in GSM_EXTENSION for c in text)


def segments(text: str) -> SmsLength:
    """How the network will carry ``text``. An empty text still costs one segment."""
    if is_gsm7(text):
        return _pack("GSM-7", (2 if c in GSM_EXTENSION else 1 for c in text), GSM_SINGLE, GSM_PART)
    return _pack("UCS-2", (2 if ord(c) > 0xFFFF else 1 for c in text), UCS2_SINGLE, UCS2_PART)


def _pack(encoding: Encoding, widths: Iterable[int], single: int, part: int) -> SmsLength:
    widths = list(widths)
    total = sum(widths)
    if total <= single:
        return SmsLength(encoding, total, 1)
    count, used = 1, 0
    for width in widths:
        if used + width > part:  # a two-unit character never straddles two parts
            count, used = count + 1, 0
        used += width
    return SmsLength(encoding, total, count)


def with_footer(
    body: str, sender_name: str, opt_out: str, *, label: str = DEFAULT_OPT_OUT_LABEL
) -> str:
    """``body`` followed by the sender's name and the way to opt out, one per line.

    SPEC 2.7: every SMS carries the sender name and a short opt-out instruction or URL
    (特定電子メール法). ``opt_out`` is a URL (``https://…/u/abc``) or an instruction
    (``STOPと返信``).
    Refuses an empty name or opt-out rather than send an unlawful message.
    """
    sender_name, opt_out = sender_name.strip(), opt_out.strip()
    if not sender_name:
        raise ValueError("an SMS needs the sender's name (sender.name)")
    if not opt_out:
        raise ValueError("an SMS needs an opt-out instruction or URL")
    return f"{body.rstrip()}\n{sender_name}\n{label}:{opt_out}"


def check_length(text: str, max_segments: int, where: str) -> SmsLength:
    """The length of ``text``; :class:`TemplateError` naming ``where`` (the template) when it
    needs more than ``max_segments`` segments, so a too-long template fails before a sweep
    sends (and pays for) it."""
    length = segments(text)
    if length.segments > max_segments:
        raise TemplateError(
            f"{where}: the SMS text needs {length.segments} segments "
            f"({length.characters} {length.encoding} units), more than the {max_segments} "
            "allowed (sms.max_segments); shorten the template"
        )
    return length
