"""``cartnudge check``'s look at the query plans: every contract query as cartnudge runs it (the
wrapped ``abandoned.sql`` pages, one order, a search page, a report page, and the plain files),
with representative bind values, under the database's EXPLAIN; one warning per table a plan
reads whole (:mod:`cartnudge.shop.plans` reads the plans).

Keyset pages filtered by time are explained as their first page (the filter alone decides the
plan; a later page's ``order_id > :after_id`` lets a planner walk the primary key instead and
hide the missing index); the customers' pages, which read every customer anyway, as a later
page (it must seek by the primary key). Warnings never fail ``check``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.elements import TextClause

from cartnudge.shop import plans
from cartnudge.shop.contract import EXPLAIN_SETUP, explained
from cartnudge.shop.convert import MAX_YEAR, MIN_YEAR, from_utc
from cartnudge.shop.reader import ShopReader

SAMPLE_IDS = ["1", "2"]


def _queries(reader: ShopReader, now: datetime) -> Iterator[tuple[str, str, TextClause, dict]]:
    """(file, label, statement, bind values) of every contract query cartnudge runs."""
    contract, tz = reader.contract, reader.tz
    local = lambda moment: from_utc(moment, tz)  # noqa: E731
    has_activity = "last_activity_at" in reader.columns("abandoned")
    activity = "last_activity_at" if has_activity else "abandoned_at"
    yield (
        "abandoned",
        "sweep page",
        contract.sweep_page(activity, first=True),
        dict(
            dt_due_before=local(now - timedelta(hours=1)),
            dt_active_since=local(now - timedelta(days=1)),
            chunk_size=500,
        ),
    )
    strays: dict[str, Any] = dict(
        dt_floor=datetime(MIN_YEAR, 1, 2),
        dt_ceiling=datetime(min(now.year + 1, MAX_YEAR), 1, 1),
        chunk_size=500,
    )
    if has_activity:
        strays.update(
            dt_active_since=local(now - timedelta(days=1)),
            dt_due_before=local(now - timedelta(hours=1)),
        )
    yield (
        "abandoned",
        "strays page",
        contract.strays_page(activity if has_activity else None, first=True),
        strays,
    )
    window = dict(
        dt_due_before=local(now - timedelta(hours=1)),
        dt_active_since=local(now - timedelta(days=1)),
        chunk_size=500,
    )
    yield (
        "abandoned",
        "incremental sweep: newly due",
        contract.changed_page(activity, "abandoned_at", bounded=True, first=True),
        dict(
            window,
            dt_low=local(now - timedelta(hours=4, minutes=10)),
            dt_high=local(now - timedelta(hours=3)),
        ),
    )
    if has_activity:
        yield (
            "abandoned",
            "incremental sweep: new activity",
            contract.changed_page(activity, activity, bounded=False, first=True),
            dict(window, dt_low=local(now - timedelta(hours=1, minutes=10))),
        )
    yield (
        "abandoned",
        "incremental sweep: revisits",
        contract.orders_in_window(activity),
        dict(
            ids=SAMPLE_IDS,
            dt_due_before=window["dt_due_before"],
            dt_active_since=window["dt_active_since"],
        ),
    )
    yield "abandoned", "one order", contract.one_order(), dict(order_id=SAMPLE_IDS[0])
    yield (
        "abandoned",
        "orders of a search page",
        contract.orders_of_customers(),
        dict(ids=SAMPLE_IDS),
    )
    yield (
        "abandoned",
        "report period page",
        contract.period_page(first=True),
        dict(dt_from=local(now - timedelta(days=30)), dt_to=local(now), chunk_size=500),
    )
    yield (
        "completed_orders",
        "completed_orders page",
        contract.completed_page(first=True),
        dict(
            completed_from=local(now - timedelta(days=1)),
            completed_to=local(now),
            chunk_size=500,
        ),
    )
    yield (
        "search_customers",
        "search page",
        contract.customers_page(first=False),
        dict(after_id=SAMPLE_IDS[0], chunk_size=500),
    )
    yield (
        "order_items",
        "order_items",
        contract.statements["order_items"],
        dict(order_ids=SAMPLE_IDS),
    )
    purchases: dict[str, Any] = dict(customer_ids=SAMPLE_IDS)
    if contract.uses("purchases_since", "emails"):
        purchases["emails"] = ["shopper@example.jp"]
    yield "purchases_since", "purchases_since", contract.statements["purchases_since"], purchases
    if contract.has("product_status"):
        yield (
            "product_status",
            "product_status",
            contract.statements["product_status"],
            dict(order_ids=SAMPLE_IDS),
        )


def _scans(reader: ShopReader, name: str, stmt: TextClause, params: dict) -> list[plans.Scan]:
    engine = reader.engine
    dialect = engine.dialect.name
    query = explained(stmt, dialect)
    if query is None:
        return []
    aliases = plans.aliases_of(reader.contract.bodies[name])
    with engine.connect() as conn:  # rolled back on leaving: SET LOCAL ends with it
        for setup in EXPLAIN_SETUP.get(dialect, ()):
            conn.exec_driver_sql(setup)
        result = conn.execute(query, params)
        if dialect == "sqlite":
            return plans.sqlite_scans([r["detail"] for r in result.mappings()], aliases)
        if dialect == "postgresql":
            return plans.postgres_scans(result.scalar())
        return plans.mariadb_scans([dict(r) for r in result.mappings()], aliases)


def plan_warnings(reader: ShopReader, now: datetime) -> list[str]:
    """One line per table a contract query's plan reads whole, naming the file, the query and
    the index that would help (README, "The shop contract"); a plan that cannot be read is one
    line too. ``now`` is naive UTC; nothing is written."""
    lines: list[str] = []
    for name, label, stmt, params in _queries(reader, now):
        try:
            scans = _scans(reader, name, stmt, params)
        except SQLAlchemyError as exc:
            detail = str(getattr(exc, "orig", exc)).splitlines()[0]
            lines.append(f"{name}.sql ({label}): cannot read its plan: {detail}")
            continue
        lines += [plans.warning(f"{name}.sql", label, scan) for scan in scans]
    return lines
