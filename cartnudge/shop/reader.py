"""Read the shop's database through the named SQL files of the shop contract (sql/).

Each file is headed by the columns it must return and the bind parameters it takes. Reads are
short keyset pages, never one long cursor: a sweep that spends minutes sending holds no
transaction open on the shop (MySQL would drop an idle streaming connection, and an SQLite
reader would block the shop's writers).

Shop timestamps are naive, in ``shop.timestamps_timezone``; everything returned here is naive
UTC, the one form used inside cartnudge.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from cartnudge.core.phones import normalise_phone
from cartnudge.core.rules import AbandonedStep, Candidate, CustomerStatus, Storefront
from cartnudge.errors import ContractError, DatabaseError
from cartnudge.shop.contract import (
    CONTRACT,
    ShopContract,
)
from cartnudge.shop.convert import count_of, enum_of, from_utc, to_utc

log = logging.getLogger("cartnudge.shop")


@dataclass(frozen=True)
class AbandonedOrder:
    """A row of abandoned_orders: what the rules see, plus what the message shows."""

    candidate: Candidate
    raw_order_id: Any
    customer_name: str
    lp_id: int | None
    total_amount: int


@dataclass(frozen=True)
class RowProblem:
    """A row the contract does not allow: reported and skipped, never fatal to the sweep."""

    order_id: str
    message: str


class ItemsByOrder(dict[str, list["Item"]]):
    """Items per order id, with a one-line problem per order whose item rows were refused."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: dict[str, str] = {}


@dataclass(frozen=True)
class Item:
    product_id: Any
    name: str
    quantity: int
    unit_price: int
    category: str | None = None  # the optional column category of order_items.sql

    @property
    def subtotal(self) -> int:
        return self.quantity * self.unit_price


