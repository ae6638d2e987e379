"""Write rows as a rich table, CSV, JSON or JSON Lines, streaming where the format allows.

CSV, JSON Lines and JSON are written row by row (JSON as ``[`` ... ``]``), so a million rows never
sit in memory; a table is drawn from the rows it is given (callers bound them with ``--limit``).
``bom`` prefixes CSV with a UTF-8 byte-order mark so Excel opens Japanese text correctly.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

FORMATS = ("table", "csv", "json", "jsonl")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def write_rows(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    fmt: str,
    *,
    out: TextIO | None = None,
    headers: Mapping[str, str] | None = None,
    bom: bool = False,
    title: str | None = None,
) -> int:
    """Write ``rows`` (only ``columns``, in that order); return how many were written."""
    out = out or sys.stdout
    headers = headers or {}
    count = 0
    if fmt == "csv":
        if bom:
            out.write("\ufeff")
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([headers.get(c, c) for c in columns])
        for row in rows:
            writer.writerow(["" if row.get(c) is None else _plain(row.get(c)) for c in columns])
            count += 1
    elif fmt == "jsonl":
        for row in rows:
            out.write(json.dumps({c: _plain(row.get(c)) for c in columns}, ensure_ascii=False))
            out.write("\n")
            count += 1
    elif fmt == "json":
        out.write("[")
        for row in rows:
            out.write(",\n" if count else "\n")
            out.write(json.dumps({c: _plain(row.get(c)) for c in columns}, ensure_ascii=False))
            count += 1
        out.write("\n]\n" if count else "]\n")
    elif fmt == "table":
        table = Table(title=title, header_style="bold")
        for c in columns:
            table.add_column(headers.get(c, c), overflow="fold")
        for row in rows:
            table.add_row(*["" if row.get(c) is None else str(_plain(row.get(c))) for c in columns])
            count += 1
        Console(file=out, highlight=False, soft_wrap=False).print(table)
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return count
