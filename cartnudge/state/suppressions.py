"""The suppression list: opt-outs and hard bounces, per channel."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select

from cartnudge.core.rules import normalise_address
from cartnudge.state.schema import suppressions
from cartnudge.state.store import Store, _insert_ignoring_conflicts


class Suppressions(Store):
    """Reads and writes of the suppression list. Raises DatabaseError on failure."""

    def suppressed(self, channel: str, addresses: Iterable[str]) -> set[str]:
        wanted = sorted({normalise_address(a, channel) for a in addresses if a})
        if not wanted:
            return set()
        stmt = select(suppressions.c.address).where(
            suppressions.c.channel == channel, suppressions.c.address.in_(wanted)
        )
        return self._read("suppressions", lambda c: set(c.execute(stmt).scalars()))

    def add_suppression(
        self, channel: str, address: str, reason: str, now: datetime, detail: str | None = None
    ) -> bool:
        """Add ``address``; False when it was already there. (Counted by a look before the
        insert: an ignored conflict's rowcount is not reliable on every driver.)"""
        row = dict(
            channel=channel,
            address=normalise_address(address, channel),
            reason=reason[:32],
            detail=detail,
            created_at=now,
        )
        present = (
            select(func.count())
            .select_from(suppressions)
            .where(suppressions.c.channel == channel, suppressions.c.address == row["address"])
        )

        def run(conn: Any) -> bool:
            if conn.execute(present).scalar_one():
                return False
            conn.execute(_insert_ignoring_conflicts(conn, suppressions), [row])
            return True

        return self._write("add suppression", run)

    def remove_suppression(self, channel: str, address: str) -> bool:
        """Remove ``address``; False when it was not there."""
        stmt = delete(suppressions).where(
            suppressions.c.channel == channel,
            suppressions.c.address == normalise_address(address, channel),
        )
        return self._write("remove suppression", lambda c: c.execute(stmt).rowcount > 0)

    def iter_suppressions(self, channel: str | None = None) -> Iterator[dict[str, Any]]:
        """Every suppression, address order, streamed in pages (the list can be long)."""
        s = suppressions.c
        after: tuple[str, str] = ("", "")
        while True:
            stmt = (
                select(suppressions)
                .where(or_(s.address > after[0], and_(s.address == after[0], s.channel > after[1])))
                .order_by(s.address, s.channel)
                .limit(1000)
            )
            if channel:
                stmt = stmt.where(s.channel == channel)
            rows = self._read(
                "suppressions", lambda c, q=stmt: [dict(r._mapping) for r in c.execute(q)]
            )
            yield from rows
            if len(rows) < 1000:
                return
            after = (rows[-1]["address"], rows[-1]["channel"])
