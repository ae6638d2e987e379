"""cartnudge's own state: delivery claims, suppressions and runs.

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

import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, and_, bindparam, delete, func, or_, select, tuple_, update
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from cartnudge.core.attribution import Recovery, SentDelivery
from cartnudge.core.durations import format_duration
from cartnudge.core.rules import REMINDED_STATUSES, DeliveryStatus, PastDelivery, normalise_address
from cartnudge.errors import DatabaseError
from cartnudge.state.schema import deliveries, recoveries, runs, skips, suppressions

T = TypeVar("T")
MAX_ATTEMPTS = 5  # temporary failures: after this many sweeps' tries, a delivery fails for good


def _alembic_config(connection: Any) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", "cartnudge.state:migrations")
    cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: Engine) -> str:
    """Create or upgrade cartnudge's tables to the newest revision; return that revision."""
    try:
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "head")
            return (
                MigrationContext.configure(
                    conn, opts={"version_table": "cartnudge_alembic_version"}
                ).get_current_revision()
                or ""
            )
    except SQLAlchemyError as exc:
        raise DatabaseError(f"init-db: {_first_line(exc)}") from None


def schema_revision(engine: Engine) -> tuple[str | None, str]:
    """(current revision in the database, newest revision shipped)."""
    script = ScriptDirectory.from_config(_alembic_config(None))
    with engine.connect() as conn:
        current = MigrationContext.configure(
            conn, opts={"version_table": "cartnudge_alembic_version"}
        ).get_current_revision()
    return current, script.get_current_head() or ""


def _first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


