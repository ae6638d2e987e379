"""Write rows as a rich table, CSV, JSON or JSON Lines, streaming where the format allows.

CSV, JSON Lines and JSON are written row by row (JSON as ``[`` ... ``]``), so a million rows never
sit in memory; a table is drawn from the rows it is given (callers bound them with ``--limit``).
``bom`` prefixes CSV with a UTF-8 byte-order mark so Excel opens Japanese text correctly.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TextIO

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

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
    kinds: Mapping[str, str] | None = None,
    drops: Mapping[str, int] | None = None,
    left_out: str = "",
) -> int:
    """Write ``rows`` (only ``columns``, in that order); return how many were written.

    A table is laid out by :func:`print_table` for the terminal's width; ``kinds`` gives a
    column's :class:`Col` kind (``number`` columns are right-aligned with thousands
    separators), ``drops`` which columns give way (and in which order) on a narrow terminal."""
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
        kinds, drops = kinds or {}, drops or {}
        cols = [Col(headers.get(c, c), kinds.get(c, "text"), drops.get(c, 0)) for c in columns]
        values = [[row.get(c) for c in columns] for row in rows]
        count = len(values)
        console = console_for(out, pipe_width=None)
        print_table(console, cols, values, title=title, left_out=left_out)
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return count


# -- tables for people -----------------------------------------------------------------------
#
# A table is laid out for the console's width so that no cell is ever cut inside a word: an
# e-mail address, a date or a header word stays whole on one line. Cells stay on one line
# (only ``prose`` columns wrap, between words), numbers are right-aligned with thousands
# separators. When the whole table does not fit, the columns a caller marked ``drop`` are left
# out (highest first) and a note names them; when even that does not fit, every row is shown
# as a block of "header  value" lines (a vertical layout, like psql's \x).

BORDER = 3  # a column's left border and its padding on both sides
PIPE_WIDTH = 160  # the width for a pipe or a file when COLUMNS is not set


@dataclass(frozen=True)
class Col:
    """One column of :func:`print_table`.

    ``kind``: ``text`` (one line, left), ``prose`` (wraps between words), ``number`` (one
    line, right-aligned; integers get thousands separators) or ``id`` (one line,
    right-aligned, written as given). ``drop``: 0 keeps the column at every width; columns
    with a higher number are left out first when the table is too wide.
    """

    header: str
    kind: str = "text"
    drop: int = 0

    @property
    def right(self) -> bool:
        return self.kind in ("number", "id")


def console_for(out: TextIO | None = None, *, pipe_width: int | None = PIPE_WIDTH) -> Console:
    """A console on ``out`` (stdout) as wide as the terminal, or ``COLUMNS``, or, for a pipe or
    a file, ``pipe_width`` (wide, so a saved table keeps every column)."""
    out = out or sys.stdout
    columns = os.environ.get("COLUMNS", "")
    width = None if out.isatty() or columns.isdigit() else pipe_width
    return Console(file=out, highlight=False, soft_wrap=False, width=width)


def cell_text(value: Any, kind: str = "text") -> str:
    """A value as a table shows it: ``None`` blank, integers of a ``number`` column with
    thousands separators, dates in ISO form."""
    if value is None:
        return ""
    if kind == "number" and isinstance(value, int | Decimal) and not isinstance(value, bool):
        return f"{value:,}"
    return str(_plain(value))


def _longest_word(text: str) -> int:
    return max((cell_len(word) for word in text.split()), default=0)


def _whole(text: str) -> int:
    return max((cell_len(line) for line in text.splitlines()), default=0)


def _widths(cols: Sequence[Col], rows: Sequence[Sequence[str]], width: int) -> list[int] | None:
    """Each column's width so the table fits ``width`` without cutting a word, or None."""
    least, natural = [], []
    for i, col in enumerate(cols):
        cells = [row[i] for row in rows]
        body = [(_longest_word if col.kind == "prose" else _whole)(c) for c in cells]
        least.append(max([_longest_word(col.header), *body]))
        natural.append(max([least[-1], cell_len(col.header), *(_whole(c) for c in cells)]))
    room = width - BORDER * len(cols) - 1
    if sum(least) > room:
        return None
    widths = natural
    while sum(widths) > room:  # narrow the widest column that can give (it wraps between words)
        i = max((i for i in range(len(cols)) if widths[i] > least[i]), key=lambda i: widths[i])
        widths[i] -= 1
    return widths


def print_table(
    console: Console,
    cols: Sequence[Col],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    sections: Collection[int] = (),
    left_out: str = "",
) -> list[Col]:
    """Print ``rows`` (values in the order of ``cols``) as a table that fits the console;
    return the columns shown.

    ``sections``: indexes of rows that start a new section (a rule above them). ``left_out``
    is added to the note naming the columns left out at this width (e.g. "--format csv shows
    them").
    """
    cells = [[cell_text(v, col.kind) for v, col in zip(row, cols, strict=True)] for row in rows]
    shown = list(range(len(cols)))
    widths = _widths(cols, cells, console.width)
    while widths is None and any(cols[i].drop for i in shown):
        worst = max((i for i in shown if cols[i].drop), key=lambda i: (cols[i].drop, i))
        shown.remove(worst)
        widths = _widths(
            [cols[i] for i in shown], [[r[i] for i in shown] for r in cells], console.width
        )
    if widths is None:
        _print_vertical(console, cols, cells, title)
        return list(cols)
    table = Table(title=title, header_style="bold")
    for i, w in zip(shown, widths, strict=True):
        table.add_column(
            Text(cols[i].header, overflow="ellipsis"),
            width=w,
            justify="right" if cols[i].right else "left",
        )
    for n, row in enumerate(cells):
        table.add_row(*(_cell(row[i], cols[i]) for i in shown), end_section=n + 1 in sections)
    console.print(table)
    dropped = [cols[i].header for i in range(len(cols)) if i not in shown]
    if dropped:
        note = f"not shown at {console.width} columns: {', '.join(dropped)}"
        console.print(Text(f"({note}{'; ' + left_out if left_out else ''})"))
    return [cols[i] for i in shown]


def _cell(text: str, col: Col) -> Text:
    prose = col.kind == "prose"
    return Text(
        text,
        no_wrap=not prose,
        overflow="ellipsis",
        justify="right" if col.right else "left",
    )


def _print_vertical(
    console: Console, cols: Sequence[Col], cells: Sequence[Sequence[str]], title: str | None
) -> None:
    """Each row as a block of "header  value" lines, a blank line between rows."""
    if title:
        console.print(Text(title, style="italic"))
    label = min(max(cell_len(c.header) for c in cols), console.width // 3)
    room = console.width - label - 2
    value = min(max((_whole(row[i]) for row in cells for i in range(len(cols))), default=1), room)
    for n, row in enumerate(cells):
        grid = Table.grid(padding=(0, 2))
        grid.add_column(width=label, no_wrap=True, overflow="ellipsis", style="bold")
        grid.add_column(width=value)
        for col, text in zip(cols, row, strict=True):
            grid.add_row(Text(col.header, overflow="ellipsis"), _cell(text, col))
        if n:
            console.print()
        console.print(grid)
