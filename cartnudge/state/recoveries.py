"""Recovered orders: which completed order a reminder recovered, and by which rule."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from cartnudge.core.attribution import Recovery
from cartnudge.state.schema import recoveries
from cartnudge.state.store import Store, _insert_ignoring_conflicts, row_of


class Recoveries(Store):
    """The recoveries table. Raises DatabaseError on failure."""

    def recovered_customers(self, customer_ids: Iterable[str]) -> set[str]:
        ids = sorted({c for c in customer_ids if c})
        if not ids:
            return set()
        stmt = select(recoveries.c.customer_id).where(recoveries.c.customer_id.in_(ids)).distinct()
        return self._read("recoveries", lambda c: set(c.execute(stmt).scalars()))

    def recoveries_for_orders(self, order_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = sorted(set(order_ids))
        if not ids:
            return {}
        stmt = select(recoveries).where(recoveries.c.order_id.in_(ids))
        return self._read(
            "recoveries", lambda c: {r.order_id: dict(r._mapping) for r in c.execute(stmt)}
        )

    def record_recoveries(self, found: Sequence[Recovery], now: datetime) -> int:
        """Insert recovery markers; an order already marked stays as it was. Returns how many
        were new."""
        if not found:
            return 0
        rows = [row_of(r, recorded_at=now) for r in found]
        ids = [r["order_id"] for r in rows]
        count_new = (
            select(func.count()).select_from(recoveries).where(recoveries.c.order_id.in_(ids))
        )

        def run(conn: Any) -> int:
            before = conn.execute(count_new).scalar_one()
            conn.execute(_insert_ignoring_conflicts(conn, recoveries), rows)
            return conn.execute(count_new).scalar_one() - before

        return self._write("record recoveries", run)