class ShopReader:
    """Reads candidates, items and purchases from the shop. Raises DatabaseError on failure."""

    def __init__(
        self, engine: Engine, contract: ShopContract, shop_tz: ZoneInfo, phone_region: str = "JP"
    ) -> None:
        self.engine = engine
        self.contract = contract
        self.tz = shop_tz
        self.phone_region = phone_region

    def _run(self, name: str, **params: Any) -> Any:
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(self.contract.statements[name], params).mappings())
        except SQLAlchemyError as exc:
            detail = str(getattr(exc, "orig", exc)).splitlines()[0]
            raise DatabaseError(f"{self.contract.path(name)}: {detail}") from None

    def abandoned_orders(
        self, *, due_before: datetime, active_since: datetime, chunk_size: int
    ) -> Iterator[list[AbandonedOrder | RowProblem]]:
        """Yield pages of candidates; each page is one short query."""
        after_at, after_id = from_utc(active_since, self.tz), -1
        while True:
            rows = self._run(
                "abandoned_orders",
                due_before=from_utc(due_before, self.tz),
                active_since=from_utc(active_since, self.tz),
                after_at=after_at,
                after_id=after_id,
                chunk_size=chunk_size,
            )
            if not rows:
                return
            if len(rows) and "order_id" not in rows[0]:
                raise ContractError(f"{self.contract.path('abandoned_orders')}: no order_id column")
            yield [self._parse(row) for row in rows]
            last = rows[-1]
            if last["last_activity_at"] is None:
                raise ContractError(
                    f"{self.contract.path('abandoned_orders')}: order {last['order_id']}: "
                    "last_activity_at is NULL (the keyset needs it)"
                )
            after_at, after_id = last["last_activity_at"], last["order_id"]
            if len(rows) < chunk_size:
                return

    def _parse(self, row: Any) -> AbandonedOrder | RowProblem:
        order_id = str(row["order_id"])
        try:
            abandoned_at = to_utc(row["abandoned_at"], self.tz)
            if abandoned_at is None:
                raise ValueError("abandoned_at is NULL")
            last_activity = to_utc(row["last_activity_at"], self.tz) or abandoned_at
            amount = row["total_amount"]
            if amount is None or int(amount) < 0:
                raise ValueError(f"total_amount {amount!r} is not a non-negative number")
            candidate = Candidate(
                order_id=order_id,
                customer_id=None if row["customer_id"] is None else str(row["customer_id"]),
                customer_status=enum_of(row["customer_status"], CustomerStatus, "customer_status"),
                storefront=enum_of(row["storefront"], Storefront, "storefront"),
                abandoned_step=enum_of(row["abandoned_step"], AbandonedStep, "abandoned_step"),
                abandoned_at=abandoned_at,
                last_activity_at=max(last_activity, abandoned_at),
                email=row["email"],
                email_consent=bool(row["email_consent"]),
                fraud_result=row["fraud_result"],
                fraud_action=row["fraud_action"],
                purchased_at=to_utc(row["purchased_at"], self.tz),
                total_amount=int(amount),
                **self._optional(row),
            )
        except (ValueError, TypeError, KeyError) as exc:
            return RowProblem(order_id, f"order {order_id}: {exc}")
        return AbandonedOrder(
            candidate=candidate,
            raw_order_id=row["order_id"],
            customer_name=str(row["customer_name"] or ""),
            lp_id=row["lp_id"],
            total_amount=int(row["total_amount"]),
        )

    def order(self, order_id: Any) -> AbandonedOrder | RowProblem | None:
        """One order by id (any state the query returns), or None when there is none."""
        rows = self._run("abandoned_order", order_id=order_id)
        return self._parse(rows[0]) if rows else None

    def _optional(self, row: Any) -> dict[str, Any]:
        """The contract's optional columns (SMS, push, LINE, the input flow), absent as "no"."""
        raw_phone = row.get("phone")
        phone = normalise_phone(raw_phone, self.phone_region) if raw_phone else None
        return {
            "phone": phone or (str(raw_phone) if raw_phone else None),
            "phone_valid": phone is not None,
            "sms_consent": bool(row.get("sms_consent")),
            "push_token": row.get("push_token") or None,
            "push_consent": bool(row.get("push_consent")),
            "line_user_id": str(row.get("line_user_id") or "").strip() or None,
            "line_consent": bool(row.get("line_consent")),
            "returning_customer": None
            if row.get("returning_customer") is None
            else bool(row.get("returning_customer")),
            "logged_in": bool(row.get("logged_in")),
            "ad_input_enabled": bool(row.get("ad_input_enabled")),
        }

    def order_items(self, order_ids: Sequence[Any]) -> ItemsByOrder:
        """The items per order id. An order with an item row the contract does not allow has no
        items here but a line in ``.problems``: its reminder fails, naming the row, and the
        rest of the sweep goes on."""
        items = ItemsByOrder()
        if not order_ids:
            return items
        for row in self._run("order_items", order_ids=list(order_ids)):
            order_id = str(row["order_id"])
            try:
                name = row["product_name"]
                if name is None or not str(name).strip():
                    raise ValueError("product_name is empty")
                item = Item(
                    row["product_id"],
                    str(name),
                    count_of(row, "quantity", 1),
                    count_of(row, "unit_price", 0),
                    str(row["category"]).strip() or None
                    if row.get("category") is not None
                    else None,
                )
            except (ValueError, TypeError) as exc:
                items.problems[order_id] = (
                    f"{self.contract.path('order_items')}: order {order_id}: {exc}"
                )
                continue
            items.setdefault(order_id, []).append(item)
        for order_id in items.problems:
            items.pop(order_id, None)
        return items

    def purchases(self, customer_ids: Sequence[Any]) -> dict[str, datetime]:
        """The latest completed order per customer, for the re-check just before sending."""
        ids = sorted({c for c in customer_ids if c is not None})
        if not ids:
            return {}
        out: dict[str, datetime] = {}
        for row in self._run("purchases_since", customer_ids=ids):
            when = row["purchased_at"]
            if isinstance(when, datetime):
                out[str(row["customer_id"])] = to_utc(when, self.tz)
            elif when is not None:
                log.warning(
                    "%s: customer %s: purchased_at %r is not a time (ignored)",
                    self.contract.path("purchases_since"),
                    row["customer_id"],
                    when,
                )
        return out

    def _pages(
        self, name: str, key: str, chunk_size: int, **params: Any
    ) -> Iterator[list[dict[str, Any]]]:
        """The rows of contract query ``name``, page by page, keyset-paged on column ``key``
        (``after_id`` starts at -1); a page shorter than ``chunk_size`` is the last."""
        after_id: Any = -1
        while True:
            rows = self._run(name, after_id=after_id, chunk_size=chunk_size, **params)
            if not rows:
                return
            yield rows
            after_id = rows[-1][key]
            if len(rows) < chunk_size:
                return

    def _in_period(
        self, name: str, what: str, start: datetime, end: datetime, chunk_size: int
    ) -> Iterator[list[dict[str, Any]]]:
        """Pages of contract query ``name`` over [start, end) (bind parameters ``WHAT_from`` and
        ``WHAT_to``), keyset-paged on order_id, with column ``WHAT_at`` converted to naive UTC."""
        column = f"{what}_at"
        params = {f"{what}_from": from_utc(start, self.tz), f"{what}_to": from_utc(end, self.tz)}
        for rows in self._pages(name, "order_id", chunk_size, **params):
            yield [dict(row, **{column: to_utc(row[column], self.tz)}) for row in rows]

    def completed_orders(
        self, *, completed_from: datetime, completed_to: datetime, chunk_size: int
    ) -> Iterator[list[dict[str, Any]]]:
        """Pages of orders completed in [from, to), with times converted to naive UTC."""
        pages = self._in_period(
            "completed_orders", "completed", completed_from, completed_to, chunk_size
        )
        for rows in pages:
            yield [row for row in rows if row["completed_at"] is not None]

    def abandoned_in_period(
        self, *, abandoned_from: datetime, abandoned_to: datetime, chunk_size: int
    ) -> Iterator[list[dict[str, Any]]]:
        """Pages of orders abandoned in [from, to), with times converted to naive UTC."""
        yield from self._in_period(
            "abandoned_in_period", "abandoned", abandoned_from, abandoned_to, chunk_size
        )

    def customers(self, *, chunk_size: int) -> Iterator[list[dict[str, Any]]]:
        """Pages of every customer with their latest abandoned order (times naive UTC)."""
        for rows in self._pages("search_customers", "customer_id", chunk_size):
            yield [dict(row, abandoned_at=to_utc(row["abandoned_at"], self.tz)) for row in rows]

    def check(self, now: datetime) -> list[str]:
        """Run every contract query once; return one line per problem (empty: all good)."""
        problems: list[str] = []
        samples = {
            "abandoned_orders": dict(
                due_before=now,
                active_since=now - timedelta(days=365),
                after_at=now - timedelta(days=365),
                after_id=-1,
                chunk_size=1,
            ),
            "abandoned_order": dict(order_id=-1),
            "order_items": dict(order_ids=[-1]),
            "purchases_since": dict(customer_ids=[-1]),
            "search_customers": dict(after_id=-1, chunk_size=1),
            "completed_orders": dict(
                completed_from=now - timedelta(days=1),
                completed_to=now,
                after_id=-1,
                chunk_size=1,
            ),
            "abandoned_in_period": dict(
                abandoned_from=now - timedelta(days=1),
                abandoned_to=now,
                after_id=-1,
                chunk_size=1,
            ),
        }
        for name, (columns, _params, _dt) in CONTRACT.items():
            try:
                with self.engine.connect() as conn:
                    result = conn.execute(self.contract.statements[name], samples[name])
                    keys = set(result.keys())
                    result.close()
            except SQLAlchemyError as exc:
                detail = str(getattr(exc, "orig", exc)).splitlines()[0]
                problems.append(f"{self.contract.path(name)}: {detail}")
                continue
            missing = [c for c in columns if c not in keys]
            if missing:
                problems.append(
                    f"{self.contract.path(name)}: missing column(s) {', '.join(missing)}"
                )
        return problems
