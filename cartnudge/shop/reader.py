"""Read the shop's database through the shop contract (sql/).

Each file is headed by the columns it returns and the bind parameters it takes; ``abandoned.sql``
defines abandoned orders once and every read of them is a wrapper around it
(:class:`cartnudge.shop.contract.ShopContract`). Reads are short keyset pages, never one long
cursor: a sweep that spends minutes sending holds no transaction open on the shop.

Every value is converted once, here (:mod:`cartnudge.shop.convert`): times to naive UTC, money
to the shop's minor unit, ids to text, consent strictly. A row that cannot be used becomes a
:class:`RowProblem` naming the file, the order, the column and the skip reason: it is counted and
skipped, and never stops a command (README, "No row stops anything").

Ids that come from outside the shop (a command line, a token, cartnudge's own rows) are bound
as text: PostgreSQL, MariaDB and SQLite all compare a text parameter with an integer id column
correctly, so integer and text ids need no declaration.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.elements import TextClause

from cartnudge.core.incremental import ReadPlan
from cartnudge.core.persons import normalise_email
from cartnudge.core.phones import normalise_phone
from cartnudge.core.rules import AbandonedStep, Candidate, CustomerStatus, Storefront
from cartnudge.core.urls import web_url
from cartnudge.errors import ContractError, DatabaseError
from cartnudge.shop.contract import FILES, ShopContract
from cartnudge.shop.convert import (
    MAX_YEAR,
    MIN_YEAR,
    BadValue,
    count_of,
    enum_of,
    flag_of,
    from_utc,
    id_of,
    money_of,
    text_of,
    time_of,
)

log = logging.getLogger("cartnudge.shop")
# How far a fresh shop time may run ahead of the clock before check calls it a zone mistake.
SKEW_TOLERANCE = timedelta(minutes=10)


@dataclass(frozen=True)
class AbandonedOrder:
    """A row of abandoned.sql: what the rules see, plus what the message shows."""

    candidate: Candidate
    raw_order_id: Any
    customer_name: str
    lp_id: str | None
    total_amount: int


@dataclass(frozen=True)
class RowProblem:
    """A row the contract cannot use: counted as a skip with ``reason`` and never fatal.

    ``order_id`` is the row's id as text ("?" when the id itself is unusable); ``column`` the
    contract column at fault; ``message`` one line naming the file, order and column."""

    order_id: str
    message: str
    reason: str = "invalid_row"
    column: str = ""
    customer_id: str | None = None
    abandoned_at: datetime | None = None
    abandoned_step: str | None = None


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
    # The optional columns image_url and product_url: an http(s) address or None (a value
    # that is not one is left out, cartnudge.core.urls.web_url).
    image_url: str | None = None
    product_url: str | None = None

    @property
    def subtotal(self) -> int:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class ProductStatus:
    """A row of product_status.sql: the product's price now and its stock (None: unknown)."""

    current_price: int | None
    stock: int | None


@dataclass
class Purchases:
    """The latest completed order per customer id and per normalised e-mail address (naive
    UTC), for the re-check before sending: a purchase by another record of the same person
    counts (SPEC "person")."""

    by_customer: dict[str, datetime] = field(default_factory=dict)
    by_email: dict[str, datetime] = field(default_factory=dict)

    def latest(self, customer_id: str | None, email: str | None) -> datetime | None:
        found = [
            self.by_customer.get(customer_id or ""),
            self.by_email.get(normalise_email(email) or ""),
        ]
        times = [t for t in found if t is not None]
        return max(times) if times else None

    def get(self, customer_id: str, default: datetime | None = None) -> datetime | None:
        return self.by_customer.get(customer_id, default)


def _note(store: dict[str, datetime], key: str | None, when: datetime) -> None:
    if key and (key not in store or store[key] < when):
        store[key] = when


