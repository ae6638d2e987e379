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
from cartnudge.core.rules import (
    DONE_STATUSES,
    REMINDED_STATUSES,
    DeliveryStatus,
    PastDelivery,
    normalise_address,
)
from cartnudge.errors import DatabaseError
from cartnudge.logs import mask_pii
from cartnudge.state.schema import deliveries, skips, suppressions
from cartnudge.state.store import Store, _insert_ignoring_conflicts, row_of

MAX_ATTEMPTS = 5  # temporary failures: after this many sweeps' tries, a delivery fails for good


# Outcomes whose time is the sweep's: a reminder sent, or the one a holdout shopper would have had.
_AT_NOW = (DeliveryStatus.SENT, DeliveryStatus.HELD_OUT)
CLICK_REPEAT = timedelta(seconds=60)  # resolutions of one link this close are one click


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
    variant: str | None = None  # the A/B test variant of the step, if any

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

    @property
    def key(self) -> tuple[str, str, int, str]:
        return (self.order_id, self.flow, self.episode, self.reason)


@dataclass(frozen=True)
class Outcome:
    """A delivery's new status. ``attempted`` says the message was really handed to a server
    (only then is a try counted against MAX_ATTEMPTS)."""

    delivery_id: int
    status: DeliveryStatus
    detail: str = ""
    message_id: str | None = None
    attempted: bool = False


@dataclass(frozen=True)
class Bounce:
    """A recipient a server said is gone: suppressed in the same transaction as its outcome."""

    channel: str
    address: str
    detail: str = "the server refused the recipient"


