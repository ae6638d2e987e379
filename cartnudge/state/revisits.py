"""The revisits of incremental sweeps: per order, when its decisions can next change without a
change in the shop (cartnudge.core.incremental)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from cartnudge.state.schema import revisits
from cartnudge.state.store import Store

# Ids per statement: well under every database's limit on bound parameters.
_CHUNK = 500


class Revisits(Store):
    """Reads and writes of ``cartnudge_revisits``. Raises DatabaseError on failure."""

    def replace(self, times: Mapping[str, datetime | None]) -> None:
        """Set each order's revisit time (naive UTC), or clear it (None), in one transaction.
        Order ids are the contract's, as text."""
        if not times:
            return
        ids = sorted(times)
        rows = [{"order_id": i, "revisit_at": t} for i, t in sorted(times.items()) if t is not None]

        def run(conn: Any) -> None:
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                conn.execute(delete(revisits).where(revisits.c.order_id.in_(chunk)))
            if rows:
                conn.execute(revisits.insert(), rows)

        self._write("revisits", run)

    def due(self, until: datetime) -> list[str]:
        """The order ids whose revisit time is at or before ``until`` (naive UTC), in order."""
        stmt = (
            select(revisits.c.order_id)
            .where(revisits.c.revisit_at <= until)
            .order_by(revisits.c.order_id)
        )
        return self._read("revisits", lambda c: list(c.execute(stmt).scalars()))

    def clear(self, order_ids: Sequence[str]) -> None:
        """Forget the revisits of these orders (gone from the shop's window)."""
        self.replace(dict.fromkeys(order_ids))
