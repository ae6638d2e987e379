"""Conversions of the shop's values into what cartnudge uses inside, done once, in the reader.

Real shop databases hold every kind of value (README, "The shop contract"): ids as integers or
text, money as INTEGER, DECIMAL/NUMERIC, float or text, timestamps naive (local or UTC) or with a
time zone, text that is not valid UTF-8, consent as ``'N'``. Each function here takes one value
as the driver returned it and either gives the one form cartnudge uses (naive UTC datetimes,
money in the shop's minor unit as an ``int``, ``str`` ids, strict booleans) or raises
:class:`BadValue` naming the column and the skip reason, so the row becomes a counted skip and
never stops a command.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

# cartnudge's state columns for money are 64-bit; amounts beyond this are refused.
MAX_AMOUNT = 2**63 - 1
# Timestamps outside these years are not a shop's real times (year 0, epoch 0, 'infinity').
MIN_YEAR, MAX_YEAR = 1971, 9998
TRUE_WORDS = frozenset({"1", "true", "t", "yes", "y", "on"})


class BadValue(ValueError):
    """A value the contract cannot use. ``reason`` is a SkipReason value (``invalid_amount``,
    ``invalid_time``, ``invalid_row``); ``column`` is the contract column it came from."""

    def __init__(self, column: str, reason: str, message: str) -> None:
        super().__init__(f"{column}: {message}")
        self.column = column
        self.reason = reason


def _shown(value: Any) -> str:
    """A short, safe rendering of a bad value for a log line (never more than 40 chars)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def text_of(value: Any, column: str) -> str | None:
    """Text as cartnudge uses it, or None for NULL. Bytes (a BLOB, a VARBINARY) must be valid
    UTF-8; text holding undecodable bytes (surrogate escapes) is refused; numbers are shown
    as digits. Raises BadValue (``invalid_row``)."""
    if value is None:
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise BadValue(column, "invalid_row", "is not valid UTF-8 text") from None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | Decimal):
        return str(value)
    if not isinstance(value, str):
        raise BadValue(column, "invalid_row", f"is not text ({type(value).__name__})")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadValue(column, "invalid_row", "is not valid UTF-8 text") from None
    if "\x00" in value:
        raise BadValue(column, "invalid_row", "contains a NUL character")
    return value


def id_of(value: Any, column: str) -> str | None:
    """An id (integer or text) as the text cartnudge keys its own rows by; None for NULL.
    Floats are refused (an id that went through a float may have lost digits)."""
    if value is None:
        return None
    if isinstance(value, bool | float):
        raise BadValue(column, "invalid_row", f"{_shown(value)} is not an id")
    if isinstance(value, Decimal):
        if value != value.to_integral_value():
            raise BadValue(column, "invalid_row", f"{_shown(value)} is not an id")
        return str(int(value))
    text = text_of(value, column)
    text = (text or "").strip()
    if not text:
        return None
    if len(text) > 64:
        raise BadValue(column, "invalid_row", "is longer than 64 characters")
    return text