def _transient(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return any(
        marker in text
        for marker in ("deadlock", "database is locked", "lock wait timeout", "could not serialize")
    )


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


class StateStore:
    """All reads and writes of cartnudge's tables. Raises DatabaseError on failure."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # delivery id -> key of the claim that returned it, until it is handed over, released or
        # recorded (so at most a page of entries): see _still_ours.
        self._claim_keys: dict[int, str] = {}

    # -- plumbing ---------------------------------------------------------------------------

    def _write(self, what: str, fn: Callable[[Any], T]) -> T:
        """Run ``fn(conn)`` in one transaction, retrying lock conflicts a few times."""
        for attempt in range(6):
            try:
                with self.engine.begin() as conn:
                    return fn(conn)
            except OperationalError as exc:
                if not _transient(exc) or attempt == 5:
                    raise DatabaseError(f"state database, {what}: {_first_line(exc)}") from None
                time.sleep(0.05 * 2**attempt)
            except SQLAlchemyError as exc:
                raise DatabaseError(f"state database, {what}: {_first_line(exc)}") from None
        raise AssertionError("unreachable")

    def _read(self, what: str, fn: Callable[[Any], T]) -> T:
        try:
            with self.engine.connect() as conn:
                return fn(conn)
        except SQLAlchemyError as exc:
            raise DatabaseError(f"state database, {what}: {_first_line(exc)}") from None

    def ensure_ready(self) -> None:
        try:
            current, head = schema_revision(self.engine)
        except SQLAlchemyError as exc:
            raise DatabaseError(f"state database: {_first_line(exc)}") from None
        if current != head:
            found = current or "no cartnudge tables"
            raise DatabaseError(
                f"state database is at {found}, needs {head}: run 'cartnudge init-db'"
            )

    # -- runs -------------------------------------------------------------------------------

    def start_run(
        self,
        run_id: str,
        command_name: str,
        now: datetime,
        *,
        host: str,
        pid: int,
        dry_run: bool,
        started_at: datetime,
    ) -> None:
        self._write(
            "start run",
            lambda c: c.execute(
                runs.insert().values(
                    id=run_id,
                    command=command_name,
                    started_at=started_at,
                    now=now,
                    host=host,
                    pid=pid,
                    dry_run=dry_run,
                    status="running",
                )
            ),
        )

    def finish_run(
        self, run_id: str, status: str, summary_json: str, finished_at: datetime
    ) -> None:
        self._write(
            "finish run",
            lambda c: c.execute(
                update(runs)
                .where(runs.c.id == run_id)
                .values(status=status, summary=summary_json, finished_at=finished_at)
            ),
        )

    # -- reads for the rules ----------------------------------------------------------------

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

    def suppressed(self, channel: str, addresses: Iterable[str]) -> set[str]:
        wanted = sorted({normalise_address(a, channel) for a in addresses if a})
        if not wanted:
            return set()
        stmt = select(suppressions.c.address).where(
            suppressions.c.channel == channel, suppressions.c.address.in_(wanted)
        )
        return self._read("suppressions", lambda c: set(c.execute(stmt).scalars()))

    # -- the claim protocol -----------------------------------------------------------------

    def claim(
        self, requests: Sequence[ClaimRequest], now: datetime, lease: timedelta
    ) -> list[Claimed]:
        """Claim ``requests``; return the ones this call owns (others belong to other runs)."""
        if not requests:
            return []
        key = uuid.uuid4().hex
        ordered = sorted(requests, key=lambda r: r.key)  # one lock order for every sweeper
        rows = [
            dict(
                order_id=r.order_id,
                flow=r.flow,
                step=r.step,
                episode=r.episode,
                channel=r.channel,
                status=DeliveryStatus.CLAIMED.value,
                customer_id=r.customer_id,
                recipient=r.recipient,
                template_id=r.template_id,
                amount=r.amount,
                abandoned_at=r.abandoned_at,
                episode_started_at=r.episode_started_at,
                due_at=r.due_at,
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

    # -- lookups for search and reports ------------------------------------------------------

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

    # -- skips ------------------------------------------------------------------------------

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
            dict(
                order_id=f.order_id,
                flow=f.flow,
                episode=f.episode,
                reason=f.reason,
                customer_id=f.customer_id,
                abandoned_at=f.abandoned_at,
                first_seen_at=now,
            )
            for f in found
            if (f.order_id, f.flow, f.episode, f.reason) not in known
        ]
        if rows:
            self._write(
                "record skips", lambda c: c.execute(_insert_ignoring_conflicts(c, skips), rows)
            )

    # -- recoveries -------------------------------------------------------------------------

    def last_sweep_now(self) -> datetime | None:
        """The ``now`` of the latest sweep that finished (recoveries are read from there on)."""
        stmt = select(func.max(runs.c.now)).where(
            runs.c.command == "sweep",
            runs.c.dry_run.is_(False),
            runs.c.status.in_(("ok", "problems")),
        )
        return self._read("last sweep", lambda c: c.execute(stmt).scalar())

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

    def record_recoveries(self, found: Sequence[Recovery], now: datetime) -> int:
        """Insert recovery markers; an order already marked stays as it was. Returns how many
        were new."""
        if not found:
            return 0
        rows = [
            dict(
                order_id=r.order_id,
                delivery_id=r.delivery_id,
                abandoned_order_id=r.abandoned_order_id,
                flow=r.flow,
                customer_id=r.customer_id,
                attribution=r.attribution,
                amount=r.amount,
                completed_at=r.completed_at,
                recorded_at=now,
            )
            for r in found
        ]
        ids = [r["order_id"] for r in rows]
        count_new = (
            select(func.count()).select_from(recoveries).where(recoveries.c.order_id.in_(ids))
        )

        def run(conn: Any) -> int:
            before = conn.execute(count_new).scalar_one()
            conn.execute(_insert_ignoring_conflicts(conn, recoveries), rows)
            return conn.execute(count_new).scalar_one() - before

        return self._write("record recoveries", run)

    # -- suppressions -----------------------------------------------------------------------

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

    # -- report queries ---------------------------------------------------------------------
    # Read-only aggregates for ``cartnudge report`` (cartnudge/report.py), grouped in SQL so a
    # report never holds rows: a handful of result rows per flow, step, channel, template and
    # bucket. Each is about one cohort, the rows whose abandonment time is in [start, end): a
    # delivery's abandoned_at (its created_at for a bulk mailing to a customer without an
    # abandoned order), a recovery's delivery's, a skip's own. ``bounds`` split [start, end)
    # into the series' buckets (bounds[0] == start, bounds[-1] == end) for level "bucket".

    def report_deliveries(
        self, start: datetime, end: datetime, level: str, bounds: Sequence[datetime] = ()
    ) -> list[dict[str, Any]]:
        """Delivery rows by status and distinct orders, per ``level``: "flow", "variant"
        (flow, step, channel, template_id) or "bucket" (flow, bucket)."""
        from sqlalchemy import case

        d = deliveries.c
        at = func.coalesce(d.abandoned_at, d.created_at)
        cols = [d.flow, d.step, d.channel, d.template_id, d.status, d.order_id]
        if level == "bucket":
            cols.append(_report_bucket(at, bounds).label("bucket"))
        rows = select(*cols).where(at >= start, at < end).subquery()
        keys = [rows.c[k] for k in _REPORT_KEYS[level]]

        def status_rows(*statuses: DeliveryStatus) -> Any:
            return func.sum(case((rows.c.status.in_([s.value for s in statuses]), 1), else_=0))

        sent = DeliveryStatus.SENT
        stmt = select(
            *keys,
            func.count(rows.c.order_id.distinct()).label("orders"),
            func.count(case((rows.c.status == sent.value, rows.c.order_id)).distinct()).label(
                "reminded"
            ),
            status_rows(sent).label("sent"),
            status_rows(DeliveryStatus.FAILED).label("failed"),
            status_rows(DeliveryStatus.IN_DOUBT).label("in_doubt"),
            status_rows(DeliveryStatus.RETRY).label("retry"),
            status_rows(DeliveryStatus.CLAIMED, DeliveryStatus.SENDING).label("in_progress"),
        ).group_by(*keys)
        counts = ("orders", "reminded", "sent", "failed", "in_doubt", "retry", "in_progress")
        return self._read("report deliveries", lambda c: _report_rows(c.execute(stmt), counts))

    def report_recoveries(
        self, start: datetime, end: datetime, level: str, bounds: Sequence[datetime] = ()
    ) -> list[dict[str, Any]]:
        """Recovered (distinct abandoned) orders and their purchases' total, per ``level`` of
        the delivery each was attributed to."""
        d, r = deliveries.c, recoveries.c
        at = func.coalesce(d.abandoned_at, d.created_at)
        cols = [d.flow, d.step, d.channel, d.template_id, r.abandoned_order_id, r.amount]
        if level == "bucket":
            cols.append(_report_bucket(at, bounds).label("bucket"))
        rows = (
            select(*cols)
            .select_from(recoveries.join(deliveries, r.delivery_id == d.id))
            .where(at >= start, at < end)
            .subquery()
        )
        keys = [rows.c[k] for k in _REPORT_KEYS[level]]
        stmt = select(
            *keys,
            func.count(rows.c.abandoned_order_id.distinct()).label("orders"),
            func.sum(rows.c.amount).label("revenue"),
        ).group_by(*keys)
        return self._read(
            "report recoveries", lambda c: _report_rows(c.execute(stmt), ("orders", "revenue"))
        )

    def report_skips(
        self, start: datetime, end: datetime, level: str, bounds: Sequence[datetime] = ()
    ) -> list[dict[str, Any]]:
        """Distinct orders skipped and never delivered in that flow (any status), per ``level``:
        "reason" (flow, reason), "flow" (any reason) or "bucket" (flow, bucket, any reason).
        An order reminded first and skipped later (e.g. "purchased" once it was bought after
        the reminder) was not skipped in the report's sense."""
        s, d = skips.c, deliveries.c
        delivered = select(d.id).where(d.order_id == s.order_id, d.flow == s.flow).exists()
        cols = [s.flow, s.reason, s.order_id]
        if level == "bucket":
            cols.append(_report_bucket(s.abandoned_at, bounds).label("bucket"))
        rows = (
            select(*cols)
            .where(s.abandoned_at >= start, s.abandoned_at < end, ~delivered)
            .subquery()
        )
        keys = [rows.c[k] for k in _REPORT_KEYS[level]]
        stmt = select(*keys, func.count(rows.c.order_id.distinct()).label("orders")).group_by(*keys)
        return self._read("report skips", lambda c: _report_rows(c.execute(stmt), ("orders",)))


def _insert_ignoring_conflicts(conn: Any, table: Any) -> Any:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing()
    if dialect in ("mysql", "mariadb"):
        return table.insert().prefix_with("IGNORE")
    raise DatabaseError(f"state database: {dialect} is not supported")


# -- report queries: helpers ----------------------------------------------------------------

_REPORT_KEYS = {
    "flow": ("flow",),
    "variant": ("flow", "step", "channel", "template_id"),
    "bucket": ("flow", "bucket"),
    "reason": ("flow", "reason"),
}


def _report_bucket(at: Any, bounds: Sequence[datetime]) -> Any:
    """The index of the bucket ``at`` falls in, as a balanced tree of CASEs over the bounds:
    plain SQL on every backend, and log2(buckets) comparisons per row however long the series
    (local days, weeks and months do not fit one date function across SQLite, PostgreSQL and
    MariaDB, nor DST)."""
    from sqlalchemy import case, literal_column

    if len(bounds) < 2:
        raise ValueError("a series needs at least one bucket (two bounds)")

    def node(lo: int, hi: int) -> Any:  # buckets lo..hi; bucket k starts at bounds[k]
        if lo == hi:
            return literal_column(str(lo))
        mid = (lo + hi + 1) // 2
        return case((at < bounds[mid], node(lo, mid - 1)), else_=node(mid, hi))

    return node(0, len(bounds) - 2)


def _report_rows(result: Any, counts: Sequence[str]) -> list[dict[str, Any]]:
    """Plain dicts, sums as ints (MariaDB's SUM is a DECIMAL, and NULL for no rows)."""
    out = []
    for row in result:
        item = dict(row._mapping)
        for name in counts:
            item[name] = int(item[name] or 0)
        out.append(item)
    return out