class ShopReader:
    """Reads candidates, items and purchases from the shop. Raises DatabaseError on failure
    (the database cannot be read, or a file misses a required column), never for one row."""

    def __init__(
        self,
        engine: Engine,
        contract: ShopContract,
        shop_tz: ZoneInfo,
        phone_region: str = "JP",
        money_decimals: int = 0,
    ) -> None:
        self.engine = engine
        self.contract = contract
        self.tz = shop_tz
        self.phone_region = phone_region
        self.money_decimals = money_decimals
        self._columns: dict[str, frozenset[str]] = {}

    # -- plumbing -----------------------------------------------------------------------------

    def _run(self, name: str, stmt: TextClause | None = None, **params: Any) -> list[Any]:
        try:
            with self.engine.connect() as conn:
                result = conn.execute(
                    stmt if stmt is not None else self.contract.statements[name], params
                )
                # The contract's columns, checked on every plain query (as `check` does once;
                # the wrapped abandoned.sql is checked by columns()): a renamed column is one
                # line and exit 4, never a crash in the middle of a page.
                if stmt is None:
                    missing = [c for c in FILES[name][0] if c not in set(result.keys())]
                    if missing:
                        result.close()
                        raise ContractError(
                            f"{self.contract.path(name)}: missing column(s) {', '.join(missing)}"
                        )
                return list(result.mappings())
        except SQLAlchemyError as exc:
            detail = str(getattr(exc, "orig", exc)).splitlines()[0]
            raise DatabaseError(f"{self.contract.path(name)}: {detail}") from None

    def columns(self, name: str) -> frozenset[str]:
        """The columns file ``name`` returns (run once with no rows, then remembered).
        Raises ContractError when a required one is missing."""
        if name not in self._columns:
            try:
                with self.engine.connect() as conn:
                    result = conn.execute(self.contract.columns_probe(name), _probe_params(name))
                    keys = frozenset(result.keys())
                    result.close()
            except SQLAlchemyError as exc:
                detail = str(getattr(exc, "orig", exc)).splitlines()[0]
                raise DatabaseError(f"{self.contract.path(name)}: {detail}") from None
            required = FILES[name][0]
            missing = [c for c in required if c not in keys]
            if missing:
                raise ContractError(
                    f"{self.contract.path(name)}: missing column(s) {', '.join(missing)}"
                )
            self._columns[name] = keys
        return self._columns[name]

    def _keyset(
        self,
        name: str,
        page: Any,
        params: dict[str, Any],
        chunk_size: int,
        key: str = "order_id",
    ) -> Iterator[list[Any]]:
        """The rows of file ``name`` in keyset pages on ``key``: ``page(first=...)`` gives the
        statement of the first page and of the next ones (``:after_id`` = the last key seen),
        each a short query of at most ``chunk_size`` rows."""
        after_id: Any = None
        while True:
            first = after_id is None
            rows = self._run(
                name,
                page(first=first),
                **(params if first else dict(params, after_id=after_id)),
            )
            if not rows:
                return
            yield rows
            after_id = rows[-1][key]
            if len(rows) < chunk_size or after_id is None:
                return

    def _bucket(self, bucket: tuple[int, int] | None) -> tuple[str | None, dict[str, int]]:
        """(the dialect for the wrappers' bucket condition, its bind values), or (None, {})
        for no bucket (every candidate)."""
        if bucket is None:
            return None, {}
        return self.engine.dialect.name, {"bucket": bucket[0], "bucket_count": bucket[1]}

    def _activity(self) -> str:
        has = "last_activity_at" in self.columns("abandoned")
        return "last_activity_at" if has else "abandoned_at"

    # -- abandoned orders ---------------------------------------------------------------------

    def abandoned_orders(
        self,
        *,
        due_before: datetime,
        active_since: datetime,
        chunk_size: int,
        bucket: tuple[int, int] | None = None,
    ) -> Iterator[list[AbandonedOrder | RowProblem]]:
        """Pages of the orders that may be due: abandoned at or before ``due_before`` and
        active since ``active_since`` (naive UTC), each page one short query; with ``bucket``
        = (bucket, buckets), only the orders in that bucket (cartnudge.core.buckets)."""
        activity = self._activity()
        due = from_utc(due_before, self.tz)
        split, more = self._bucket(bucket)
        after_at: Any = None
        after_id: Any = None
        while True:
            if after_at is None:
                rows = self._run(
                    "abandoned",
                    self.contract.sweep_page(activity, first=True, bucket=split),
                    dt_due_before=due,
                    dt_active_since=from_utc(active_since, self.tz),
                    chunk_size=chunk_size,
                    **more,
                )
            else:
                rows = self._run(
                    "abandoned",
                    self.contract.sweep_page(activity, first=False, bucket=split),
                    dt_due_before=due,
                    after_at=after_at,
                    after_id=after_id,
                    chunk_size=chunk_size,
                    **more,
                )
            if not rows:
                return
            yield [self._parse(row) for row in rows]
            last = rows[-1]
            after_at, after_id = last[activity], last["order_id"]
            if len(rows) < chunk_size or after_at is None:
                return

    def changed_orders(
        self, plan: ReadPlan, chunk_size: int
    ) -> Iterator[list[AbandonedOrder | RowProblem]]:
        """An incremental sweep's reads (cartnudge.core.incremental), each in keyset pages of
        one short query, within the full sweep's window (``plan.due_before``,
        ``plan.active_since``): the orders abandoned in each of ``plan.due_ranges``, those
        active after ``plan.active_after``, and those updated after ``plan.updated_after``
        when abandoned.sql returns the optional ``updated_at``. An order may come in several
        reads; the caller drops the repeats."""
        activity = self._activity()
        reads: list[tuple[str, datetime, datetime | None]] = [
            ("abandoned_at", low, high) for low, high in plan.due_ranges
        ]
        if plan.active_after is not None and activity != "abandoned_at":
            reads.append((activity, plan.active_after, None))
        if plan.updated_after is not None and "updated_at" in self.columns("abandoned"):
            reads.append(("updated_at", plan.updated_after, None))
        window = dict(
            dt_due_before=from_utc(plan.due_before, self.tz),
            dt_active_since=from_utc(plan.active_since, self.tz),
            chunk_size=chunk_size,
        )
        for key, low, high in reads:
            bounds = dict(window, dt_low=from_utc(low, self.tz))
            if high is not None:
                bounds["dt_high"] = from_utc(high, self.tz)
            after: tuple[Any, Any] | None = None
            while True:
                stmt = self.contract.changed_page(
                    activity, key, bounded=high is not None, first=after is None
                )
                if after is None:
                    rows = self._run("abandoned", stmt, **bounds)
                else:
                    rest = {k: v for k, v in bounds.items() if k != "dt_low"}
                    rows = self._run(
                        "abandoned", stmt, **rest, after_at=after[0], after_id=after[1]
                    )
                if not rows:
                    break
                yield [self._parse(row) for row in rows]
                after = (rows[-1][key], rows[-1]["order_id"])
                if len(rows) < chunk_size or after[0] is None:
                    break

    def orders_in_window(
        self, order_ids: Sequence[str], plan: ReadPlan
    ) -> list[AbandonedOrder | RowProblem]:
        """The orders ``order_ids`` (text, as :class:`Candidate` has them) that are in the
        full sweep's window of ``plan``, one query (the caller chunks the ids); an id that
        is not (gone, bought, out of the window) has no row."""
        if not order_ids:
            return []
        rows = self._run(
            "abandoned",
            self.contract.orders_in_window(self._activity()),
            ids=list(order_ids),
            dt_due_before=from_utc(plan.due_before, self.tz),
            dt_active_since=from_utc(plan.active_since, self.tz),
        )
        return [self._parse(row) for row in rows]

    def stray_orders(
        self,
        *,
        due_before: datetime,
        active_since: datetime,
        chunk_size: int,
        bucket: tuple[int, int] | None = None,
    ) -> Iterator[list[AbandonedOrder | RowProblem]]:
        """Pages of the rows :meth:`abandoned_orders` cannot see, so that none vanishes: a
        NULL, implausible or unparseable abandoned_at or activity time (skipped with
        ``invalid_time``), or a NULL activity time in the window (a candidate, its activity
        defaulting to abandoned_at); with ``bucket``, only that bucket's."""
        activity = self._activity()
        split, more = self._bucket(bucket)
        act = activity if activity != "abandoned_at" else None
        params: dict[str, Any] = dict(
            dt_floor=datetime(MIN_YEAR, 1, 2),
            dt_ceiling=datetime(min(due_before.year + 1, MAX_YEAR), 1, 1),
            chunk_size=chunk_size,
            **more,
        )
        if act:
            params.update(
                dt_active_since=from_utc(active_since, self.tz),
                dt_due_before=from_utc(due_before, self.tz),
            )
        pages = self._keyset(
            "abandoned",
            lambda first: self.contract.strays_page(act, first=first, bucket=split),
            params,
            chunk_size,
        )
        for rows in pages:
            yield [self._parse(row) for row in rows]

    def _parse(self, row: Any) -> AbandonedOrder | RowProblem:
        """One row of abandoned.sql as an order, or the problem that makes it unusable."""
        path = self.contract.path("abandoned")
        try:
            order_id = id_of(row["order_id"], "order_id")
        except BadValue:
            order_id = None
        shown = order_id or "?"
        customer_id: str | None = None
        abandoned_at: datetime | None = None
        step: str | None = None
        try:
            if order_id is None:
                raise BadValue("order_id", "invalid_row", "is NULL or unusable")
            customer_id = id_of(row["customer_id"], "customer_id")
            raw_step = row.get("abandoned_step")
            step = str(raw_step).strip().lower() if isinstance(raw_step, str) else None
            abandoned_at = time_of(row["abandoned_at"], "abandoned_at", self.tz)
            if abandoned_at is None:
                raise BadValue("abandoned_at", "invalid_time", "is NULL")
            last_activity = time_of(row.get("last_activity_at"), "last_activity_at", self.tz)
            amount = money_of(row["total_amount"], "total_amount", self.money_decimals)
            status_default = CustomerStatus.MEMBER if customer_id else CustomerStatus.VISITOR
            candidate = Candidate(
                order_id=order_id,
                customer_id=customer_id,
                customer_status=enum_of(
                    row.get("customer_status"), CustomerStatus, "customer_status", status_default
                ),
                storefront=enum_of(
                    row.get("storefront"), Storefront, "storefront", Storefront.SHOP
                ),
                abandoned_step=enum_of(
                    row.get("abandoned_step"), AbandonedStep, "abandoned_step", AbandonedStep.CART
                ),
                abandoned_at=abandoned_at,
                last_activity_at=max(last_activity or abandoned_at, abandoned_at),
                email=text_of(row.get("email"), "email"),
                email_consent=flag_of(row.get("email_consent")),
                fraud_result=text_of(row.get("fraud_result"), "fraud_result"),
                fraud_action=text_of(row.get("fraud_action"), "fraud_action"),
                purchased_at=_lenient_time(row.get("purchased_at"), self.tz),
                total_amount=amount,
                **self._optional(row),
            )
            name = text_of(row.get("customer_name"), "customer_name") or ""
            lp_id = id_of(row.get("lp_id"), "lp_id")
        except BadValue as exc:
            return RowProblem(
                shown,
                f"{path}: order {shown}: {exc}",
                reason=exc.reason,
                column=exc.column,
                customer_id=customer_id,
                abandoned_at=abandoned_at,
                abandoned_step=step,
            )
        return AbandonedOrder(
            candidate=candidate,
            raw_order_id=row["order_id"],
            customer_name=name,
            lp_id=lp_id,
            total_amount=amount,
        )

    def _optional(self, row: Any) -> dict[str, Any]:
        """The contract's optional columns (SMS, push, LINE, the input flow), absent as "no"."""
        raw_phone = text_of(row.get("phone"), "phone")
        phone = normalise_phone(raw_phone, self.phone_region) if raw_phone else None
        return {
            "phone": phone or raw_phone or None,
            "phone_valid": phone is not None,
            "sms_consent": flag_of(row.get("sms_consent")),
            "push_token": text_of(row.get("push_token"), "push_token") or None,
            "push_consent": flag_of(row.get("push_consent")),
            "line_user_id": (text_of(row.get("line_user_id"), "line_user_id") or "").strip()
            or None,
            "line_consent": flag_of(row.get("line_consent")),
            # Segments' first-time/returning: unknown (NULL or absent) falls back to an earlier
            # purchased_at; a value is read as strictly as consent.
            "returning_customer": None
            if row.get("returning_customer") is None
            else flag_of(row.get("returning_customer")),
            "logged_in": flag_of(row.get("logged_in")),
            "ad_input_enabled": flag_of(row.get("ad_input_enabled")),
        }

    def order(self, order_id: Any) -> AbandonedOrder | RowProblem | None:
        """One abandoned order by id (integer or text), or None when there is none."""
        rows = self._run("abandoned", self.contract.one_order(), order_id=str(order_id))
        return self._parse(rows[0]) if rows else None

    def orders_of_customers(self, customer_ids: Sequence[Any]) -> list[AbandonedOrder]:
        """The abandoned orders of these customers (search); unusable rows are left out."""
        ids = sorted({str(c) for c in customer_ids if c is not None})
        if not ids:
            return []
        rows = self._run("abandoned", self.contract.orders_of_customers(), ids=ids)
        return [o for o in (self._parse(r) for r in rows) if isinstance(o, AbandonedOrder)]

    def abandoned_in_period(
        self, *, abandoned_from: datetime, abandoned_to: datetime, chunk_size: int
    ) -> Iterator[list[AbandonedOrder | RowProblem]]:
        """Pages of the orders abandoned in [from, to) (naive UTC), for the report."""
        params = dict(
            dt_from=from_utc(abandoned_from, self.tz),
            dt_to=from_utc(abandoned_to, self.tz),
            chunk_size=chunk_size,
        )
        for rows in self._keyset("abandoned", self.contract.period_page, params, chunk_size):
            yield [self._parse(row) for row in rows]

    # -- items, purchases, completed orders, customers ----------------------------------------

    def order_items(self, order_ids: Sequence[Any]) -> ItemsByOrder:
        """The items per order id (text). An order with an item row the contract does not
        allow has no items here but a line in ``.problems``: its reminder fails, naming the
        row, and the rest of the sweep goes on."""
        items = ItemsByOrder()
        if not order_ids:
            return items
        path = self.contract.path("order_items")
        ids = list(dict.fromkeys(order_ids))
        for row in self._run("order_items", order_ids=ids):
            try:
                order_id = id_of(row["order_id"], "order_id")
            except BadValue:
                continue
            if order_id is None:
                continue
            try:
                name = text_of(row["product_name"], "product_name")
                if name is None or not name.strip():
                    raise ValueError("product_name is empty")
                item = Item(
                    _plain_id(row["product_id"]),
                    name,
                    count_of(row, "quantity", 1),
                    money_of(row["unit_price"], "unit_price", self.money_decimals),
                    (text_of(row.get("category"), "category") or "").strip() or None,
                    _web_url(row.get("image_url")),
                    _web_url(row.get("product_url")),
                )
            except (ValueError, TypeError) as exc:
                items.problems[order_id] = f"{path}: order {order_id}: {exc}"
                continue
            items.setdefault(order_id, []).append(item)
        for order_id in items.problems:
            items.pop(order_id, None)
        return items

    def product_status(self, order_ids: Sequence[Any]) -> dict[str, dict[str, ProductStatus]]:
        """Per order id and product id (text), the product's current price (minor unit) and
        stock from the optional product_status.sql; empty without the file. A value the
        contract refuses reads as unknown (None), with a warning naming the row: the item is
        then taken as it is in the cart, and no trigger fires on it."""
        out: dict[str, dict[str, ProductStatus]] = {}
        if not order_ids or not self.contract.has("product_status"):
            return out
        path = self.contract.path("product_status")
        for row in self._run("product_status", order_ids=list(dict.fromkeys(order_ids))):
            try:
                order_id = id_of(row["order_id"], "order_id")
                product_id = id_of(row["product_id"], "product_id")
            except BadValue as exc:
                log.warning("%s: %s (ignored)", path, exc)
                continue
            if order_id is None or product_id is None:
                continue
            price: int | None = None
            stock: int | None = None
            if row["current_price"] is not None:
                try:
                    price = money_of(row["current_price"], "current_price", self.money_decimals)
                except BadValue as exc:
                    log.warning("%s: order %s: %s (read as unknown)", path, order_id, exc)
            if row["stock"] is not None:
                try:
                    stock = _stock_of(row["stock"])
                except ValueError as exc:
                    log.warning("%s: order %s: %s (read as unknown)", path, order_id, exc)
            out.setdefault(order_id, {})[product_id] = ProductStatus(price, stock)
        return out

    def purchases(
        self, customer_ids: Sequence[Any], emails: Sequence[str | None] = ()
    ) -> Purchases:
        """The latest completed order per customer id and, when purchases_since.sql takes
        ``:emails``, per normalised e-mail address (both naive UTC). Rows with an unusable
        time are left out with a warning."""
        ids = sorted({str(c) for c in customer_ids if c is not None})
        wanted = sorted({e for e in (normalise_email(x) for x in emails) if e})
        out = Purchases()
        uses_emails = self.contract.uses("purchases_since", "emails")
        if not ids and not (wanted and uses_emails):
            return out
        # An empty list would render "IN ()" on some databases: a value no id or address has.
        params: dict[str, Any] = {"customer_ids": ids or [""]}
        if uses_emails:
            params["emails"] = wanted or [""]
        for row in self._run("purchases_since", **params):
            try:
                when = time_of(row["purchased_at"], "purchased_at", self.tz)
                cid = id_of(row["customer_id"], "customer_id")
                email = normalise_email(text_of(row.get("email"), "email"))
            except BadValue as exc:
                log.warning("%s: %s (ignored)", self.contract.path("purchases_since"), exc)
                continue
            if when is None:
                continue
            _note(out.by_customer, cid, when)
            _note(out.by_email, email, when)
        return out

    def completed_orders(
        self, *, completed_from: datetime, completed_to: datetime, chunk_size: int
    ) -> Iterator[list[dict[str, Any]]]:
        """Pages of orders completed in [from, to): ``order_id`` and ``customer_id`` as text,
        ``completed_at`` naive UTC, ``total_amount`` in the minor unit, ``recovery_token``,
        ``abandoned_order_id``, ``email`` and ``coupon_code`` (None when the file does not
        return them). A row that cannot be used is left out with a warning naming it."""
        path = self.contract.path("completed_orders")
        params = dict(
            completed_from=from_utc(completed_from, self.tz),
            completed_to=from_utc(completed_to, self.tz),
            chunk_size=chunk_size,
        )
        pages = self._keyset("completed_orders", self.contract.completed_page, params, chunk_size)
        for rows in pages:
            page = []
            for row in rows:
                try:
                    order_id = id_of(row["order_id"], "order_id")
                    completed_at = time_of(row["completed_at"], "completed_at", self.tz)
                    if order_id is None or completed_at is None:
                        continue
                    page.append(
                        {
                            "order_id": order_id,
                            "customer_id": id_of(row["customer_id"], "customer_id"),
                            "completed_at": completed_at,
                            "total_amount": money_of(
                                row["total_amount"], "total_amount", self.money_decimals
                            ),
                            "recovery_token": text_of(row.get("recovery_token"), "recovery_token"),
                            "abandoned_order_id": id_of(
                                row.get("abandoned_order_id"), "abandoned_order_id"
                            ),
                            "email": text_of(row.get("email"), "email"),
                            "coupon_code": text_of(row.get("coupon_code"), "coupon_code"),
                            # As the shop returned them (integers stay integers in output).
                            "raw_order_id": _plain_id(row["order_id"]),
                            "raw_customer_id": _plain_id(row["customer_id"]),
                        }
                    )
                except BadValue as exc:
                    log.warning("%s: order %s: %s (ignored)", path, _safe_id(row), exc)
            yield page

    def customers(self, *, chunk_size: int) -> Iterator[list[dict[str, Any]]]:
        """Pages of every customer (search_customers.sql) with their latest abandoned order
        (from abandoned.sql): the keys of sql/search_customers.sql's header plus the order's
        ``order_id``, ``abandoned_step``, ``abandoned_at`` (naive UTC), ``total_amount``,
        ``storefront`` and ``lp_id`` (None when the customer has none), and ``_order``."""
        pages = self._keyset(
            "search_customers",
            self.contract.customers_page,
            dict(chunk_size=chunk_size),
            chunk_size,
            key="customer_id",
        )
        for rows in pages:
            latest: dict[str, AbandonedOrder] = {}
            for o in self.orders_of_customers([r["customer_id"] for r in rows]):
                cid = o.candidate.customer_id or ""
                best = latest.get(cid)
                key = (o.candidate.abandoned_at, o.candidate.order_id)
                if best is None or key > (best.candidate.abandoned_at, best.candidate.order_id):
                    latest[cid] = o
            page = []
            for row in rows:
                try:
                    cid = id_of(row["customer_id"], "customer_id")
                    out = {
                        "customer_id": row["customer_id"],
                        "customer_name": text_of(row.get("customer_name"), "customer_name") or "",
                        "email": text_of(row.get("email"), "email"),
                        "email_consent": flag_of(row.get("email_consent")),
                        "customer_status": text_of(row.get("customer_status"), "customer_status"),
                    }
                except BadValue as exc:
                    log.warning(
                        "%s: customer %s: %s (ignored)",
                        self.contract.path("search_customers"),
                        _safe_id(row, "customer_id"),
                        exc,
                    )
                    continue
                order = latest.get(cid or "")
                c = order.candidate if order else None
                out.update(
                    order_id=order.raw_order_id if order else None,
                    abandoned_step=c.abandoned_step.value if c else None,
                    abandoned_at=c.abandoned_at if c else None,
                    total_amount=order.total_amount if order else None,
                    storefront=c.storefront.value if c else None,
                    lp_id=order.lp_id if order else None,
                    _order=order,
                )
                if out["customer_status"] is None and c is not None:
                    out["customer_status"] = c.customer_status.value
                page.append(out)
            yield page

    # -- check --------------------------------------------------------------------------------

    def check(self, now: datetime) -> list[str]:
        """Run every contract query once; return one line per problem (empty: all good).

        Ids are bound as text (``'-1'``), which all three databases compare with integer and
        text id columns alike. Also compares the newest abandoned_at with ``now``: a shop time
        in the future by more than a few minutes means shop.timestamps_timezone is wrong."""
        problems: list[str] = []
        samples: dict[str, dict[str, Any]] = {
            "order_items": dict(order_ids=["-1"]),
            "purchases_since": dict(customer_ids=["-1"]),
            "product_status": dict(order_ids=["-1"]),
        }
        if self.contract.uses("purchases_since", "emails"):
            samples["purchases_since"]["emails"] = ["-1"]
        try:
            self.columns("abandoned")
            self.columns("completed_orders")
            self.columns("search_customers")
            self.order("-1")
            list(
                self.completed_orders(
                    completed_from=now - timedelta(days=1), completed_to=now, chunk_size=1
                )
            )
            self.customers(chunk_size=1).__next__()
        except StopIteration:
            pass
        except DatabaseError as exc:
            problems.append(exc.message)
        for name in ("order_items", "purchases_since", "product_status"):
            if not self.contract.has(name):
                continue
            required, _optional, _params, _dt = FILES[name]
            try:
                with self.engine.connect() as conn:
                    result = conn.execute(self.contract.statements[name], samples[name])
                    keys = set(result.keys())
                    result.close()
            except SQLAlchemyError as exc:
                detail = str(getattr(exc, "orig", exc)).splitlines()[0]
                problems.append(f"{self.contract.path(name)}: {detail}")
                continue
            missing = [c for c in required if c not in keys]
            if missing:
                problems.append(
                    f"{self.contract.path(name)}: missing column(s) {', '.join(missing)}"
                )
        if not problems:
            skew = self.skew(now)
            if skew is not None:
                problems.append(skew)
        return problems

    def optional_columns(self) -> dict[str, list[str]]:
        """Per file, the optional columns it provides (``check`` prints them)."""
        out = {}
        for name in ("abandoned", "order_items", "completed_orders", "search_customers"):
            optional = FILES[name][1]
            out[name] = [c for c in optional if c in self.columns(name) and c not in FILES[name][0]]
        return out

    def skew(self, now: datetime) -> str | None:
        """A one-line error when the shop's freshest abandoned_at is in the future (the
        configured time zone is not the one the shop writes in), else None."""
        newest: datetime | None = None
        rows = self._run(
            "abandoned",
            self.contract.wrapped(
                "abandoned",
                "1 = 1",
                "ORDER BY w.abandoned_at DESC LIMIT :chunk_size",
                ("chunk_size",),
            ),
            chunk_size=5,
        )
        for row in rows:
            try:
                when = time_of(row["abandoned_at"], "abandoned_at", self.tz)
            except BadValue:
                continue
            if when is not None and when <= now + timedelta(days=2):
                newest = when if newest is None else max(newest, when)
        if newest is None or newest <= now + SKEW_TOLERANCE:
            return None
        ahead = newest - now
        hours = round(ahead.total_seconds() / 3600, 1)
        return (
            f"{self.contract.path('abandoned')}: the newest abandoned_at is {hours} hours in "
            f"the future: the shop does not write times in "
            f"shop.timestamps_timezone ({self.tz.key}); set it to the zone the shop writes in"
        )