class Deliveries(Store):
    """Claims, leases and delivery outcomes. Raises DatabaseError on failure."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        # delivery id -> key of the claim that returned it, until it is handed over, released or
        # recorded (so at most a page of entries): see _still_ours.
        self._claim_keys: dict[int, str] = {}

    def database_clock(self) -> datetime:
        """The state database's own clock as naive UTC: leases and in-doubt decisions are
        counted on it, so hosts whose clocks disagree still agree on whose lease is over."""

        def read(conn: Any) -> datetime:
            dialect = conn.dialect.name
            if dialect == "postgresql":
                sql = "SELECT CAST(now() AT TIME ZONE 'UTC' AS timestamp)"
            elif dialect in ("mysql", "mariadb"):
                sql = "SELECT UTC_TIMESTAMP(6)"
            else:
                sql = "SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')"
            value = conn.exec_driver_sql(sql).scalar_one()
            if isinstance(value, str):
                value = datetime.fromisoformat(value)
            return value.replace(tzinfo=None)

        return self._read("database clock", read)

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

    def record(
        self, outcomes: Sequence[Outcome], now: datetime, bounces: Sequence[Bounce] = ()
    ) -> None:
        """Write each channel answer (one statement for the whole batch) and, in the same
        transaction, put the ``bounces`` on the suppression list: a crash or a database error
        can never leave a hard bounce recorded and its address unsuppressed. A try is counted
        only for outcomes ``attempted`` (really handed to a server)."""
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
                attempts=deliveries.c.attempts + bindparam("b_attempt"),
                updated_at=now,
            )
        )
        suppressed = [
            dict(
                channel=b.channel,
                address=normalise_address(b.address, b.channel),
                reason="hard_bounce",
                detail=b.detail[:500],
                created_at=now,
            )
            for b in bounces
        ]
        params = [
            dict(
                b_id=o.delivery_id,
                b_status=o.status.value,
                # A server's answer often quotes the recipient: stored masked, like every output.
                b_error=(o.detail or None) and mask_pii(o.detail)[:1000],
                b_message_id=o.message_id,
                b_sent_at=now if o.status in _AT_NOW else None,
                b_attempt=1 if o.attempted else 0,
            )
            for o in outcomes
        ]

        def run(conn: Any) -> None:
            conn.execute(stmt, params)
            if suppressed:
                conn.execute(_insert_ignoring_conflicts(conn, suppressions), suppressed)

        self._write("record results", run)
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

    def supersede(
        self, later: Sequence[tuple[str, str, int, int, Sequence[int]]], now: datetime
    ) -> None:
        """Fail the ``retry`` rows of the steps a step now being sent folds in (order, flow,
        episode, step, the folded steps): the rules never go back to them. A trigger step's
        row is never among them (it stands apart from the delays' order)."""
        d = deliveries.c
        for order_id, flow, episode, step, folded in later:
            stmt = (
                update(deliveries)
                .where(
                    d.order_id == order_id,
                    d.flow == flow,
                    d.episode == episode,
                    d.step.in_(list(folded)),
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

    def record_click(self, delivery_id: int, now: datetime) -> bool:
        """Count one click on ``delivery_id``'s recovery link at ``now`` (naive UTC): the count
        goes up by one, the first click time is kept, the last one becomes ``now``. A click
        within CLICK_REPEAT of the last one is the same click (a double tap, or the web app's
        redirect followed by the shop's restore page resolving the token again) and is not
        counted. One UPDATE, so concurrent clicks are not lost. False when nothing was
        counted (no such delivery, or a repeat)."""
        d = deliveries.c
        stmt = (
            update(deliveries)
            .where(
                d.id == delivery_id,
                or_(
                    d.last_click_at.is_(None),
                    d.last_click_at <= now - CLICK_REPEAT,
                    d.last_click_at > now,
                ),
            )
            .values(
                clicks=func.coalesce(d.clicks, 0) + 1,
                first_click_at=func.coalesce(d.first_click_at, now),
                last_click_at=now,
            )
        )
        return self._write("record click", lambda c: c.execute(stmt).rowcount) > 0

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

    def known_skips(self, found: Sequence[SkipRecord]) -> set[tuple[str, str, int, str]]:
        """The keys (order, flow, episode, reason) of ``found`` already recorded."""
        if not found:
            return set()
        s = skips.c
        ids = sorted({f.order_id for f in found})
        known_q = select(s.order_id, s.flow, s.episode, s.reason).where(s.order_id.in_(ids))
        return self._read("skips", lambda c: {tuple(r) for r in c.execute(known_q)})

    def record_skips(self, found: Sequence[SkipRecord], now: datetime) -> list[SkipRecord]:
        """Remember each (order, flow, episode, reason) once; reads first, so an hourly sweep
        that sees the same skipped carts again writes nothing. Returns the ones that were new."""
        if not found:
            return []
        known = self.known_skips(found)
        fresh = list({f.key: f for f in found if f.key not in known}.values())
        rows = [row_of(f, first_seen_at=now) for f in fresh]
        if rows:
            self._write(
                "record skips", lambda c: c.execute(_insert_ignoring_conflicts(c, skips), rows)
            )
        return fresh

    def _sent(self, where: Any) -> list[SentDelivery]:
        return [sent for sent, _channel, _recipient in self._sent_with_address(where)]

    def sent_by_id(self, delivery_ids: Iterable[int]) -> dict[int, SentDelivery]:
        ids = sorted(set(delivery_ids))
        if not ids:
            return {}
        return {d.id: d for d in self._sent(deliveries.c.id.in_(ids))}

    def recent_sends_to(
        self, keys: Iterable[str], since: datetime
    ) -> dict[str, list[tuple[str, str, int, int, datetime]]]:
        """Per person key (:mod:`cartnudge.core.persons`), the reminders since ``since`` as
        (order id, flow, step, episode, when), across flows and channels: sent, being sent or
        in doubt. A delivery reaches its customer id's key and its address's key."""
        keyset = set(keys)
        wanted = _persons_where(keyset)
        if wanted is None:
            return {}
        d = deliveries.c
        stmt = select(
            d.customer_id,
            d.recipient,
            d.channel,
            d.order_id,
            d.flow,
            d.step,
            d.episode,
            d.status,
            d.sent_at,
            d.created_at,
        ).where(wanted, d.created_at >= since)
        reminded = {s.value for s in REMINDED_STATUSES}
        out: dict[str, list[tuple[str, str, int, int, datetime]]] = {}

        def read(conn: Any) -> None:
            for row in conn.execute(stmt):
                if row.status not in reminded:
                    continue
                entry = (
                    row.order_id,
                    row.flow,
                    row.step,
                    row.episode,
                    row.sent_at or row.created_at,
                )
                for key in _row_keys(row.customer_id, row.channel, row.recipient):
                    if key in keyset:
                        out.setdefault(key, []).append(entry)

        self._read("recent sends", read)
        return out

    def reached(self, flow: str, channel: str, recipients: Iterable[str]) -> set[str]:
        """Which of ``recipients`` (normalised addresses) already have a delivery of ``flow``
        on ``channel`` that counts as done (sending, sent, failed, in doubt): send-bulk's once
        per campaign, per person."""
        wanted = sorted({r for r in recipients if r})
        if not wanted:
            return set()
        d = deliveries.c
        done = [s.value for s in DONE_STATUSES]
        stmt = select(d.recipient).where(
            d.recipient.in_(wanted), d.flow == flow, d.channel == channel, d.status.in_(done)
        )
        return self._read("reached", lambda c: {r[0] for r in c.execute(stmt)})

    def sent_for_orders(self, order_ids: Iterable[str]) -> dict[str, list[SentDelivery]]:
        """Sent (or in-doubt) deliveries per abandoned order id, for attribution by cart."""
        ids = sorted({str(i) for i in order_ids if i})
        if not ids:
            return {}
        out: dict[str, list[SentDelivery]] = {}
        for d in self._sent(deliveries.c.order_id.in_(ids)):
            out.setdefault(d.order_id, []).append(d)
        return out

    def sent_to_persons(
        self, keys: Iterable[str], since: datetime
    ) -> dict[str, list[SentDelivery]]:
        """Sent deliveries since ``since`` per person key (customer id or address)."""
        keyset = set(keys)
        wanted = _persons_where(keyset)
        if wanted is None:
            return {}
        out: dict[str, list[SentDelivery]] = {}
        for sent, channel, recipient in self._sent_with_address(
            and_(wanted, deliveries.c.created_at >= since)
        ):
            for key in _row_keys(sent.customer_id, channel, recipient):
                if key in keyset:
                    out.setdefault(key, []).append(sent)
        return out

    def _sent_with_address(self, where: Any) -> list[tuple[SentDelivery, str, str | None]]:
        d = deliveries.c
        stmt = select(
            d.id,
            d.order_id,
            d.flow,
            d.customer_id,
            d.sent_at,
            d.created_at,
            d.first_click_at,
            d.last_click_at,
            d.channel,
            d.recipient,
        ).where(d.status.in_((DeliveryStatus.SENT.value, DeliveryStatus.IN_DOUBT.value)), where)
        return self._read(
            "deliveries",
            lambda c: [
                (
                    SentDelivery(
                        r.id,
                        r.order_id,
                        r.flow,
                        r.customer_id,
                        r.sent_at or r.created_at,
                        r.first_click_at,
                        r.last_click_at,
                    ),
                    r.channel,
                    r.recipient,
                )
                for r in c.execute(stmt)
            ],
        )


def _persons_where(keys: Iterable[str]) -> Any:
    """The deliveries that reach any of the person ``keys`` (by customer id or by recipient
    address), as a WHERE condition; None when the keys name nobody."""
    cids, addresses = _split_keys(keys)
    if not cids and not addresses:
        return None
    d = deliveries.c
    wanted = [d.customer_id.in_(sorted(cids))] if cids else []
    wanted += [d.recipient.in_(sorted(addresses))] if addresses else []
    return or_(*wanted)


def _split_keys(keys: Iterable[str]) -> tuple[set[str], set[str]]:
    """Person keys as the customer ids and the recipient addresses they name (a delivery's
    ``recipient`` is kept in the same normalised form as the key's address)."""
    cids, addresses = set(), set()
    for key in keys:
        kind, _, value = key.partition(":")
        if kind == "customer":
            cids.add(value)
        elif kind in ("email", "sms", "push", "line"):
            addresses.add(value)
    return cids, addresses


def _row_keys(customer_id: str | None, channel: str, recipient: str | None) -> list[str]:
    keys = [f"customer:{customer_id}"] if customer_id else []
    if recipient:
        keys.append(f"{channel}:{recipient}")
    return keys
