"""Query plans of the shop contract's queries, read without a database: which tables a plan
reads whole (``cartnudge check`` warns about each, README "The shop contract").

Pure functions over what the three databases print for ``EXPLAIN``:

- SQLite, ``EXPLAIN QUERY PLAN``: a ``detail`` line ``SCAN <alias>`` (with or without ``USING
  [COVERING] INDEX``: a scan reads every row of the table, or of one of its indexes, in that
  order) where ``<alias>`` is a table of the query; ``SEARCH`` lines seek and are fine.
- PostgreSQL, ``EXPLAIN (FORMAT JSON)`` evaluated with ``enable_seqscan = off`` (so a
  ``Seq Scan`` means "no usable index", not "ten rows are cheaper to scan"): a ``Seq Scan`` node
  on a relation, or an ``Index Scan`` / ``Index Only Scan`` with no ``Index Cond`` (the whole
  index, which the planner picks over a disabled sequential scan).
- MariaDB / MySQL, classic ``EXPLAIN``: a row of ``type`` ``ALL`` (the whole table) or
  ``index`` (the whole index) whose ``possible_keys`` is NULL. With possible keys, the
  optimizer had an index and chose to scan because the table is small: not reported.

Each finding names the table as the shop calls it (aliases resolved from the query's own
``FROM``/``JOIN`` clauses) and whether it is the table the plan starts from (``first``): a scan
there needs the index of the query's own conditions, a scan of a later table an index on the
column it is joined on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_KEYWORDS = frozenset(
    [
        "where",
        "join",
        "left",
        "right",
        "inner",
        "outer",
        "cross",
        "full",
        "natural",
        "on",
        "using",
        "group",
        "order",
        "limit",
        "union",
        "having",
        "window",
        "straight_join",
        "lateral",
        "as",
        "set",
        "for",
    ]
)
_FROM = re.compile(
    r"\b(?:from|join)\s+([A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*)?)(?:\s+(?:as\s+)?([A-Za-z_][\w$]*))?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Scan:
    """A table the plan reads whole: ``table`` as the query names it; ``first`` when it is the
    first table the plan reads (the query's driving table)."""

    table: str
    first: bool


def aliases_of(sql: str) -> dict[str, str]:
    """Alias (and bare name) -> table, from every ``FROM t [AS] a`` and ``JOIN t [AS] a`` of
    ``sql``; a subquery (``FROM (``) names no table. Names are lower-cased."""
    out: dict[str, str] = {}
    for match in _FROM.finditer(sql):
        table = match.group(1).lower()
        alias = (match.group(2) or "").lower()
        out.setdefault(table.rsplit(".", 1)[-1], table)
        if alias and alias not in _KEYWORDS:
            out.setdefault(alias, table)
    return out


def _unique(scans: Iterable[Scan]) -> list[Scan]:
    seen: dict[str, Scan] = {}
    for scan in scans:
        if scan.table not in seen:
            seen[scan.table] = scan
    return list(seen.values())


def sqlite_scans(details: Sequence[str], aliases: Mapping[str, str]) -> list[Scan]:
    """The tables an SQLite ``EXPLAIN QUERY PLAN`` (its ``detail`` column, in order) scans."""
    scans = []
    first = True
    for detail in details:
        words = detail.split()
        if len(words) < 2 or words[0] not in ("SCAN", "SEARCH"):
            continue
        # "SCAN TABLE orders AS o" (before 3.36) or "SCAN o" (3.36 and later)
        name = words[2] if words[1] == "TABLE" and len(words) > 2 else words[1]
        if len(words) > 4 and words[1] == "TABLE" and words[3] == "AS":
            name = words[4]
        table = aliases.get(name.lower())
        if table is None:  # a subquery, a view's CTE, "CONSTANT ROW"
            continue
        if words[0] == "SCAN":
            scans.append(Scan(table, first))
        first = False
    return _unique(scans)


def postgres_scans(plan: Any) -> list[Scan]:
    """The relations a PostgreSQL ``EXPLAIN (FORMAT JSON)`` plan reads whole: its document (a
    list holding ``{"Plan": ...}``, or that text) walked depth first, outer side first."""
    if isinstance(plan, str):
        import json

        plan = json.loads(plan)
    root = plan[0]["Plan"] if isinstance(plan, list) else plan.get("Plan", plan)
    scans: list[Scan] = []
    seen_relation = False

    def walk(node: Mapping[str, Any]) -> None:
        nonlocal seen_relation
        relation = node.get("Relation Name")
        if relation:
            kind = node.get("Node Type", "")
            whole = kind == "Seq Scan" or (
                kind in ("Index Scan", "Index Only Scan") and not node.get("Index Cond")
            )
            if whole:
                scans.append(Scan(str(relation).lower(), not seen_relation))
            seen_relation = True
        for child in node.get("Plans", ()):
            walk(child)

    walk(root)
    return _unique(scans)


def mariadb_scans(rows: Sequence[Mapping[str, Any]], aliases: Mapping[str, str]) -> list[Scan]:
    """The tables a MariaDB/MySQL classic ``EXPLAIN`` (rows with ``table``, ``type``,
    ``possible_keys``) reads whole with no usable index."""
    scans = []
    first = True
    for row in rows:
        name = row.get("table")
        if not name:
            continue
        table = aliases.get(str(name).lower())
        if table is None:  # <derived2>, <subquery3>, <union2,3>
            continue
        if row.get("type") in ("ALL", "index") and not row.get("possible_keys"):
            scans.append(Scan(table, first))
        first = False
    return _unique(scans)


# What each contract query needs, in the contract's words, with the reference shop's index
# (cartnudge/demo/schema.py); docs/performance.md, "Indexes a shop needs", has the table.
ADVICE: dict[str, str] = {
    "sweep page": (
        "an index on (the abandoned condition's column, last_activity_at, order_id) lets each "
        "page seek (the reference shop: orders (state, last_activity_at, id))"
    ),
    "strays page": (
        "an index starting with the abandoned condition's column keeps it to the abandoned "
        "rows (the reference shop: orders (state, ...))"
    ),
    "one order": "the order id's primary key finds it (the reference shop: orders (id))",
    "orders of a search page": (
        "an index on customer_id finds a page's orders (the reference shop: orders "
        "(customer_id, state, completed_at))"
    ),
    "report period page": (
        "an index on (the abandoned condition's column, abandoned_at) reads only the period "
        "(the reference shop: orders (state, ...); (state, abandoned_at) for a large shop)"
    ),
    "completed_orders page": (
        "an index on (the completed condition's column, completed_at) reads only the window "
        "(the reference shop: orders (state, completed_at))"
    ),
    "search page": "the customer id's primary key lets each page seek",
    "order_items": (
        "an index on the items' order id finds a page's items (the reference shop: "
        "order_items (order_id))"
    ),
    "purchases_since": (
        "an index on (customer_id, the completed condition's column, completed_at) finds a "
        "page's purchases (the reference shop: orders (customer_id, state, completed_at))"
    ),
    "product_status": (
        "an index on the items' order id and the products' primary key (the reference shop: "
        "order_items (order_id), products (id))"
    ),
}
JOINED = "an index on the column it is joined or looked up on lets each row be found instead"


def warning(file: str, label: str, scan: Scan) -> str:
    """The ``check`` line for one scan (without its ``warn`` prefix)."""
    advice = ADVICE.get(label, JOINED) if scan.first else JOINED
    return f"{file} ({label}): scans the whole table {scan.table}; {advice}"