def _lenient_time(value: Any, tz: ZoneInfo) -> datetime | None:
    """purchased_at is a hint (the re-check before sending decides): unusable reads as NULL."""
    try:
        return time_of(value, "purchased_at", tz)
    except BadValue:
        return None


def _stock_of(value: Any) -> int:
    """A stock count: a whole number (negative counts as 0: oversold is out of stock)."""
    if isinstance(value, bool):
        raise ValueError(f"stock {value!r} is not a whole number")
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        raise ValueError(f"stock {str(value)[:40]!r} is not a whole number") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise ValueError(f"stock {str(value)[:40]!r} is not a whole number")
    return max(0, int(number))


def _plain_id(value: Any) -> Any:
    """An id for output: an integer stays one (also from DECIMAL), anything else as text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    try:
        return id_of(value, "id")
    except BadValue:
        return None


def _safe_id(row: Any, column: str = "order_id") -> str:
    try:
        return id_of(row[column], column) or "?"
    except (BadValue, KeyError):
        return "?"


def _web_url(value: Any) -> str | None:
    """An optional image or page address: used when it is an http(s) URL, else left out (a
    missing picture or link never stops a reminder)."""
    try:
        return web_url(text_of(value, "url"))
    except BadValue:
        return None


def _probe_params(name: str) -> dict[str, Any]:
    if name == "completed_orders":
        return {"completed_from": datetime(2000, 1, 1), "completed_to": datetime(2000, 1, 1)}
    if name == "order_items":
        return {"order_ids": ["0"]}
    return {}
