"""Phone numbers as the SMS channel needs them: E.164 (``+819012345678``) or nothing.

Shoppers type numbers every which way (``090-1234-5678``, full-width ``０９０－１２３４－５６７８``,
``+81 90 ...``); gateways want E.164 and charge for what they cannot deliver. So a number is
normalised once, with Google's libphonenumber metadata (``phonenumbers``), and anything that
is not a real, dialable number becomes ``None``: the sweep then skips the SMS with a reason
instead of paying for a certain failure. Logs and reports show numbers masked.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

# What people put between digits. After NFKC (full-width -> ASCII) a few Japanese marks
# remain: the katakana long-vowel mark and wave dash are often typed as hyphens.
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−ー~～〜.()/・]+")
_SHAPE = re.compile(r"\+?\d{2,20}")
_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


def normalise_phone(
    raw: str | None, region: str = "JP", *, mobile_only: bool = False
) -> str | None:
    """``raw`` as E.164, or ``None`` when it is empty, has letters or is not a valid number.

    ``region`` is where numbers without a country code are dialled (the shop's country).
    ``mobile_only`` also refuses numbers that cannot take an SMS (landlines, for instance
    ``03-1234-5678``); where the numbering plan cannot tell, the number is kept.
    """
    if raw is None:
        return None
    text = unicodedata.normalize("NFKC", raw).strip()
    compact = _SEPARATORS.sub("", text)
    # Letters are refused outright: libphonenumber would read "0120-ABC-DEF" as a vanity
    # number and "ext 1" as an extension, neither of which an SMS can be sent to.
    if not _SHAPE.fullmatch(compact):
        return None
    try:
        number = phonenumbers.parse(compact, region)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    if mobile_only and phonenumbers.number_type(number) not in _MOBILE_TYPES:
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def mask_phone(e164: str | None) -> str:
    """The last four digits only (``***5678``): enough for an operator to recognise a
    number in a log or report, too little to text it."""
    digits = "".join(c for c in (e164 or "") if c.isdigit())
    return "***" + digits[-4:] if len(digits) > 4 else "***"
