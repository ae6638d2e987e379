"""Parse and format the configuration's durations: ``3h``, ``90m``, ``1h30m``, ``3d``, ``30s``."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+)([dhms])")
_UNITS = {
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
    "s": timedelta(seconds=1),
}


def parse_duration(text: str | int, *, bare_unit: str = "h") -> timedelta:
    """Return the timedelta for ``text``; a bare integer is read in ``bare_unit``.

    >>> parse_duration("1h30m")
    datetime.timedelta(seconds=5400)
    """
    if isinstance(text, bool):
        raise ValueError(f"not a duration: {text!r}")
    if isinstance(text, int):
        return text * _UNITS[bare_unit]
    compact = str(text).strip().lower().replace(" ", "")
    if compact.isdigit():
        return int(compact) * _UNITS[bare_unit]
    pos = 0
    total = timedelta()
    for match in _PART.finditer(compact):
        if match.start() != pos:
            break
        total += int(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(compact) or pos == 0:
        raise ValueError(f"not a duration: {text!r} (write e.g. 3h, 90m, 1h30m, 3d)")
    return total


def format_duration(value: timedelta) -> str:
    """The shortest spelling of ``value`` in d/h/m, e.g. ``1d2h`` or ``30m``."""
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (mins, "m")) if n]
    return "".join(parts) or "0m"