def flag_of(value: Any) -> bool:
    """Consent and other yes/no columns, read strictly: only an explicit true value is yes.

    True: ``True``, the number 1, and the texts ``1 true t yes y on`` (any case, surrounding
    white space ignored). Everything else, including NULL, ``'N'``, ``'no'``, ``'false'``,
    ``'f'``, ``'0'``, 2, ``'はい'`` and bytes, is no.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int | Decimal | float):
        return value == 1
    if isinstance(value, bytes):
        return value in (b"\x01", b"1")
    if isinstance(value, str):
        return value.strip().lower() in TRUE_WORDS
    return False


def money_of(value: Any, column: str, decimals: int = 0) -> int:
    """An amount in the shop's minor unit (yen for JPY: ``decimals`` 0; cents: 2).

    Accepts INTEGER, DECIMAL/NUMERIC, float and text of a number (``'5660'``, ``'5660.000000'``,
    ``' 12.5 '``), in the currency's major unit. Rounding: to the nearest minor unit, halves
    away from zero (``ROUND_HALF_UP``: 0.5 yen -> 1 yen, -0.5 -> -1), as Japanese tax rounding
    and receipts do. NULL, NaN, ±Infinity, text that is not a number, negative amounts and
    amounts beyond a 64-bit integer raise BadValue (``invalid_amount``).
    """
    if value is None:
        raise BadValue(column, "invalid_amount", "is NULL")
    if isinstance(value, bool):
        raise BadValue(column, "invalid_amount", f"{_shown(value)} is not a number")
    try:
        if isinstance(value, float):
            if not math.isfinite(value):
                raise InvalidOperation
            number = Decimal(repr(value))
        elif isinstance(value, int | Decimal):
            number = Decimal(value)
        elif isinstance(value, str | bytes):
            raw = value.decode("utf-8") if isinstance(value, bytes) else value
            number = Decimal(raw.strip().replace(",", ""))
        else:
            raise InvalidOperation
        if not number.is_finite():
            raise InvalidOperation
        minor = (number.scaleb(decimals)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    except (InvalidOperation, UnicodeDecodeError, ValueError):
        raise BadValue(column, "invalid_amount", f"{_shown(value)} is not a number") from None
    if minor < 0:
        raise BadValue(column, "invalid_amount", f"{_shown(value)} is negative")
    if minor > MAX_AMOUNT:
        raise BadValue(column, "invalid_amount", f"{_shown(value)} is too large")
    return int(minor)


_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?"
)


def _parse_text(text: str, column: str) -> datetime:
    m = _ISO.fullmatch(text.strip())
    if not m:
        raise BadValue(column, "invalid_time", f"{_shown(text)} is not a timestamp")
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
        )
    except ValueError:
        raise BadValue(column, "invalid_time", f"{_shown(text)} is not a timestamp") from None
    if zone:
        if zone == "Z":
            offset = timedelta()
        else:
            digits = zone[1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
            offset = -offset if zone[0] == "-" else offset
        moment = (moment - offset).replace(tzinfo=UTC)
    return moment


def local_to_utc(value: datetime, tz: ZoneInfo) -> datetime:
    """A naive local time in ``tz`` as naive UTC. A time that occurs twice (the hour repeated
    when daylight saving time ends) or never (the hour skipped when it starts) resolves to the
    LATER of its possible instants, so a reminder is never early (README, "Time")."""
    first = value.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = value.replace(tzinfo=tz, fold=1).astimezone(UTC)
    return max(first, second).replace(tzinfo=None)


def time_of(value: Any, column: str, tz: ZoneInfo) -> datetime | None:
    """A shop timestamp as naive UTC, or None for NULL.

    A ``datetime`` with a time zone (PostgreSQL ``timestamptz``) is converted exactly; a naive
    one is local time in ``tz`` (``shop.timestamps_timezone``; UTC for naive UTC columns). Text
    (SQLite) may be ISO 8601 with a space or ``T``, optional seconds and fraction, and an
    optional ``Z`` or ``+09:00`` offset. A ``date`` is its local midnight. Epoch numbers,
    ``''``, year 0, ``infinity``, dates before 1971 or after 9998 raise BadValue
    (``invalid_time``).
    """
    if value is None:
        return None
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            raise BadValue(column, "invalid_time", "is not a timestamp") from None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        moment = _parse_text(value, column)
    else:
        raise BadValue(column, "invalid_time", f"{_shown(value)} is not a timestamp")
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise BadValue(column, "invalid_time", f"{_shown(value)} is out of range")
    if moment.tzinfo is not None:
        return moment.astimezone(UTC).replace(tzinfo=None)
    return local_to_utc(moment, tz)


def to_utc(value: datetime | None, tz: ZoneInfo) -> datetime | None:
    """A datetime from the shop as naive UTC (see :func:`time_of`); None stays None."""
    if value is None:
        return None
    if value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return local_to_utc(value, tz)


def from_utc(value: datetime, tz: ZoneInfo) -> datetime:
    """Naive UTC as the shop's naive local time, for bind parameters."""
    return value.replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None)


def count_of(row: Any, column: str, minimum: int) -> int:
    """A whole number >= ``minimum`` (quantities); raises ValueError naming the column."""
    value = row[column]
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{column} {value!r} is not a number")
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{column} {_shown(value)} is not a whole number") from None
    if number != value and not isinstance(value, str) or number < minimum:
        raise ValueError(f"{column} {_shown(value)} is not a whole number >= {minimum}")
    return number


def enum_of(value: Any, enum: type, column: str, default: Any = None) -> Any:
    """An enum member from text (any case, trimmed); ``default`` for NULL when given.
    Raises BadValue (``invalid_row``) naming the allowed values."""
    if value is None and default is not None:
        return default
    try:
        return enum(str(text_of(value, column)).strip().lower())
    except ValueError:
        allowed = "|".join(m.value for m in enum)
        raise BadValue(column, "invalid_row", f"{_shown(value)} is not one of {allowed}") from None
