"""Conversions of the shop's values into what cartnudge uses inside (naive UTC datetimes, counts,
enum members), each raising ValueError with the column named when a value cannot be used.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo


def count_of(row: Any, column: str, minimum: int) -> int:
    value = row[column]
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{column} {value!r} is not a number")
    number = int(value)
    if number != value and not isinstance(value, str) or number < minimum:
        raise ValueError(f"{column} {value!r} is not a whole number >= {minimum}")
    return number


def to_utc(value: datetime | None, tz: ZoneInfo) -> datetime | None:
    if value is None:
        return None
    aware = value.replace(tzinfo=tz) if value.tzinfo is None else value
    return aware.astimezone(UTC).replace(tzinfo=None)


def from_utc(value: datetime, tz: ZoneInfo) -> datetime:
    return value.replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None)


def enum_of(value: Any, enum: type, column: str) -> Any:
    try:
        return enum(str(value).strip().lower())
    except ValueError:
        allowed = "|".join(m.value for m in enum)
        raise ValueError(f"{column} {value!r} is not one of {allowed}") from None
