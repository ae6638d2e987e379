"""Delivery claims, leases and outcomes, the sweep's history reads, and skips.

cartnudge's own state: delivery claims, suppressions and runs.

The idempotency protocol (DESIGN.md, "Own state and idempotency"):

1. *claim*: insert the delivery row (unique per order, flow, step, episode, channel) with status
   ``claimed`` and a lease, ignoring conflicts; a row that exists is another run's, unless it is
   ``retry`` or a ``claimed`` row whose lease expired, which is taken over by an update. The rows
   carrying this claim's key are ours.
2. *sending*: set just before a batch is handed to a channel.
3. *sent* / *retry* / *failed*: the channel's answer, right after the batch.

A lease given at ``now`` for ``lease`` is over at ``now + lease`` exactly (as a cart expires exactly
at ``abandoned_at + cart_ttl``), so the run at ``now + lease`` may take it.

A claim is this run's only while its row still carries the claim's key: once the lease is over
another run may take it over, so ``mark_sending`` and ``release`` touch only rows still claimed
by the claim that returned them, and ``mark_sending`` refuses (marking nothing) when any of its
rows was taken over, rather than let two runs hand the same delivery to a channel.

A row still ``sending`` after its lease is *in doubt*: the run died with it in a channel's hands.
It is never sent again automatically (at-most-once), and it is counted and reported.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, bindparam, delete, func, or_, select, tuple_, update

from cartnudge.core.attribution import SentDelivery
from cartnudge.core.durations import format_duration
from cartnudge.core.rules import REMINDED_STATUSES, DeliveryStatus, PastDelivery
from cartnudge.errors import DatabaseError
from cartnudge.state.schema import deliveries, skips
from cartnudge.state.store import Store, _insert_ignoring_conflicts, row_of

MAX_ATTEMPTS = 5  # temporary failures: after this many sweeps' tries, a delivery fails for good


class ClaimLost(DatabaseError):
    """Some claims of a batch were taken over by another run: that batch must not be sent."""


@dataclass(frozen=True)
class ClaimRequest:
    order_id: str
    flow: str
    step: int
    episode: int
    channel: str
    customer_id: str | None
    recipient: str
    template_id: int
    amount: int
    abandoned_at: datetime
    episode_started_at: datetime
    due_at: datetime

    @property
    def key(self) -> tuple[str, str, int, int, str]:
        return (self.order_id, self.flow, self.step, self.episode, self.channel)


@dataclass(frozen=True)
class Claimed:
    id: int
    key: tuple[str, str, int, int, str]
    attempts: int

    def worn_out(self) -> Outcome | None:
        """The ``failed`` outcome of a claim whose earlier sweeps used up its
        :data:`MAX_ATTEMPTS` temporary failures; None while it may still be tried."""
        if self.attempts < MAX_ATTEMPTS:
            return None
        detail = f"gave up after {self.attempts} temporary failures"
        return Outcome(self.id, DeliveryStatus.FAILED, detail)


@dataclass(frozen=True)
class SkipRecord:
    order_id: str
    flow: str
    episode: int
    reason: str
    customer_id: str | None
    abandoned_at: datetime


@dataclass(frozen=True)
class Outcome:
    delivery_id: int
    status: DeliveryStatus
    detail: str = ""
    message_id: str | None = None


class Deliveries(Store):
    """Claims, leases and delivery outcomes. Raises DatabaseError on failure."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        # delivery id -> key of the claim that returned it, until it is handed over, released or
        # recorded (so at most a page of entries): see _still_ours.
        self._claim_keys: dict[int, str] = {}

    def history(self, order_ids: Sequence[str]) -> dict[str, list[PastDelivery]]:
        if not order_ids:
            return {}
        stmt = select(
            deliveries.c.order_id,
            deliveries.c.flow,
            deliveries.c.step,
            deliveries.c.episode,
            deliveries.c.channel,
            deliveries.c.status,
            deliveries.c.created_at,
            deliveries.c.sent_at,
            deliveries.c.episode_started_at,
        ).where(deliveries.c.order_id.in_(list(order_ids)))
        out: dict[str, list[PastDelivery]] = {}

        def read(conn: Any) -> None:
            for row in conn.execute(stmt):
                out.setdefault(row.order_id, []).append(
                    PastDelivery(
                        flow=row.flow,
                        step=row.step,
                        episode=row.episode,
                        channel=row.channel,
                        status=DeliveryStatus(row.status),
                        at=row.sent_at or row.created_at,
                        episode_started_at=row.episode_started_at,
                    )
                )

        self._read("history", read)
        return out

    def claim(
        self, requests: Sequence[ClaimRequest], now: datetime, lease: timedelta
    ) -> list[Claimed]:
        """Claim ``requests``; return the ones this call owns (others belong to other runs)."""
        if not requests:
            return []
        key = uuid.uuid4().hex
        ordered = sorted(requests, key=lambda r: r.key)  # one lock order for every sweeper
        rows = [
            row_of(
                r,
                status=DeliveryStatus.CLAIMED.value,
                claimed_by=key,
                lease_until=now + lease,
                attempts=0,
                created_at=now,
                updated_at=now,
            )
            for r in ordered
        ]
        d = deliveries.c
        takeover = (
            update(deliveries)
            .where(
                tuple_(d.order_id, d.flow, d.step, d.episode, d.channel).in_(
                    [r.key for r in ordered]
                ),
                or_(
                    d.status == DeliveryStatus.RETRY.value,
                    and_(d.status == DeliveryStatus.CLAIMED.value, d.lease_until <= now),
                ),
            )
            .values(
                claimed_by=key,
                status=DeliveryStatus.CLAIMED.value,
                lease_until=now + lease,
                updated_at=now,
            )
        )
        mine = select(d.id, d.order_id, d.flow, d.step, d.episode, d.channel, d.attempts).where(
            d.claimed_by == key
        )

        def run(conn: Any) -> list[Claimed]:
            conn.execute(_insert_ignoring_conflicts(conn, deliveries), rows)
            conn.execute(takeover)
            return [
                Claimed(r.id, (r.order_id, r.flow, r.step, r.episode, r.channel), r.attempts)
                for r in conn.execute(mine)
            ]

        claimed = self._write("claim", run)
        for c in claimed:
            self._claim_keys[c.id] = key
        return claimed

    def _still_ours(self, delivery_ids: Sequence[int]) -> Any:
        """Rows still ``claimed`` and, for ids this store claimed, still by that claim (not taken
        over by another run after the lease ran out)."""
        d = deliveries.c
        by_key: dict[str | None, list[int]] = {}
        for i in sorted(set(delivery_ids)):
            by_key.setdefault(self._claim_keys.get(i), []).append(i)
        return and_(
            d.status == DeliveryStatus.CLAIMED.value,
            or_(
                *(
                    d.id.in_(ids) if key is None else and_(d.id.in_(ids), d.claimed_by == key)
                    for key, ids in by_key.items()
                )
            ),
        )

    def _forget(self, delivery_ids: Iterable[int]) -> None:
        for i in delivery_ids:
            self._claim_keys.pop(i, None)

    def release(self, delivery_ids: Sequence[int]) -> None:
        """Give back claims that will not be sent after all (never handed to a channel)."""
        if delivery_ids:
            stmt = delete(deliveries).where(self._still_ours(delivery_ids))
            self._write("release", lambda c: c.execute(stmt))
            self._forget(delivery_ids)

    def mark_sending(self, delivery_ids: Sequence[int], now: datetime, lease: timedelta) -> None:
        """Mark this run's claims ``sending``, right before they are handed to a channel.

        Raises DatabaseError, marking none of them, when any is no longer this run's claim (its
        lease ran out and another run took it over): sending it would send it twice."""
        if not delivery_ids:
            return
        wanted = len(set(delivery_ids))
        stmt = (
            update(deliveries)
            .where(self._still_ours(delivery_ids))
            .values(
                status=DeliveryStatus.SENDING.value,
                lease_until=now + lease,
                attempts=deliveries.c.attempts + 1,
                updated_at=now,
            )
        )

        def run(conn: Any) -> None:
            marked = conn.execute(stmt).rowcount
            if marked != wanted:  # raised inside the transaction: it rolls back
                raise ClaimLost(
                    f"state database, mark sending: {wanted - marked} of {wanted} deliveries "
                    "are no longer this run's claims (their lease, state.lease "
                    f"{format_duration(lease)}, ran out and another run took them over); "
                    "stopped before sending anything twice: make state.lease longer than a "
                    "sweep takes"
                )

        self._write("mark sending", run)
        self._forget(delivery_ids)

    def record(self, outcomes: Sequence[Outcome], now: datetime) -> None:
        """Write each channel answer; one statement for the whole batch."""
        if not outcomes:
            return
        stmt = (
            update(deliveries)
            .where(deliveries.c.id == bindparam("b_id"))
            .values(
                status=bindparam("b_status"),
                error=bindparam("b_error"),
                message_id=bindparam("b_message_id"),
                sent_at=bindparam("b_sent_at"),
                updated_at=now,
            )
        )
        params = [
            dict(
                b_id=o.delivery_id,
                b_status=o.status.value,
                b_error=(o.detail or None) and o.detail[:1000],
                b_message_id=o.message_id,
                b_sent_at=now if o.status is DeliveryStatus.SENT else None,
            )
            for o in outcomes
        ]
        self._write("record results", lambda c: c.execute(stmt, params))
        self._forget(o.delivery_id for o in outcomes)

    def mark_in_doubt(self, now: datetime) -> int:
        """Rows left ``sending`` past their lease: a run died while sending them."""
        return self._write(
            "mark in doubt",
            lambda c: (
                c.execute(
                    update(deliveries)
                    .where(
                        deliveries.c.status == DeliveryStatus.SENDING.value,
                        deliveries.c.lease_until <= now,
                    )
                    .values(
                        status=DeliveryStatus.IN_DOUBT.value,
                        updated_at=now,
                        error="the sweep sending it stopped before the channel answered",
                    )
                ).rowcount
            ),
        )

    def close_expired(self, now: datetime, cart_ttl: timedelta, flows: Sequence[str]) -> int:
        """Fail the ``retry`` and lapsed ``claimed`` rows of carts that have expired: the rules
        will never send them, and nothing else would ever close them."""
        d = deliveries.c
        stmt = (
            update(deliveries)
            .where(
                d.status.in_((DeliveryStatus.RETRY.value, DeliveryStatus.CLAIMED.value)),
                d.flow.in_(list(flows)),
                d.lease_until <= now,
                d.abandoned_at <= now - cart_ttl,
            )
            .values(
                status=DeliveryStatus.FAILED.value,
                updated_at=now,
                error="the cart expired before it could be sent",
            )
        )
        return self._write("close expired", lambda c: c.execute(stmt).rowcount)

    def supersede(self, later: Sequence[tuple[str, str, int, int]], now: datetime) -> None:
        """Fail the ``retry`` rows of steps before a step that is now being sent (order, flow,
        episode, step): the rules never go back to them."""
        d = deliveries.c
        for order_id, flow, episode, step in later:
            stmt = (
                update(deliveries)
                .where(
                    d.order_id == order_id,
                    d.flow == flow,
                    d.episode == episode,
                    d.step < step,
                    d.status == DeliveryStatus.RETRY.value,
                )
                .values(
                    status=DeliveryStatus.FAILED.value,
                    updated_at=now,
                    error=f"superseded by step {step + 1}",
                )
            )
            self._write("supersede", lambda c, q=stmt: c.execute(q))

    def last_reminders(self, customer_ids: Iterable[str]) -> dict[str, datetime]:
        """The latest sent reminder per customer, any flow."""
        ids = sorted({c for c in customer_ids if c})
        if not ids:
            return {}
        d = deliveries.c
        stmt = (
            select(d.customer_id, func.max(d.sent_at))
            .where(d.customer_id.in_(ids), d.status == DeliveryStatus.SENT.value)
            .group_by(d.customer_id)
        )
        return self._read("last reminders", lambda c: {k: v for k, v in c.execute(stmt) if v})

    def delivery(self, delivery_id: int) -> dict[str, Any] | None:
        """One delivery row, or None."""
        stmt = select(deliveries).where(deliveries.c.id == delivery_id)
        return self._read(
            "delivery", lambda c: next((dict(r._mapping) for r in c.execute(stmt)), None)
        )

    def recent_sends(
        self, customer_ids: Iterable[str], since: datetime
    ) -> dict[str, list[tuple[str, str, int, int, datetime]]]:
        """Each customer's reminders since ``since`` as (order id, flow, step, episode, when),
        across flows and channels (for the frequency cap): sent, being sent or in doubt."""
        ids = sorted({c for c in customer_ids if c})
        if not ids:
            return {}
        d = deliveries.c
        # No status in the WHERE clause: with it SQLite plans on (status, lease_until) and reads
        # every sent delivery for each page (docs/performance.md); the customer index is right.
        stmt = select(
            d.customer_id,
            d.order_id,
            d.flow,
            d.step,
            d.episode,
            d.status,
            d.sent_at,
            d.created_at,
        ).where(d.customer_id.in_(ids), d.created_at >= since)
        reminded = {s.value for s in REMINDED_STATUSES}
        out: dict[str, list[tuple[str, str, int, int, datetime]]] = {}

        def read(conn: Any) -> None:
            for row in conn.execute(stmt):
                if row.status not in reminded:
                    continue
                out.setdefault(row.customer_id, []).append(
                    (row.order_id, row.flow, row.step, row.episode, row.sent_at or row.created_at)
                )

        self._read("recent sends", read)
        return out

    def channel_sends_since(self, channel: str, since: datetime) -> int:
        """How many messages ``channel`` carried since ``since`` (sent, being sent or in
        doubt: each may have reached the shopper and counts against a provider's quota)."""
        d = deliveries.c
        reminded = [s.value for s in REMINDED_STATUSES]
        stmt = select(func.count()).where(
            d.channel == channel,
            d.status.in_(reminded),
            func.coalesce(d.sent_at, d.updated_at) >= since,
        )
        return self._read("channel sends", lambda c: int(c.execute(stmt).scalar() or 0))

    def record_skips(self, found: Sequence[SkipRecord], now: datetime) -> None:
        """Remember each (order, flow, episode, reason) once; reads first, so an hourly sweep
        that sees the same skipped carts again writes nothing."""
        if not found:
            return
        s = skips.c
        ids = sorted({f.order_id for f in found})
        known_q = select(s.order_id, s.flow, s.episode, s.reason).where(s.order_id.in_(ids))
        known = self._read("skips", lambda c: {tuple(r) for r in c.execute(known_q)})
        rows = [
            row_of(f, first_seen_at=now)
            for f in found
            if (f.order_id, f.flow, f.episode, f.reason) not in known
        ]
        if rows:
            self._write(
                "record skips", lambda c: c.execute(_insert_ignoring_conflicts(c, skips), rows)
            )

    def _sent(self, where: Any) -> list[SentDelivery]:
        d = deliveries.c
        stmt = select(d.id, d.order_id, d.flow, d.customer_id, d.sent_at, d.created_at).where(
            d.status.in_((DeliveryStatus.SENT.value, DeliveryStatus.IN_DOUBT.value)), where
        )
        return self._read(
            "deliveries",
            lambda c: [
                SentDelivery(r.id, r.order_id, r.flow, r.customer_id, r.sent_at or r.created_at)
                for r in c.execute(stmt)
            ],
        )

    def sent_by_id(self, delivery_ids: Iterable[int]) -> dict[int, SentDelivery]:
        ids = sorted(set(delivery_ids))
        if not ids:
            return {}
        return {d.id: d for d in self._sent(deliveries.c.id.in_(ids))}

    def sent_to_customers(
        self, customer_ids: Iterable[str], since: datetime
    ) -> dict[str, list[SentDelivery]]:
        ids = sorted(set(customer_ids))
        if not ids:
            return {}
        out: dict[str, list[SentDelivery]] = {}
        where = and_(deliveries.c.customer_id.in_(ids), deliveries.c.created_at >= since)
        for d in self._sent(where):
            out.setdefault(d.customer_id or "", []).append(d)
        return out
