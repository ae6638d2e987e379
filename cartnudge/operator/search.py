"""Search customers with abandoned orders, and recovered orders (SPEC 3, ``cartnudge search``).

Rows stream from the shop in keyset pages (sql/search_customers.sql, sql/completed_orders.sql);
per page, cartnudge's own state adds the last reminder and the recovery, and the filters are
applied here, so the same search runs on every database and never holds the shop in memory.
Dates are the configured time zone's calendar days, inclusive.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cartnudge.app import App

MARK = "あり"  # the source platform's "yes" in the abandoned and recovery columns
PAGE = 1000

CUSTOMER_COLUMNS = {
    "customer_id": "顧客ID",
    "name": "氏名",
    "email": "メールアドレス",
    "status": "顧客ステータス",
    "consent": "メール配信許可",
    "abandoned": "カゴ落ち状態",
    "abandoned_date": "カゴ落ち日時",
    "abandoned_amount": "カゴ落ち金額",
    "flow": "離脱",
    "order_id": "カゴ落ち受注ID",
    "last_reminder": "最終リマインド",
    "recovered": "カゴ落ちリカバリー",
}
DEFAULT_CUSTOMER_COLUMNS = (
    "customer_id",
    "name",
    "email",
    "status",
    "abandoned",
    "abandoned_date",
    "abandoned_amount",
    "last_reminder",
    "recovered",
)
ORDER_COLUMNS = {
    "order_id": "受注ID",
    "customer_id": "顧客ID",
    "completed_date": "受注日",
    "amount": "金額",
    "recovered": "カゴ落ちリカバリー",
    "attribution": "計測方法",
    "flow": "離脱",
    "abandoned_order_id": "カゴ落ち受注ID",
}
DEFAULT_ORDER_COLUMNS = tuple(ORDER_COLUMNS)
SORT_KEYS = (
    "customer_id",
    "abandoned_date",
    "abandoned_amount",
    "name",
    "order_id",
    "amount",
    "completed_date",
)


@dataclass(frozen=True)
class Filters:
    """What ``search`` and ``send-bulk`` select. ``None`` means "either"."""

    abandoned: bool | None = True
    statuses: frozenset[str] = field(default_factory=frozenset)  # empty: every status
    date_from: date | None = None
    date_to: date | None = None
    min_amount: int | None = None
    max_amount: int | None = None
    flow: str | None = None  # confirm | input
    reminded: bool | None = None
    recovered: bool | None = None


def local_day_range(
    tz: ZoneInfo, first: date | None, last: date | None
) -> tuple[datetime | None, datetime | None]:
    """[start, end) in naive UTC for the local calendar days ``first`` to ``last`` inclusive."""

    def utc(d: date) -> datetime:
        return datetime.combine(d, time(), tz).astimezone(UTC).replace(tzinfo=None)

    return (utc(first) if first else None, utc(last + timedelta(days=1)) if last else None)


def flow_of(abandoned_step: str | None) -> str | None:
    if abandoned_step is None:
        return None
    return "input" if abandoned_step == "input" else "confirm"


def _local(moment: datetime | None, tz: ZoneInfo, fmt: str) -> str:
    return moment.replace(tzinfo=UTC).astimezone(tz).strftime(fmt) if moment else ""


def _matches(row: dict[str, Any], f: Filters, start: datetime | None, end: datetime | None) -> bool:
    has_order = row["order_id"] is not None
    if f.abandoned is not None and has_order != f.abandoned:
        return False
    if f.statuses and row["customer_status"] not in f.statuses:
        return False
    ranged = start or end or f.min_amount is not None or f.max_amount is not None or f.flow
    if ranged and not has_order:
        return False
    at = row["abandoned_at"]
    if start and (at is None or at < start):
        return False
    if end and (at is None or at >= end):
        return False
    amount = row["total_amount"]
    if f.min_amount is not None and (amount is None or amount < f.min_amount):
        return False
    if f.max_amount is not None and (amount is None or amount > f.max_amount):
        return False
    return not (f.flow and flow_of(row["abandoned_step"]) != f.flow)


def customers(app: App, f: Filters) -> Iterator[dict[str, Any]]:
    """The customers matching ``f``, in customer id order, as display rows (plus the raw
    values send-bulk needs under keys starting with ``_``)."""
    tz = app.config.tz
    start, end = local_day_range(tz, f.date_from, f.date_to)
    for page in app.reader.customers(chunk_size=PAGE):
        rows = [r for r in page if _matches(r, f, start, end)]
        if not rows:
            continue
        ids = [str(r["customer_id"]) for r in rows]
        reminded = app.deliveries.last_reminders(ids)
        recovered = app.recoveries.recovered_customers(ids)
        for r in rows:
            cid = str(r["customer_id"])
            if f.reminded is not None and (cid in reminded) != f.reminded:
                continue
            if f.recovered is not None and (cid in recovered) != f.recovered:
                continue
            has_order = r["order_id"] is not None
            yield {
                "customer_id": r["customer_id"],
                "name": r["customer_name"],
                "email": r["email"],
                "status": r["customer_status"],
                "consent": MARK if r["email_consent"] else "",
                "abandoned": MARK if has_order else "",
                "abandoned_date": _local(r["abandoned_at"], tz, "%Y/%m/%d"),
                "abandoned_amount": r["total_amount"] if has_order else None,
                "flow": flow_of(r["abandoned_step"]) or "",
                "order_id": r["order_id"],
                "last_reminder": _local(reminded.get(cid), tz, "%Y/%m/%d %H:%M"),
                "recovered": MARK if cid in recovered else "",
                "_row": r,
            }


def recovered_orders(
    app: App,
    *,
    date_from: date,
    date_to: date,
    recovered: bool | None,
    min_amount: int | None = None,
    max_amount: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Orders completed on ``date_from``..``date_to`` with their recovery column."""
    tz = app.config.tz
    start, end = local_day_range(tz, date_from, date_to)
    assert start and end
    for page in app.reader.completed_orders(
        completed_from=start, completed_to=end, chunk_size=PAGE
    ):
        marks = app.recoveries.recoveries_for_orders(str(r["order_id"]) for r in page)
        for r in page:
            mark = marks.get(str(r["order_id"]))
            amount = r["total_amount"]
            if recovered is not None and (mark is not None) != recovered:
                continue
            if min_amount is not None and (amount is None or amount < min_amount):
                continue
            if max_amount is not None and (amount is None or amount > max_amount):
                continue
            yield {
                "order_id": r["raw_order_id"],
                "customer_id": r["raw_customer_id"],
                "completed_date": _local(r["completed_at"], tz, "%Y/%m/%d"),
                "amount": amount,
                "recovered": MARK if mark else "",
                "attribution": mark["attribution"] if mark else "",
                "flow": mark["flow"] if mark else "",
                "abandoned_order_id": mark["abandoned_order_id"] if mark else "",
            }


def sort_rows(
    rows: Iterable[dict[str, Any]], key: str, *, descending: bool, limit: int | None
) -> Iterable[dict[str, Any]]:
    """Sorted rows. With a limit only that many are held (a heap); without one, every matching
    row is held: say so in the help."""

    def sort_key(row: dict[str, Any]) -> tuple:
        value = row.get(key)
        present = value not in (None, "")
        # Rows without the value come last in either direction.
        return (present if descending else not present, value if present else 0)

    if limit is not None:
        pick: Callable = heapq.nlargest if descending else heapq.nsmallest
        return pick(limit, rows, key=sort_key)
    return sorted(rows, key=sort_key, reverse=descending)
