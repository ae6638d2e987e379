"""The coupon pool in cartnudge's state: import, list, assign to a delivery, keep.

A code is given to one delivery at most: :meth:`Coupons.assign` takes a free code with
``UPDATE ... SET delivery_id = :id WHERE code = :code AND delivery_id IS NULL`` and counts the
rows it changed. Two sweeps racing for the same code both run that update; the database lets
one change the row and the other finds ``delivery_id`` already set (PostgreSQL and InnoDB
re-read the row after the lock, SQLite has one writer), changes nothing and tries the next
free code. ``delivery_id`` is also unique, so a delivery never holds two codes. A delivery keeps
its code: a retry or a re-render finds it with :meth:`Coupons.of_deliveries`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update

from cartnudge.core.coupons import Abandonment, Grant, fill_pattern
from cartnudge.errors import DatabaseError
from cartnudge.state.schema import coupon_grants, coupons, deliveries, skips
from cartnudge.state.store import Store, _insert_ignoring_conflicts

CANDIDATES = 8  # free codes read per try; a racing sweep takes some, the next one is tried
GENERATE_TRIES = 20  # codes drawn from a pattern before giving up (each one existing already)


@dataclass(frozen=True)
class Coupon:
    code: str
    discount: str
    expires_at: datetime | None  # naive UTC

    def context(self) -> dict[str, Any]:
        """What templates get as ``coupon``."""
        return {"code": self.code, "discount": self.discount, "expires_at": self.expires_at}


class Coupons(Store):
    """Reads and writes of the coupon pool. Raises DatabaseError on failure."""

    def import_codes(
        self, rows: Iterable[tuple[str, str, datetime | None]], now: datetime
    ) -> tuple[int, int]:
        """Add (code, discount, valid_until) rows; (added, already there). A code already in
        the pool is left as it is (it may have been given)."""
        wanted = {code: (discount, until) for code, discount, until in rows}
        if not wanted:
            return 0, 0
        c = coupons.c

        def run(conn: Any) -> tuple[int, int]:
            present: set[str] = set()
            codes = sorted(wanted)
            for start in range(0, len(codes), 500):
                chunk = codes[start : start + 500]
                present |= set(conn.execute(select(c.code).where(c.code.in_(chunk))).scalars())
            new = [
                dict(code=code, discount=d, valid_until=u, imported_at=now)
                for code, (d, u) in sorted(wanted.items())
                if code not in present
            ]
            if new:
                conn.execute(_insert_ignoring_conflicts(conn, coupons), new)
            return len(new), len(present)

        return self._write("coupons import", run)

    def iter_coupons(self) -> Iterator[dict[str, Any]]:
        """Every code, free ones and given ones, ordered by code."""
        stmt = select(coupons).order_by(coupons.c.code)
        return iter(
            self._read("coupons", lambda conn: [dict(r._mapping) for r in conn.execute(stmt)])
        )

    def _free(self, now: datetime) -> Any:
        c = coupons.c
        return (c.delivery_id.is_(None), or_(c.valid_until.is_(None), c.valid_until > now))

    def available(self, now: datetime) -> int:
        """Free codes not past their fixed expiry."""
        stmt = select(func.count()).select_from(coupons).where(*self._free(now))
        return self._read("coupons available", lambda conn: int(conn.execute(stmt).scalar() or 0))

    def of_deliveries(self, delivery_ids: Sequence[int]) -> dict[int, Coupon]:
        """The code each delivery holds, if any."""
        if not delivery_ids:
            return {}
        c = coupons.c
        stmt = select(c.delivery_id, c.code, c.discount, c.expires_at).where(
            c.delivery_id.in_(list(delivery_ids))
        )
        return self._read(
            "coupons of deliveries",
            lambda conn: {
                int(r.delivery_id): Coupon(r.code, r.discount, r.expires_at)
                for r in conn.execute(stmt)
            },
        )

    def granted_since(self, persons: Iterable[str], since: datetime) -> set[str]:
        """Which of ``persons`` (keys of cartnudge.core.persons) were given a code since
        ``since``."""
        keys = sorted({p for p in persons if p})
        if not keys:
            return set()
        g = coupon_grants.c
        stmt = select(g.person).where(g.person.in_(keys), g.granted_at >= since).distinct()
        return self._read("coupon grants", lambda conn: set(conn.execute(stmt).scalars()))

    def assign(
        self,
        delivery_id: int,
        persons: Iterable[str],
        now: datetime,
        expires_at: datetime | None,
    ) -> Coupon | None:
        """Give a free code to ``delivery_id`` (or return the one it holds); None when the
        pool has no free code. ``expires_at`` is the relative expiry; a code's fixed expiry
        wins when it comes first. Records the grant under every person key."""
        held = self.of_deliveries([delivery_id]).get(delivery_id)
        if held is not None:
            return held
        c = coupons.c
        keys = sorted({p for p in persons if p})

        free = (
            select(c.code, c.discount, c.valid_until)
            .where(*self._free(now))
            .order_by(c.code)
            .limit(CANDIDATES)
        )
        # Each try is its own short transaction: a fresh read sees what racing sweeps took
        # (MySQL's repeatable read would show one snapshot for a whole transaction).
        while True:
            found = self._read("coupons free", lambda conn: conn.execute(free).all())
            if not found:
                return None
            for code, discount, valid_until in found:
                until = expires_at
                if valid_until is not None and (until is None or valid_until < until):
                    until = valid_until

                def take(conn: Any, code: str = code, until: datetime | None = until) -> bool:
                    taken = conn.execute(
                        update(coupons)
                        .where(c.code == code, c.delivery_id.is_(None))
                        .values(delivery_id=delivery_id, assigned_at=now, expires_at=until)
                    ).rowcount
                    if taken != 1:
                        return False
                    _grant(conn, keys, code, now)
                    return True

                if self._write("coupon assign", take):
                    return Coupon(code, discount, until)

    def generate(
        self,
        delivery_id: int,
        persons: Iterable[str],
        now: datetime,
        expires_at: datetime | None,
        pattern: str,
        discount: str,
        pick: Callable[[str], str] = secrets.choice,
    ) -> Coupon:
        """Make a new code from ``pattern`` for ``delivery_id`` (or return the one it holds),
        kept like a pool code (``coupons.source: pattern``). The code column is unique: a code
        that exists already (given before, or made by a racing sweep) inserts nothing and
        another is drawn, so a code is never given twice. Records the grant under every
        person key. Raises DatabaseError after :data:`GENERATE_TRIES` draws that all existed
        (a pattern with far too few random characters)."""
        held = self.of_deliveries([delivery_id]).get(delivery_id)
        if held is not None:
            return held
        keys = sorted({p for p in persons if p})
        for _ in range(GENERATE_TRIES):
            code = fill_pattern(pattern, pick)

            def put(conn: Any, code: str = code) -> bool:
                row = dict(
                    code=code,
                    discount=discount,
                    imported_at=now,
                    delivery_id=delivery_id,
                    assigned_at=now,
                    expires_at=expires_at,
                )
                if conn.execute(_insert_ignoring_conflicts(conn, coupons), [row]).rowcount != 1:
                    return False
                _grant(conn, keys, code, now)
                return True

            if self._write("coupon generate", put):
                return Coupon(code, discount, expires_at)
            held = self.of_deliveries([delivery_id]).get(delivery_id)
            if held is not None:  # the delivery holds one already (its unique column)
                return held
        raise DatabaseError(
            f"coupons.pattern {pattern!r}: {GENERATE_TRIES} codes in a row existed already; "
            "give it more random characters"
        )

    def withdraw(self, delivery_id: int) -> None:
        """Forget the code made for ``delivery_id`` and its grants: the shop could not be given
        it, so the shopper never sees it (the message goes without one, or waits)."""
        c, g = coupons.c, coupon_grants.c

        def run(conn: Any) -> None:
            codes = list(conn.execute(select(c.code).where(c.delivery_id == delivery_id)).scalars())
            if codes:
                conn.execute(delete(coupon_grants).where(g.code.in_(codes)))
                conn.execute(delete(coupons).where(c.code.in_(codes)))

        self._write("coupon withdraw", run)

    def redeem(self, code_orders: Iterable[tuple[str, str, datetime, int | None]]) -> int:
        """Mark given codes redeemed by (code, order id, when, the order's total_amount);
        returns how many were new. The amount prices a percentage code in the report."""
        rows = list(code_orders)
        if not rows:
            return 0
        c = coupons.c

        def run(conn: Any) -> int:
            done = 0
            for code, order_id, at, amount in rows:
                done += conn.execute(
                    update(coupons)
                    .where(
                        c.code == code, c.delivery_id.is_not(None), c.redeemed_order_id.is_(None)
                    )
                    .values(redeemed_order_id=order_id, redeemed_at=at, redeemed_amount=amount)
                ).rowcount
            return done

        return self._write("coupon redeem", run)

    def seeker_facts(self, end: datetime) -> tuple[list[Grant], list[Abandonment]]:
        """Every code given before ``end`` (with its person keys and cart), and the carts the
        shoppers who got them abandoned after their first code and before ``end`` (from
        cartnudge's deliveries and skips), for :func:`cartnudge.core.coupons.coupon_seekers`."""
        g, c, d, s = coupon_grants.c, coupons.c, deliveries.c, skips.c
        granted = (
            select(g.person, g.code, g.granted_at, d.order_id)
            .select_from(
                coupon_grants.join(coupons, c.code == g.code).outerjoin(
                    deliveries, d.id == c.delivery_id
                )
            )
            .where(g.granted_at < end)
        )
        rows = self._read("coupon grants", lambda conn: conn.execute(granted).all())
        by_code: dict[str, tuple[set[str], datetime, str | None]] = {}
        for person, code, at, order_id in rows:
            keys, first, _ = by_code.setdefault(code, (set(), at, order_id))
            keys.add(person)
        grants = [Grant(frozenset(k), at, o, code) for code, (k, at, o) in by_code.items()]
        if not grants:
            return [], []
        since = min(x.at for x in grants)
        every = {k for x in grants for k in x.keys}
        cids = sorted({k.partition(":")[2] for k in every if k.startswith("customer:")})
        addresses = sorted({k.partition(":")[2] for k in every if not k.startswith("customer:")})
        found: dict[str, tuple[set[str], datetime]] = {}

        def note(order_id: str, keys: list[str], at: datetime) -> None:
            entry = found.setdefault(order_id, (set(), at))
            entry[0].update(k for k in keys if k in every)

        def read(conn: Any) -> None:
            for start in range(0, max(len(cids), len(addresses)), 500):
                ids, addrs = cids[start : start + 500], addresses[start : start + 500]
                who = or_(d.customer_id.in_(ids), d.recipient.in_(addrs))
                stmt = select(d.order_id, d.customer_id, d.channel, d.recipient, d.abandoned_at)
                stmt = stmt.where(who, d.abandoned_at > since, d.abandoned_at < end)
                for r in conn.execute(stmt):
                    keys = [f"customer:{r.customer_id}"] if r.customer_id else []
                    if r.recipient:
                        keys.append(f"{r.channel}:{r.recipient}")
                    note(r.order_id, keys, r.abandoned_at)
                if ids:
                    stmt = select(s.order_id, s.customer_id, s.abandoned_at).where(
                        s.customer_id.in_(ids), s.abandoned_at > since, s.abandoned_at < end
                    )
                    for r in conn.execute(stmt):
                        note(r.order_id, [f"customer:{r.customer_id}"], r.abandoned_at)

        self._read("coupon seekers", read)
        carts = [Abandonment(frozenset(k), o, at) for o, (k, at) in found.items() if k]
        return grants, carts


def _grant(conn: Any, keys: Sequence[str], code: str, now: datetime) -> None:
    """Record that the person known by ``keys`` was given ``code`` at ``now`` (the 90-day rule
    reads these under every key)."""
    if keys:
        conn.execute(
            _insert_ignoring_conflicts(conn, coupon_grants),
            [dict(person=k, code=code, granted_at=now) for k in keys],
        )
