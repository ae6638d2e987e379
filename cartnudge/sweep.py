"""The sweep: the one place that sequences I/O.

Per page of candidates (a short keyset query on the shop): read the pages' delivery history and
suppressions (one query each), decide with the pure rules, claim what is due, re-check purchases,
read the items, render, and hand small batches to the channel, recording each answer right away.
Memory is bounded by the page size, not the shop's size.
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from cartnudge.app import App, Track
from cartnudge.channels.base import Channel, Envelope, Result, SendResult
from cartnudge.core.attribution import CompletedOrder, attribute
from cartnudge.core.buckets import RECOVERIES_JOB, round_start, try_order
from cartnudge.core.coupons import CouponChoice, bought_at_full_price, choose, expiry
from cartnudge.core.experiments import Variant
from cartnudge.core.incremental import ReadPlan, fingerprint, plan_reads, revisit_time
from cartnudge.core.persons import person_key, person_keys
from cartnudge.core.rules import (
    DONE_STATUSES,
    AbandonedStep,
    Candidate,
    Decision,
    DeliveryStatus,
    FlowKind,
    Kind,
    PastDelivery,
    SkipReason,
    decide,
    normalise_address,
)
from cartnudge.core.segments import ItemFacts, Segment, items_reason
from cartnudge.core.triggers import ItemState, Trigger, TriggerHit, nothing_left, trigger_hit
from cartnudge.errors import (
    EXIT_CHANNEL,
    EXIT_DELIVERY_PROBLEMS,
    EXIT_OK,
    EXIT_THROTTLED,
    ChannelError,
    DatabaseError,
    TokenError,
)
from cartnudge.logs import mask_pii
from cartnudge.messages.render_pool import (
    MIN_MESSAGES_FOR_WORKERS,
    PendingBatch,
    RenderFailed,
    RenderJob,
    RenderPool,
    fork_available,
    render_batch,
    render_envelope,
)
from cartnudge.messages.tokens import RECOVERY, key_fingerprint, verify_token
from cartnudge.shop.reader import AbandonedOrder, ItemsByOrder, ProductStatus, RowProblem
from cartnudge.state.coupons import Coupon
from cartnudge.state.deliveries import (
    Bounce,
    Claimed,
    ClaimLost,
    ClaimRequest,
    Outcome,
    SkipRecord,
)
from cartnudge.state.experiments import Assignment

log = logging.getLogger("cartnudge.sweep")
RECOVERY_OVERLAP = timedelta(hours=1)
# Not skips in the report's sense: the flow is off, or the order was handled already.
UNRECORDED_SKIPS = frozenset({SkipReason.FLOW_DISABLED, SkipReason.ALREADY_DELIVERED})
FIRST_RECOVERY_LOOKBACK = timedelta(days=1)
# A run still "running" after this long is dead on any host (no sweep runs for a day).
DEAD_RUN_AGE = timedelta(hours=24)


CLOCK_SKEW_WARNING = timedelta(seconds=60)


def host_clock() -> datetime:
    """This host's clock as naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def clock_skew(store: Any) -> timedelta:
    """The state database's clock minus this host's, to the second (what a lease computed on
    this host must add to be counted on the database's clock)."""
    before = host_clock()
    database = store.database_clock()
    after = host_clock()
    skew = database - (before + (after - before) / 2)
    return timedelta(seconds=round(skew.total_seconds()))


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this host (signal 0 checks without signalling)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    except OSError:
        return False
    return True


# An outcome's status -> (the Summary attribute, the per-flow counter's key); any other: failed.
_OUTCOME_COUNTS = {
    DeliveryStatus.SENT: ("sent", "sent"),
    DeliveryStatus.RETRY: ("retry_later", "retry_later"),
    DeliveryStatus.IN_DOUBT: ("in_doubt_found", "in_doubt"),
    DeliveryStatus.HELD_OUT: ("held_out", "held_out"),
}


@dataclass
class Summary:
    run_id: str
    now: datetime
    dry_run: bool
    candidates: int = 0
    due: int = 0
    sent: int = 0
    would_send: int = 0
    failed: int = 0
    retry_later: int = 0
    claimed_elsewhere: int = 0
    waiting: int = 0
    in_doubt_found: int = 0
    invalid_rows: int = 0
    recovered: int = 0
    recovered_amount: int = 0
    held_out: int = 0  # due and sendable, recorded for the holdout instead of sent
    skipped: Counter[str] = field(default_factory=Counter)
    deferred: Counter[str] = field(default_factory=Counter)  # waiting on quiet hours / the cap
    flows: dict[str, Counter[str]] = field(default_factory=dict)  # per flow: due, sent, ...
    unusable_channels: dict[str, str] = field(default_factory=dict)  # kind -> why it failed
    throttled_channels: dict[str, str] = field(default_factory=dict)  # kind -> the answer
    # kind -> why it takes nothing more this run (LINE's monthly quota or the API's limits);
    # its due reminders are left unclaimed ("held") for a later sweep.
    stopped_channels: dict[str, str] = field(default_factory=dict)
    coupons: Counter[str] = field(default_factory=Counter)  # given, recently_given, pool_empty
    coupon_pool_left: int | None = None  # free codes after this run (when a step gives any)
    coupon_pool_low: bool = False
    held: Counter[str] = field(default_factory=Counter)  # per channel: due but not claimed
    # Trigger steps: fired (price_drop, low_stock), gone (no longer held just before sending).
    triggers: Counter[str] = field(default_factory=Counter)
    # Several sweepers (sweep.buckets): of (the number of buckets), swept (by this run), lost
    # (taken over after this run's lease ran out), recoveries (1 when this run attributed them).
    buckets: Counter[str] = field(default_factory=Counter)
    # What the sweep read (README, "Incremental and full sweeps"): full | incremental, why,
    # and how many rows the shop's abandoned.sql queries returned (repeats included).
    mode: str = "full"
    mode_reason: str = ""
    shop_rows_read: int = 0

    def _flow(self, flow: str) -> Counter[str]:
        return self.flows.setdefault(flow, Counter())

    def count_candidate(self, flow: str) -> None:
        self._flow(flow)["candidates"] += 1

    def _add(self, flow: str, total: str, per_flow: str) -> None:
        """One more of attribute ``total`` overall and of ``per_flow`` in the flow's counter."""
        setattr(self, total, getattr(self, total) + 1)
        self._flow(flow)[per_flow] += 1

    def count(self, flow: str, decision: Decision) -> None:
        """Count one decision (one per channel of a flow), overall and for its flow."""
        if decision.kind is Kind.SEND:
            self._add(flow, "due", "due")
        elif decision.kind is Kind.WAIT:
            self._add(flow, "waiting", "waiting")
            if decision.deferred_by is not None:
                self.deferred[decision.deferred_by.value] += 1
                self._flow(flow)["deferred"] += 1
        else:
            self.count_skip(flow, decision.reason)

    def count_skip(self, flow: str, reason: SkipReason) -> None:
        self.skipped[reason.value] += 1
        self._flow(flow)["skipped"] += 1

    def count_outcome(self, flow: str, outcome: Outcome) -> None:
        total, per_flow = _OUTCOME_COUNTS.get(outcome.status, ("failed", "failed"))
        self._add(flow, total, per_flow)

    @property
    def exit_code(self) -> int:
        if self.unusable_channels:
            return EXIT_CHANNEL
        if self.throttled_channels or self.stopped_channels:
            return EXIT_THROTTLED
        problems = self.failed or self.in_doubt_found or self.invalid_rows
        return EXIT_DELIVERY_PROBLEMS if problems else EXIT_OK

    @property
    def status(self) -> str:
        return "problems" if self.exit_code else "ok"

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "now": self.now.replace(tzinfo=UTC).isoformat(),
            "dry_run": self.dry_run,
            "candidates": self.candidates,
            "due": self.due,
            "sent": self.sent,
            "would_send": self.would_send,
            "failed": self.failed,
            "retry_later": self.retry_later,
            "claimed_elsewhere": self.claimed_elsewhere,
            "waiting": self.waiting,
            "in_doubt_found": self.in_doubt_found,
            "invalid_rows": self.invalid_rows,
            "recovered": self.recovered,
            "recovered_amount": self.recovered_amount,
            "held_out": self.held_out,
            "skipped": dict(sorted(self.skipped.items())),
            "deferred": dict(sorted(self.deferred.items())),
            "flows": {flow: dict(sorted(c.items())) for flow, c in sorted(self.flows.items())},
            "unusable_channels": dict(sorted(self.unusable_channels.items())),
            "throttled_channels": dict(sorted(self.throttled_channels.items())),
            "stopped_channels": dict(sorted(self.stopped_channels.items())),
            "held": dict(sorted(self.held.items())),
            "coupons": dict(sorted(self.coupons.items())),
            "triggers": dict(sorted(self.triggers.items())),
            "buckets": dict(sorted(self.buckets.items())),
            "coupon_pool_left": self.coupon_pool_left,
            "coupon_pool_low": self.coupon_pool_low,
            "mode": self.mode,
            "mode_reason": self.mode_reason,
            "shop_rows_read": self.shop_rows_read,
            "status": self.status,
        }


_STATUS_OF = {
    Result.SENT: DeliveryStatus.SENT,
    Result.TEMPORARY: DeliveryStatus.RETRY,
    Result.PERMANENT: DeliveryStatus.FAILED,
    Result.IN_DOUBT: DeliveryStatus.IN_DOUBT,
    Result.THROTTLED: DeliveryStatus.RETRY,  # waits for the next sweep, never failed
}


def outcome_of(result: SendResult, message_id: str) -> Outcome:
    """A channel's answer as the delivery row records it. A try counts against MAX_ATTEMPTS
    only when the message was handed to the server and refused for itself: never for a
    message not tried, nor for a throttled channel (the account's fault, not the message's)."""
    attempted = result.tried and result.result is not Result.THROTTLED
    return Outcome(
        result.delivery_id, _STATUS_OF[result.result], result.detail, message_id, attempted
    )


def channel_state(channel: Channel, results: Sequence[SendResult]) -> tuple[str | None, str | None]:
    """(why the channel is throttled, why it is lost) after a batch, or None for each: a
    throttled answer stops the channel for the run (its messages wait for the next sweep); a
    channel that lost its server for good mid-run counts as unusable (exit 5)."""
    throttled = next((r.detail for r in results if r.result is Result.THROTTLED), None)
    return throttled, channel.lost


def _batches(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


ALL_CHANNELS = frozenset({"email", "sms", "push", "line"})


def person_keys_of(c: Candidate, channels: frozenset[str] = ALL_CHANNELS) -> frozenset[str]:
    """The keys the candidate is known by as a person: the customer id, the e-mail address,
    and the E.164 number and push token only where SMS and push are in use (SPEC "person":
    for SMS, the same number): shops put one switchboard number on many customers' addresses,
    which must not make them one person for e-mail reminders."""
    return person_keys(
        customer_id=c.customer_id,
        email=c.email,
        phone=c.phone if c.phone_valid and "sms" in channels else None,
        push_token=c.push_token if "push" in channels else None,
        line_user_id=c.line_user_id if "line" in channels else None,
    )


def recipient_for(c: Candidate, channel: str) -> str:
    """The address a channel sends to, in the form kept on the suppression list."""
    if channel == "email":
        return normalise_address(c.email or "")
    if channel == "sms":
        return c.phone or ""  # E.164 when valid (the rules refuse an invalid one)
    if channel == "line":
        return (c.line_user_id or "").strip()
    return (c.push_token or "").strip()


def item_states(
    items: Sequence[Any], statuses: Mapping[str, ProductStatus] | None
) -> list[ItemState]:
    """The cart's items with the shop's status of each product (product_status.sql); an item
    whose product has no status is taken as it is in the cart."""
    out = []
    for i in items:
        status = (statuses or {}).get(str(i.product_id))
        out.append(
            ItemState(
                str(i.product_id),
                i.name,
                i.unit_price,
                status.current_price if status else None,
                status.stock if status else None,
            )
        )
    return out


@dataclass(frozen=True)
class _Ref:
    """A dry run's stand-in for a claim: only its id is looked at."""

    id: int


@dataclass
class _CouponRound:
    waiting: set[int] = field(default_factory=set)  # released: the pool is empty, they wait


def _persons(c: Candidate, region: str) -> frozenset[str]:
    """Every key the shopper is known by, for "no coupon again within the window"."""
    return person_keys(
        customer_id=c.customer_id,
        email=c.email,
        phone=c.phone,
        push_token=c.push_token,
        line_user_id=c.line_user_id,
        region=region,
    )


@dataclass(frozen=True)
class Due:
    """A decision to send, with what sending it needs."""

    order: AbandonedOrder
    decision: Decision
    track: Track
    variant: Variant | None = None  # the A/B test variant of this step, if any

    @property
    def template_id(self) -> int:
        if self.variant is not None:
            return self.variant.template_id
        return self.track.templates[self.decision.step]

    @property
    def trigger(self) -> Trigger | None:
        """The step's condition when it is a trigger step, else None."""
        return next(
            (s.trigger for s in self.track.rules.steps if s.index == self.decision.step), None
        )

    @property
    def segment(self) -> Segment | None:
        return next(
            (s.segment for s in self.track.rules.steps if s.index == self.decision.step), None
        )

    def items_outside(self, items: ItemsByOrder) -> SkipReason | None:
        """The segment's item conditions (products, categories) for this cart, once its
        items are read; None when they hold or the segment has none."""
        segment = self.segment
        if segment is None or not segment.needs_items:
            return None
        found = items.get(self.order.candidate.order_id, [])
        facts = [ItemFacts(str(i.product_id), i.category) for i in found]
        reason = items_reason(facts, segment)
        return None if reason is None else SkipReason(reason.value)

    def skip_record(self, reason: SkipReason) -> SkipRecord:
        """The skip row of this order's flow and episode, for ``reason``."""
        c = self.order.candidate
        return SkipRecord(
            c.order_id,
            self.track.rules.flow,
            self.decision.episode,
            reason.value,
            c.customer_id,
            c.abandoned_at,
        )


class Sweep:
    """One run over every enabled flow. ``channel`` is the e-mail channel (outbox or SMTP);
    ``channels`` may supply others by kind ('sms', 'push'), else they are built from the
    configuration when first needed. ``on_progress`` is called with the number of candidates
    handled so far (the CLI draws a bar on a terminal). With ``sweep.buckets``, the run takes
    buckets of the candidates from the state (README, "Several sweepers"); ``every_bucket``
    takes again those already swept in this round. ``full`` reads every order in the
    window even when an incremental sweep would do (``cartnudge sweep --full``)."""

    def __init__(
        self,
        app: App,
        channel: Channel | None = None,
        *,
        now: datetime,
        dry_run: bool = False,
        on_progress: Callable[[int], None] | None = None,
        channels: Mapping[str, Channel] | None = None,
        every_bucket: bool = False,
        full: bool = False,
    ) -> None:
        self.app = app
        self.force_full = full
        self.plan: ReadPlan | None = None
        self.config = app.config
        self.channels: dict[str, Channel] = dict(channels or {})
        if channel is not None:
            self.channels["email"] = channel
        self.now = now
        self.dry_run = dry_run
        self.tracks = app.tracks()
        self._kept_variants: dict[str, str | None] | None = None
        self._channels = frozenset(s.channel for t in self.tracks for s in t.rules.steps)
        self.summary = Summary(run_id=str(uuid.uuid4()), now=now, dry_run=dry_run)
        self.on_progress = on_progress or (lambda _n: None)
        self._opened: list[Channel] = []
        self._started = time.monotonic()
        self._skew = timedelta(0)  # the database's clock minus this host's (see clock)
        # This run's sends per customer, so the frequency cap sees them before they are stored.
        self._sent_now: dict[str, list[tuple[str, str, int, int, datetime]]] = {}
        self._stopped_by_channel: set[str] = set()  # the channel itself refused more this run
        self._coupon_of: dict[int, Coupon] = {}  # delivery id -> the code it carries
        self._shop_write_logged = False  # a code the shop refused: warned once per sweep
        self._trigger_of: dict[int, TriggerHit] = {}  # delivery id -> why its trigger fired
        # Flows with trigger steps: their candidates' prices and stock are read before deciding.
        self._trigger_flows = {
            t.rules.flow for t in self.tracks if any(st.trigger for st in t.rules.steps)
        }
        self._page_number = 0
        self._trimmed: set[str] = set()  # orders whose out-of-stock items were left out
        # Worker processes rendering messages (sweep.render_workers), started by the first page
        # with enough to render; None while rendering in-process, False once given up for the run.
        self._pool: RenderPool | None | bool = None
        # Several sweepers sharing the state split the candidates (README, "Several sweepers");
        # a dry run reads them all and takes nothing.
        self._bucket_count = 0 if dry_run else self.config.settings.sweep.buckets
        self._recoveries_from: datetime | None = None  # the last attribution's now (buckets)
        # --every-bucket: take again the buckets swept in this round by an earlier sweep.
        self._again_before = now if every_bucket else None
        # Claimed deliveries, and the (order, flow, step, channel) whose reminder is on record
        # for good (sent, failed, held out): the revisit of such an order is its next step's.
        self._due_of: dict[int, Due] = {}
        self._settled: set[tuple[str, str, int | None, str | None]] = set()

    @property
    def clock(self) -> datetime:
        """``now`` advanced by the run's own duration, on the database's clock: leases count
        from when a claim is really made (a long sweep does not hand out claims that are
        already over), and a host whose clock runs ahead or behind still agrees with the
        others on whose lease is over (``_skew``, measured once per run)."""
        return self.now + self._skew + timedelta(seconds=time.monotonic() - self._started)

    def run(self) -> Summary:
        self.app.deliveries.ensure_ready()
        fingerprint_now: str | None = None
        if any(t.rules.steps for t in self.tracks):
            fingerprint_now = self._fingerprint()
            self.plan = self._plan(fingerprint_now)
            self.summary.mode, self.summary.mode_reason = self.plan.mode, self.plan.reason
            log.info("%s sweep (%s)", self.plan.mode, self.plan.reason)
        if not self.dry_run:
            self.app.runs.start_run(
                self.summary.run_id,
                "sweep",
                self.now,
                host=socket.gethostname(),
                pid=os.getpid(),
                dry_run=False,
                started_at=datetime.now(UTC).replace(tzinfo=None),
                mode=self.plan.mode if self.plan is not None else None,
                fingerprint=fingerprint_now,
            )
            wall = datetime.now(UTC).replace(tzinfo=None)
            died = self.app.runs.close_dead(
                socket.gethostname(), pid_alive, started_before=wall - DEAD_RUN_AGE, now=wall
            )
            if died:
                log.warning("%d run(s) left 'running' by a process that died: closed as died", died)
            self._skew = clock_skew(self.app.deliveries)
            if abs(self._skew) > CLOCK_SKEW_WARNING:
                log.warning(
                    "this host's clock is %+d s off the database's: leases use the database's",
                    -int(self._skew.total_seconds()),
                )
            self.summary.in_doubt_found = self.app.deliveries.mark_in_doubt(self.now + self._skew)
            if self.config.cart_ttl is not None:
                closed = self.app.deliveries.close_expired(
                    self.now, self.config.cart_ttl, ["confirm", "input"]
                )
                if closed:
                    log.info("%d deliveries never sent before their carts expired: failed", closed)
            if self.summary.in_doubt_found:
                log.warning(
                    "%d deliveries are in doubt: a sweep died while sending them; "
                    "they will not be sent again (see 'cartnudge report')",
                    self.summary.in_doubt_found,
                )
        status = "error"
        try:
            if any(t.rules.steps for t in self.tracks):
                try:
                    for page in self._shared_pages() if self._bucket_count else self._pages():
                        self._handle_page(page)
                finally:
                    if isinstance(self._pool, RenderPool):
                        self._pool.close()
                    for opened in self._opened:
                        opened.close()
            if not self.dry_run and self._take_once_per_round():
                self._attribute_recoveries()
                self._done_once_per_round()
            status = self.summary.status
        finally:
            if self._bucket_count:
                self._release_buckets()
            if not self.dry_run:
                self.app.runs.finish_run(
                    self.summary.run_id,
                    status,
                    json.dumps(
                        dict(
                            self.summary.to_dict(),
                            signing_key=key_fingerprint(self.config.token_keys[0]),
                        )
                    ),
                    datetime.now(UTC).replace(tzinfo=None),
                )
        return self.summary

    def _delays(self) -> list[timedelta]:
        """Every delay after which a step can fall due: each step's, each A/B variant's and
        each test's earliest (when a shopper enters it)."""
        return (
            [s.delay for t in self.tracks for s in t.rules.steps]
            + [e.earliest for e in self.config.experiments.values()]
            + [v.delay for e in self.config.experiments.values() for v in e.variants]
        )

    def _fingerprint(self) -> str:
        """The fingerprint of everything in the configuration that changes decisions (the
        flows with their steps, delays, segments, holdouts and A/B tests, validity, lookback,
        quiet hours, the cap, consent, fraud, coupons, the time zones), abandoned.sql's text,
        and the variants stopped A/B tests keep: any change makes the next sweep full. No
        secret is part of it (the shop's URL is left out)."""
        settings = self.config.settings.model_dump(
            mode="json",
            include={
                "timezone",
                "shop",
                "consent",
                "fraud",
                "flows",
                "quiet_hours",
                "frequency_cap",
                "coupons",
                "phone_region",
            },
        )
        for secret in ("url", "url_env"):
            settings["shop"].pop(secret, None)
        return fingerprint(
            {
                "settings": settings,
                "abandoned_sql": self.app.contract.bodies.get("abandoned", ""),
                "kept_variants": self._kept() if self.config.experiments else {},
            }
        )

    def _plan(self, fingerprint_now: str) -> ReadPlan:
        """What this sweep reads (cartnudge.core.incremental.plan_reads)."""
        window = self.config.cart_ttl if self.config.cart_ttl is not None else self.config.lookback
        full_every, overlap = self.config.settings.sweep.durations()
        return plan_reads(
            self.now,
            delays=self._delays(),
            window=window,
            history=self.app.runs.sweep_history(),
            fingerprint=fingerprint_now,
            full_every=full_every,
            overlap=overlap,
            force_full=self.force_full,
            has_triggers=bool(self._trigger_flows),
            buckets=bool(self._bucket_count),
        )

    def _pages(
        self, bucket: tuple[int, int] | None = None
    ) -> Iterable[list[AbandonedOrder | RowProblem]]:
        """The pages of orders to decide: in a full sweep, the keyset pages of orders that may
        be due, then the rows those pages cannot see (unusable or missing times), so that no
        row vanishes without a count; in an incremental one, what can have changed
        (:meth:`_changed_pages`). With ``bucket`` = (bucket, buckets), only the orders in that
        bucket (several sweepers: always a full read of the bucket)."""
        plan = self.plan
        assert plan is not None
        if not plan.full:
            yield from self._changed_pages(plan)
            return
        bounds = dict(
            due_before=plan.due_before,
            active_since=plan.active_since,
            chunk_size=self.config.settings.sweep.chunk_size,
        )
        if bucket is not None:
            bounds["bucket"] = bucket
        seen: set[str] = set()
        for page in self.app.reader.abandoned_orders(**bounds):
            self.summary.shop_rows_read += len(page)
            seen.update(
                row.order_id if isinstance(row, RowProblem) else row.candidate.order_id
                for row in page
            )
            yield page
        for page in self.app.reader.stray_orders(**bounds):
            self.summary.shop_rows_read += len(page)
            # A row can match both (an unusable abandoned_at beside a usable activity time).
            rest = [
                row
                for row in page
                if (row.order_id if isinstance(row, RowProblem) else row.candidate.order_id)
                not in seen
            ]
            if rest:
                yield rest

    # -- several sweepers: buckets taken from the state, one at a time -------------------------

    def _round(self) -> datetime:
        """The start of the round this run sweeps for (sweep.interval)."""
        return round_start(self.now, self.config.sweep_interval)

    def _shared_pages(self) -> Iterable[list[AbandonedOrder | RowProblem]]:
        """The pages of every bucket this run takes (cartnudge.state.buckets): a bucket not yet
        swept for this round and held by nobody, taken with a conditional UPDATE, its lease
        renewed at each page, marked swept for the round when its last page is handled; until
        no bucket is left. A bucket another sweeper took over (this run's lease ran out) is
        left to it; its claims still stop any delivery from going out twice."""
        n, store, run_id = self._bucket_count, self.app.buckets, self.summary.run_id
        round_ = self._round()
        store.ensure(n, (RECOVERIES_JOB,))
        self.summary.buckets["of"] = n
        start = random.randrange(n)  # sweepers starting together try different rows first
        while True:
            bucket = self._take_bucket(n, round_, start)
            if bucket is None:
                return
            start = bucket + 1
            log.info("bucket %d of %d taken", bucket, n)
            lost = False
            for page in self._pages(bucket=(bucket, n)):
                if not store.renew(n, bucket, run_id, self.clock + self.config.lease):
                    lost = True
                    break
                yield page
            if not lost and store.done(n, bucket, run_id, round_, self.now):
                self.summary.buckets["swept"] += 1
            else:
                self.summary.buckets["lost"] += 1
                log.warning(
                    "bucket %d: another sweeper took it over after this run's lease (state.lease) "
                    "ran out; left to it",
                    bucket,
                )

    def _take_bucket(self, n: int, round_: datetime, start: int) -> int | None:
        """A free bucket of ``n`` this run now holds (tried from ``start`` on), or None."""
        store, again = self.app.buckets, self._again_before
        free = set(store.free(n, round_, self.clock, again))
        for b in try_order(n, start):
            until = self.clock + self.config.lease
            if b in free and store.take(
                n, b, self.summary.run_id, round_, self.clock, until, again
            ):
                return b
        return None

    def _take_once_per_round(self) -> bool:
        """Whether this run does the once-per-round work (recoveries attribution): always
        without buckets; with them, the sweeper that takes the job's row for this round."""
        if not self._bucket_count:
            return True
        n, store = self._bucket_count, self.app.buckets
        store.ensure(n, (RECOVERIES_JOB,))
        until = self.clock + self.config.lease
        run_id, round_, again = self.summary.run_id, self._round(), self._again_before
        if not store.take(n, RECOVERIES_JOB, run_id, round_, self.clock, until, again):
            return False
        job = next((r for r in store.rows(n) if r.bucket == RECOVERIES_JOB), None)
        self._recoveries_from = job.swept_at if job is not None else None
        return True

    def _done_once_per_round(self) -> None:
        if self._bucket_count:
            n, run_id = self._bucket_count, self.summary.run_id
            if self.app.buckets.done(n, RECOVERIES_JOB, run_id, self._round(), self.now):
                self.summary.buckets["recoveries"] = 1

    def _release_buckets(self) -> None:
        """Let go of what this run still holds (it stops early): the others take it at once."""
        try:
            self.app.buckets.release_all(self.summary.run_id)
        except DatabaseError as exc:
            log.warning("buckets not released (they wait for their lease to end): %s", exc)

    def _changed_pages(self, plan: ReadPlan) -> Iterable[list[AbandonedOrder | RowProblem]]:
        """An incremental sweep's pages (cartnudge.core.incremental): the orders newly due for
        a step, newly active or updated, then those whose revisit time has come (read by id,
        in chunks), each once and all within the full sweep's window. The revisits are
        listed before any page is decided (deciding sets new ones); a revisited order no
        longer in the window is forgotten. Rows with unusable times (the strays, skips only)
        are counted by full sweeps."""
        chunk = self.config.settings.sweep.chunk_size
        revisit = self.app.revisits.due(plan.revisit_until) if plan.revisit_until else []
        seen: set[str] = set()

        def fresh(page: list[AbandonedOrder | RowProblem]) -> list[AbandonedOrder | RowProblem]:
            self.summary.shop_rows_read += len(page)
            out = []
            for row in page:
                key = row.order_id if isinstance(row, RowProblem) else row.candidate.order_id
                if key not in seen:
                    seen.add(key)
                    out.append(row)
            return out

        for page in self.app.reader.changed_orders(plan, chunk):
            if rest := fresh(page):
                yield rest
        wanted = [i for i in revisit if i not in seen]
        for start in range(0, len(wanted), chunk):
            ids = wanted[start : start + chunk]
            page = self.app.reader.orders_in_window(ids, plan)
            found = {
                r.order_id if isinstance(r, RowProblem) else r.candidate.order_id for r in page
            }
            gone = [i for i in ids if i not in found]
            if gone and not self.dry_run:
                self.app.revisits.clear(gone)
            if rest := fresh(page):
                yield rest

    def _held_out(self, c: Candidate, flow: str, step: int) -> str | None:
        """Which holdout the shopper is in for ``step`` of ``flow`` (SPEC 2.9): "flow", "step"
        or None, by their person key (the e-mail address's, else the customer id's), so every
        channel and every order of one person gets the same answer."""
        plan = self.config.holdouts.get(flow)
        if plan is None:
            return None
        key = person_key("email", c.email, c.customer_id) or f"order:{c.order_id}"
        return plan.level(key, step)

    def _kept(self) -> dict[str, str | None]:
        """Per A/B test, the variant everyone gets since the operator stopped it, else None."""
        if self._kept_variants is None:
            decisions = self.app.experiments.decisions() if self.config.experiments else {}
            self._kept_variants = {
                name: (d["variant"] if d["state"] == "stopped" else None)
                for name, d in decisions.items()
            }
        return self._kept_variants

    def _with_variants(self, c: Candidate, track: Track) -> tuple[Track, dict[int, Variant]]:
        """The track as this person gets it (SPEC 2.8): each A/B-tested step with the delay of
        the person's variant; the variants by step. Every rule applies as to any step."""
        tests = [e for e in self.config.experiments.values() if e.flow == track.rules.flow]
        if not tests:
            return track, {}
        key = person_key("email", c.email, c.customer_id) or f"order:{c.order_id}"
        kept = self._kept()
        chosen = {e.step: e.assign(key, kept.get(e.name)) for e in tests}
        steps = tuple(
            replace(s, delay=chosen[s.index].delay) if s.index in chosen else s
            for s in track.rules.steps
        )
        return replace(track, rules=replace(track.rules, steps=steps)), chosen

    def _assignment(self, c: Candidate, history: list, track: Track, suppressed: dict) -> Any:
        """The A/B test a cart enters now, if any: its tested step falls due under the test's
        earliest delay and every rule would send it (the purchase, consent, suppression and
        validity checks of :func:`decide`). Recorded once, whichever variant's delay is later,
        so the variants compare everyone who entered them (intention to treat)."""
        tests = {e.step: e for e in self.config.experiments.values() if e.flow == track.rules.flow}
        if not tests:
            return None
        steps = tuple(
            replace(s, delay=tests[s.index].earliest) if s.index in tests else s
            for s in track.rules.steps
        )
        probe = decide(
            c,
            history,
            replace(track.rules, steps=steps),
            self.now,
            suppressed=suppressed[c.order_id],
        )
        test = tests.get(probe.step) if probe.kind is Kind.SEND else None
        if test is None or self._held_out(c, track.rules.flow, test.step):
            return None
        key = person_key("email", c.email, c.customer_id) or f"order:{c.order_id}"
        variant = test.assign(key, self._kept().get(test.name))
        return Assignment(
            test.name, c.order_id, probe.episode, variant.name, c.customer_id, c.abandoned_at
        )

    def _tracks_for(self, c: Candidate) -> list[Track]:
        """An LP form left while typing belongs to the input flow, every other abandonment to
        the confirm flow (SPEC 2.1, 2.6)."""
        kind = FlowKind.INPUT if c.abandoned_step is AbandonedStep.INPUT else FlowKind.CONFIRM
        return [t for t in self.tracks if t.rules.kind is kind]

    def _usable_channel(self, kind: str) -> Channel | None:
        """The channel for ``kind``, opened on first use (a sweep with nothing to send never
        connects, and a server that is down is found before anything is marked sending), or
        None when it could not be opened: that channel waits for the next sweep, the others
        go on, and the run exits 5."""
        if kind in self.summary.unusable_channels or kind in self.summary.throttled_channels:
            return None
        channel = self.channels.get(kind)
        if channel is None:
            channel = self.channels[kind] = self.app.channel(kind)
        if channel not in self._opened:
            try:
                channel.open()
            except ChannelError as exc:
                log.error(
                    "%s channel unusable, its reminders wait for the next sweep: %s", kind, exc
                )
                self.summary.unusable_channels[kind] = mask_pii(str(exc))
                return None
            self._opened.append(channel)
            log.info("%s channel opened (%s)", kind, channel.name)
        return channel

    def _suppressed(self, orders: list[AbandonedOrder]) -> dict[str, set[str]]:
        """Per order id, the channels whose address is on the suppression list (a query per
        channel in use)."""
        kinds = {s.channel for t in self.tracks for s in t.rules.steps}
        listed = {
            kind: self.app.suppressions.suppressed(
                kind, (recipient_for(o.candidate, kind) for o in orders)
            )
            for kind in kinds
        }
        return {
            o.candidate.order_id: {
                kind for kind in kinds if recipient_for(o.candidate, kind) in listed[kind]
            }
            for o in orders
        }

    def _recent(
        self, orders: list[AbandonedOrder]
    ) -> dict[str, list[tuple[str, str, int, int, datetime]]]:
        """Per person key (SPEC "person": customer id, normalised e-mail, E.164 number, push
        token), the reminders sent to it within the cap's window, this run's included."""
        cap = self.config.frequency_cap
        if cap is None:
            return {}
        keys = {k for o in orders for k in person_keys_of(o.candidate, self._channels)}
        stored = self.app.deliveries.recent_sends_to(keys, self.now - cap[1])
        # This run's sends are also stored once sent (with sent_at = now): a set counts each once.
        return {k: sorted(set(stored.get(k, [])) | set(self._sent_now.get(k, []))) for k in keys}

    def _decide(
        self,
        c: Candidate,
        history: list,
        track: Track,
        suppressed: dict[str, set[str]],
        recent: dict,
        stock: list[ItemState] | None = None,
    ) -> Decision:
        """The rules' decision, with the customer's recent reminders for the frequency cap.
        One reminder is one step of one flow for one order, however many channels carry it:
        the same step's other channels are left out of the count (a first, cap-free decision
        says which step that is)."""
        rules = track.rules
        supp = suppressed[c.order_id]
        keys = person_keys_of(c, self._channels)
        if rules.frequency_cap is None or not keys:
            return decide(c, history, rules, self.now, suppressed=supp, stock=stock)
        probe = decide(c, history, rules, self.now, suppressed=supp, stock=stock)
        if probe.kind is not Kind.SEND:
            return probe
        same = (c.order_id, rules.flow, probe.step, probe.episode)
        # One send reaches the person under each of their keys: count it once.
        sends = {tuple(entry) for k in keys for entry in recent.get(k, [])}
        others = [t for *key, t in sends if tuple(key) != same]
        return decide(
            c, history, rules, self.now, suppressed=supp, recent_sends=others, stock=stock
        )

    def _handle_page(self, page: list[AbandonedOrder | RowProblem]) -> None:
        s = self.summary
        orders: list[AbandonedOrder] = []
        problems: list[RowProblem] = []
        for row in page:
            if isinstance(row, RowProblem):
                problems.append(row)
            else:
                orders.append(row)
        s.candidates += len(page)
        self._skip_problems(problems)
        history = self.app.deliveries.history([o.candidate.order_id for o in orders])
        suppressed = self._suppressed(orders)
        recent = self._recent(orders)
        stock = self._stock(
            [
                o
                for o in orders
                if any(t.rules.flow in self._trigger_flows for t in self._tracks_for(o.candidate))
            ]
        )
        due: list[Due] = []
        skipped: list[SkipRecord] = []
        entered: list[Assignment] = []
        # Per order, each decision with the one it would be once its reminder is on record.
        decided: dict[str, list[tuple[str, Decision, Decision | None]]] = {}
        for order in orders:
            c = order.candidate
            tracks = self._tracks_for(c)
            for flow in {t.rules.flow for t in tracks}:
                s.count_candidate(flow)
            for base in tracks:
                track, variants = self._with_variants(c, base)
                flow = track.rules.flow
                past = history.get(c.order_id, [])
                if variants:
                    assignment = self._assignment(c, past, base, suppressed)
                    if assignment is not None:
                        entered.append(assignment)
                decision = self._decide(
                    c,
                    past,
                    track,
                    suppressed,
                    recent,
                    stock.get(c.order_id) if flow in self._trigger_flows else None,
                )
                s.count(flow, decision)
                decided.setdefault(c.order_id, []).append(
                    (flow, decision, self._after_send(c, past, track, decision, suppressed))
                )
                if decision.kind is Kind.SEND:
                    due.append(Due(order, decision, track, variants.get(decision.step)))
                    if not self._held_out(c, flow, decision.step):
                        sent = (c.order_id, flow, decision.step, decision.episode, self.now)
                        for key in person_keys_of(c, self._channels):
                            recent.setdefault(key, []).append(sent)
                            if self.dry_run:  # a real run finds its sends stored by the next page
                                self._sent_now.setdefault(key, []).append(sent)
                elif decision.kind is Kind.SKIP and decision.reason not in UNRECORDED_SKIPS:
                    skipped.append(
                        SkipRecord(
                            c.order_id,
                            flow,
                            decision.episode,
                            decision.reason.value,
                            c.customer_id,
                            c.abandoned_at,
                        )
                    )
        self._page_number += 1
        log.info(
            "page %d: %d orders read, %d due, %d skipped",
            self._page_number,
            len(page),
            len(due),
            len(skipped),
        )
        if not self.dry_run:
            self.app.deliveries.record_skips(skipped, self.now)
            self.app.experiments.record_assignments(entered, self.now)
        if due:
            if self.dry_run:
                self._dry_run(due)
            else:
                self._deliver(due)
        if not self.dry_run:
            # Every order of the page gets its revisit or loses it (a row now unusable too).
            for order in orders:
                decided.setdefault(order.candidate.order_id, [])
            self._store_revisits(decided, [p.order_id for p in problems if p.order_id != "?"])
        self.on_progress(s.candidates)

    def _after_send(
        self,
        c: Candidate,
        past: list,
        track: Track,
        decision: Decision,
        suppressed: dict[str, set[str]],
    ) -> Decision | None:
        """For a decision to send, the decision once that reminder is on record (the next
        step's wait, or a skip); None for any other decision. Without the cap and the cart's
        stock, which can only make it later: a revisit comes early, never late."""
        if decision.kind is not Kind.SEND or decision.step is None:
            return None
        done = PastDelivery(
            track.rules.flow,
            decision.step,
            decision.episode,
            decision.channel or "email",
            DeliveryStatus.SENT,
            self.now,
            decision.episode_started_at,
        )
        return decide(c, [*past, done], track.rules, self.now, suppressed=suppressed[c.order_id])

    def _store_revisits(
        self,
        decided: dict[str, list[tuple[str, Decision, Decision | None]]],
        unusable: Iterable[str] = (),
    ) -> None:
        """Store when each order of the page can next change without a shop change
        (cartnudge.core.incremental.revisit_time): a reminder sent (or failed, or held out)
        for good counts as on record; any other (a retry, a claim held back or taken by
        another run, a purchase found by the re-check) is revisited at the next sweep."""
        times: dict[str, datetime | None] = dict.fromkeys(unusable)
        for order_id, pairs in decided.items():
            final = []
            for flow, decision, after in pairs:
                settled = (order_id, flow, decision.step, decision.channel) in self._settled
                final.append(after if settled and after is not None else decision)
            times[order_id] = revisit_time(final, self.now)
        self.app.revisits.replace(times)

    def _stock(self, orders: list[AbandonedOrder]) -> dict[str, list[ItemState]]:
        """Per order id, its items with the shop's current price and stock (two queries: the
        items and product_status.sql), for the orders of flows with trigger steps."""
        if not orders:
            return {}
        items = self.app.reader.order_items([o.raw_order_id for o in orders])
        statuses = self.app.reader.product_status([o.raw_order_id for o in orders])
        return {
            o.candidate.order_id: item_states(
                items[o.candidate.order_id], statuses.get(o.candidate.order_id)
            )
            for o in orders
            if items.get(o.candidate.order_id)
        }

    def _recheck_stock(
        self, sendable: list[tuple[Any, Due]], items: ItemsByOrder
    ) -> tuple[list[tuple[Any, Due]], list[tuple[Any, Due, SkipReason | None]]]:
        """Just before sending, with fresh prices and stock (product_status.sql, when the shop
        has it): leave out of ``items`` every item now out of stock; a cart with nothing left
        is skipped (``out_of_stock``), and a trigger step whose condition no longer holds is
        let go (it may fire later in the episode). Returns (kept, dropped with the skip
        reason, None for a trigger that no longer holds)."""
        if not sendable or not self.app.contract.has("product_status"):
            return sendable, []
        ids = list(dict.fromkeys(i.order.raw_order_id for _, i in sendable))
        statuses = self.app.reader.product_status(ids)
        kept: list[tuple[Any, Due]] = []
        dropped: list[tuple[Any, Due, SkipReason | None]] = []
        trimmed: dict[str, list] = {}
        for cl, item in sendable:
            order_id = item.order.candidate.order_id
            found = items.get(order_id, [])
            states = item_states(found, statuses.get(order_id))
            if nothing_left(states):
                dropped.append((cl, item, SkipReason.OUT_OF_STOCK))
                continue
            trigger = item.trigger
            if trigger is not None:
                hit = trigger_hit(trigger, states)
                if hit is None:
                    dropped.append((cl, item, None))
                    continue
                self._trigger_of[cl.id] = hit
                self.summary.triggers[hit.kind.value] += 1
            if any(s.out_of_stock for s in states):
                trimmed[order_id] = [
                    i for i, st in zip(found, states, strict=True) if not st.out_of_stock
                ]
            kept.append((cl, item))
        for order_id, left in trimmed.items():
            items[order_id] = left
            self._trimmed.add(order_id)
        return kept, dropped

    def _skip_problems(self, problems: list[RowProblem]) -> None:
        """Rows the contract cannot use: each a skip with its reason, counted every run,
        recorded once, and logged (with the file, order and column) only the first time, so
        the same bad row does not warn or fail every hourly run."""
        if not problems:
            return
        records = [
            SkipRecord(
                p.order_id,
                "input" if p.abandoned_step == AbandonedStep.INPUT.value else "confirm",
                0,
                p.reason,
                p.customer_id,
                p.abandoned_at or self.now,
            )
            for p in problems
        ]
        if self.dry_run:
            known = self.app.deliveries.known_skips(records)
            new = [r for r in records if r.key not in known]
        else:
            new = self.app.deliveries.record_skips(records, self.now)
        fresh = {r.order_id for r in new}
        for p, r in zip(problems, records, strict=True):
            self.summary.count_skip(r.flow, SkipReason(p.reason))
            if p.order_id in fresh:
                self.summary.invalid_rows += 1
                log.warning("%s (skipped as %s; not reported again)", p.message, p.reason)
            else:
                log.debug("%s (skipped as %s, known)", p.message, p.reason)

    def _attribute_recoveries(self) -> None:
        """Mark the orders completed since the last sweep that a reminder brought back."""
        last = self._recoveries_from or self.app.runs.last_sweep_now()
        # An hour of overlap catches orders committed late; the table's key stops double counts.
        since = (last - RECOVERY_OVERLAP) if last else self.now - FIRST_RECOVERY_LOOKBACK
        window = self.config.attribution_window
        rules = self.config.attribution_rules
        for page in self.app.reader.completed_orders(
            completed_from=since,
            completed_to=self.now,
            chunk_size=self.config.settings.sweep.chunk_size,
        ):
            codes = [
                (
                    str(row["coupon_code"]).strip(),
                    str(row["order_id"]),
                    row["completed_at"],
                    row["total_amount"],
                )
                for row in page
                if row.get("coupon_code") and str(row["coupon_code"]).strip()
            ]
            if codes:
                self.summary.coupons["redeemed"] += self.app.coupons.redeem(codes)
            orders = [self._completed(row) for row in page]
            by_id = self.app.deliveries.sent_by_id(
                o.token_delivery_id for o in orders if o.token_delivery_id
            )
            by_cart = self.app.deliveries.sent_for_orders(
                o.abandoned_order_id for o in orders if o.abandoned_order_id
            )
            by_customer = {}
            if window is not None:
                # A click can come up to the token's lifetime after the reminder was sent.
                lookback = window + (self.config.token_ttl if "click" in rules else timedelta())
                by_customer = self.app.deliveries.sent_to_persons(
                    {k for o in orders for k in o.person_keys}, since - lookback
                )
            found = attribute(
                orders, by_id, by_customer, window=window, rules=rules, by_cart=by_cart
            )
            # The overlap finds some orders again: only the new ones count, in orders and yen.
            known = self.app.recoveries.recoveries_for_orders(r.order_id for r in found)
            new = [r for r in found if r.order_id not in known]
            self.summary.recovered += self.app.recoveries.record_recoveries(new, self.now)
            self.summary.recovered_amount += sum(r.amount for r in new)

    def _completed(self, row: dict) -> CompletedOrder:
        delivery_id = None
        if row["recovery_token"]:
            try:
                payload = verify_token(
                    row["recovery_token"],
                    self.config.token_keys,
                    now=self.now,
                    kind=RECOVERY,
                    check_expiry=False,
                )
                delivery_id = int(payload["d"])
            except (TokenError, KeyError, TypeError, ValueError):
                log.info("order %s: its recovery token is not ours or was altered", row["order_id"])
        return CompletedOrder(
            order_id=row["order_id"],
            customer_id=row["customer_id"],
            completed_at=row["completed_at"],
            amount=row["total_amount"],
            token_delivery_id=delivery_id,
            abandoned_order_id=row["abandoned_order_id"],
            person_keys=person_keys(
                customer_id=row["customer_id"],
                email=row["email"],
                region=self.config.settings.phone_region,
            ),
        )

    def _render(
        self, item: Due, items: ItemsByOrder, delivery_id: int, ref: int | None = None
    ) -> Envelope:
        """The delivery's message, rendered in this process (a dry run's); ``ref`` as for
        :meth:`_render_job`."""
        job = self._render_job(item, items, delivery_id, ref)
        return render_envelope(self.config, self.app.catalogue, self.now, job)

    def _render_job(
        self, item: Due, items: ItemsByOrder, delivery_id: int, ref: int | None = None
    ) -> RenderJob:
        """What the delivery's message is made of; ``ref`` (a dry run's stand-in for the
        delivery id) finds what the re-check before sending found for it."""
        c, d = item.order.candidate, item.decision
        coupon = self._coupon_of.get(delivery_id)
        hit = self._trigger_of.get(delivery_id if ref is None else ref)
        order = item.order
        if c.order_id in self._trimmed:  # items out of stock left out: the total of the rest
            left = items.get(c.order_id, [])
            order = replace(order, total_amount=sum(i.subtotal for i in left))
        # Checked against the channel's limits with this message's own data (a long cart makes
        # a long SMS): shortened by the documented rule, or OverLimit (a ValueError: failed).
        # The envelope reads only the order's id, name and address, which trimming leaves alone.
        return RenderJob(
            template_id=item.template_id,
            order=order,
            items=items.get(c.order_id, []),
            delivery_id=delivery_id,
            channel=d.channel,
            recipient=recipient_for(c, d.channel) if d.channel in ("sms", "line", "push") else "",
            coupon=coupon.context() if coupon else None,
            trigger=hit.context() if hit else None,
        )

    def _dry_run(self, due: list[Due]) -> None:
        items = self.app.reader.order_items([d.order.raw_order_id for d in due])
        inside: list[tuple[Any, Due]] = []
        for n, item in enumerate(due):
            outside = item.items_outside(items)
            if outside is not None:
                self.summary.count_skip(item.track.rules.flow, outside)
                continue
            inside.append((_Ref(-1 - n), item))
        kept, gone = self._recheck_stock(inside, items)
        for _ref, item, reason in gone:
            if reason is None:
                self.summary.triggers["gone"] += 1
            else:
                self.summary.count_skip(item.track.rules.flow, reason)
        for ref, item in kept:
            if self._held_out(item.order.candidate, item.track.rules.flow, item.decision.step):
                self.summary.held_out += 1
                continue
            self._render(item, items, delivery_id=0, ref=ref.id)
            self.summary.would_send += 1

    def _month_start(self) -> datetime:
        """The start of the current calendar month in ``timezone``, as naive UTC."""
        local = self.now.replace(tzinfo=UTC).astimezone(self.config.tz)
        first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return first.astimezone(UTC).replace(tzinfo=None)

    def _within_quota(self, due: list[Due]) -> list[Due]:
        """Leave out what a stopped channel cannot take, and LINE beyond ``line.monthly_quota``
        (counted from cartnudge's own deliveries of this month, before each claim): those
        stay unclaimed, due again next sweep, and the summary says why."""
        s = self.summary
        quota = self.config.settings.line.monthly_quota
        room: int | None = None
        if quota is not None and any(i.decision.channel == "line" for i in due):
            used = self.app.deliveries.channel_sends_since("line", self._month_start())
            room = max(0, quota - used)
            wanted = sum(1 for i in due if i.decision.channel == "line")
            if room < wanted and "line" not in s.stopped_channels:
                s.stopped_channels["line"] = (
                    f"monthly quota reached: line.monthly_quota is {quota}, {used} sent this "
                    "month; LINE waits for next month"
                )
                log.warning("line: %s", s.stopped_channels["line"])
        kept: list[Due] = []
        for item in due:
            kind = item.decision.channel or "email"
            if kind in self._stopped_by_channel or (kind == "line" and room == 0):
                s.held[kind] += 1
                continue
            if kind == "line" and room is not None:
                room -= 1
            kept.append(item)
        return kept

    def _deliver(self, due: list[Due]) -> None:
        s = self.summary
        due = self._within_quota(due)
        requests: dict[tuple, tuple[ClaimRequest, Due]] = {}
        for item in due:
            c, d = item.order.candidate, item.decision
            req = ClaimRequest(
                order_id=c.order_id,
                flow=item.track.rules.flow,
                step=d.step,
                episode=d.episode,
                channel=d.channel,
                customer_id=c.customer_id,
                recipient=recipient_for(c, d.channel),
                template_id=item.template_id,
                amount=item.order.total_amount,
                abandoned_at=c.abandoned_at,
                episode_started_at=d.episode_started_at,
                due_at=d.due_at,
                variant=item.variant.name if item.variant is not None else None,
            )
            requests[req.key] = (req, item)
        claimed = self.app.deliveries.claim(
            [r for r, _ in requests.values()], self.clock, self.config.lease
        )
        self._due_of.update((cl.id, requests[cl.key][1]) for cl in claimed)
        s.claimed_elsewhere += len(requests) - len(claimed)
        if not claimed:
            return
        # Earlier steps folded into this one (a retry row among them) are over for good.
        self.app.deliveries.supersede(
            [
                (
                    i.order.candidate.order_id,
                    i.track.rules.flow,
                    i.decision.episode,
                    i.decision.step,
                    i.decision.superseded,
                )
                for i in (requests[cl.key][1] for cl in claimed)
                if i.decision.superseded
            ],
            self.now,
        )

        # Re-check purchases now, not only at selection: the shopper may have just bought.
        owned = [(cl, requests[cl.key][1]) for cl in claimed]
        purchases = self.app.reader.purchases(
            [i.order.candidate.customer_id for _, i in owned],
            [i.order.candidate.email for _, i in owned],
        )
        release, sendable, bought_skips, held = [], [], [], []
        flows_held: dict[int, str] = {}
        for cl, item in owned:
            c, d = item.order.candidate, item.decision
            # By this record or another with the same address: one person (SPEC "person").
            bought = purchases.latest(c.customer_id, c.email)
            if bought is not None and bought >= d.episode_started_at:
                release.append(cl.id)
                s.count_skip(item.track.rules.flow, SkipReason.PURCHASED)
                bought_skips.append(item.skip_record(SkipReason.PURCHASED))
            else:
                sendable.append((cl, item))
        self.app.deliveries.release(release)
        self.app.deliveries.record_skips(bought_skips, self.now)

        items = self.app.reader.order_items(
            list(dict.fromkeys(i.order.raw_order_id for _, i in sendable))
        )
        # The segment's item conditions need the items: a cart outside them is released
        # (before the holdout, so held-out shoppers are the ones who would have been sent).
        outside_skips: list[SkipRecord] = []
        released: list[int] = []
        kept: list[tuple[Claimed, Due]] = []
        for cl, item in sendable:
            outside = item.items_outside(items)
            if outside is None:
                kept.append((cl, item))
                continue
            released.append(cl.id)
            s.count_skip(item.track.rules.flow, outside)
            outside_skips.append(item.skip_record(outside))
        kept, gone = self._recheck_stock(kept, items)
        for cl, item, reason in gone:
            released.append(cl.id)
            if reason is None:  # the trigger's condition no longer holds: it may fire later
                self.summary.triggers["gone"] += 1
                continue
            s.count_skip(item.track.rules.flow, reason)
            outside_skips.append(item.skip_record(reason))
        if released:
            self.app.deliveries.release(released)
            self.app.deliveries.record_skips(outside_skips, self.now)
        sendable = []
        for cl, item in kept:
            flow = item.track.rules.flow
            if level := self._held_out(item.order.candidate, flow, item.decision.step):
                # Sendable by every rule: recorded as the reminder the shopper would have had.
                held.append(Outcome(cl.id, DeliveryStatus.HELD_OUT, f"holdout: {level}"))
                flows_held[cl.id] = flow
            else:
                sendable.append((cl, item))
        self.app.deliveries.record(held, self.now)
        self._note_settled(held)
        for o in held:
            self.summary.count_outcome(flows_held[o.delivery_id], o)
        coupons = self._coupons(sendable, purchases)
        if coupons is not None:
            sendable = [(cl, i) for cl, i in sendable if cl.id not in coupons.waiting]
        by_channel: dict[str, list[tuple[Claimed, Due]]] = {}
        for cl, item in sendable:
            by_channel.setdefault(item.decision.channel, []).append((cl, item))
        prepared = [
            (kind, batch, *self._jobs(batch, items))
            for kind, group in by_channel.items()
            for batch in _batches(group, self.config.settings.sweep.send_batch)
        ]
        # With render workers, every batch of the page is handed to them now: they render the
        # next batches while this process marks, sends and records the current one.
        pool = self._render_pool(sum(len(jobs) for *_rest, jobs in prepared))
        pending = [pool.submit(jobs) if pool and jobs else None for *_rest, jobs in prepared]
        for (kind, batch, outcomes, jobs), rendering in zip(prepared, pending, strict=True):
            self._send_batch(kind, batch, outcomes, jobs, rendering)

    def _render_pool(self, messages: int) -> RenderPool | None:
        """The render workers for a page of ``messages`` to render, or None to render them in
        this process: ``sweep.render_workers`` is 0, the page is small, the platform cannot
        fork, or the workers failed earlier in the run. They are started (forked) only before
        any channel is opened, so no channel's connection or thread is ever copied into them."""
        if self._pool is None:
            workers = self.config.settings.sweep.render_workers
            if workers == 0 or messages < MIN_MESSAGES_FOR_WORKERS:
                return None
            if self._opened or not fork_available():
                self._pool = False
                return None
            self._pool = RenderPool(self.config, self.app.catalogue, self.now, workers)
        if isinstance(self._pool, RenderPool) and self._pool.broken is None:
            return self._pool
        return None

    def _jobs(
        self, batch: list[tuple[Claimed, Due]], items: ItemsByOrder
    ) -> tuple[list[Outcome], list[RenderJob]]:
        """A batch's messages to render, and the outcomes of the deliveries that cannot have
        one (worn out by retries, an unusable item row, no items)."""
        outcomes: list[Outcome] = []
        jobs: list[RenderJob] = []
        for cl, item in batch:
            worn_out = cl.worn_out()
            if worn_out is not None:
                outcomes.append(worn_out)
                continue
            problem = items.problems.get(item.order.candidate.order_id)
            if problem:
                outcomes.append(Outcome(cl.id, DeliveryStatus.FAILED, problem))
                continue
            if not items.get(item.order.candidate.order_id):
                outcomes.append(
                    Outcome(
                        cl.id,
                        DeliveryStatus.FAILED,
                        f"order {item.order.candidate.order_id} has no items "
                        f"({self.app.contract.path('order_items')})",
                    )
                )
                continue
            jobs.append(self._render_job(item, items, delivery_id=cl.id))
        return outcomes, jobs

    def _note_settled(self, outcomes: Iterable[Outcome]) -> None:
        """Remember the reminders now on record for good (sent, failed, held out)."""
        for o in outcomes:
            item = self._due_of.pop(o.delivery_id, None)
            if item is not None and o.status in DONE_STATUSES:
                c, d = item.order.candidate, item.decision
                self._settled.add((c.order_id, item.track.rules.flow, d.step, d.channel))

    def _coupons(
        self, sendable: list[tuple[Claimed, Due]], purchases: Any = None
    ) -> _CouponRound | None:
        """Give each coupon step's delivery its code (or find the one it holds), by the
        anti-gaming rules (cartnudge.core.coupons); None when no step carries a coupon.
        ``purchases`` is the re-check's :class:`cartnudge.shop.reader.Purchases`."""
        wanted = [(cl, i) for cl, i in sendable if i.decision.step in i.track.coupons]
        if not wanted:
            return None
        history = self.app.deliveries.history(
            list(dict.fromkeys(i.order.candidate.order_id for _, i in wanted))
        )
        s = self.summary
        settings = self.config.settings.coupons
        store = self.app.coupons
        held = store.of_deliveries([cl.id for cl, _ in wanted])
        out = _CouponRound()
        since = self.now - self.config.coupon_repeat_window
        # Why a step meant to carry a code has none: no free code, or the shop refused it.
        no_code = "pool_empty" if settings.source == "pool" else "shop_write_failed"
        for cl, item in wanted:
            if cl.id in held:
                self._coupon_of[cl.id] = held[cl.id]
                continue
            rule = item.track.coupons[item.decision.step]
            c, d = item.order.candidate, item.decision
            persons = _persons(c, self.config.settings.phone_region)
            without = [
                p.at
                for p in history.get(c.order_id, [])
                if p.flow == item.track.rules.flow
                and p.episode == d.episode
                and p.status is DeliveryStatus.SENT
                and p.step not in item.track.coupons
            ]
            bought = purchases.latest(c.customer_id, c.email) if purchases is not None else None
            choice = choose(
                d.step,
                rule,
                recently_given=bool(store.granted_since(persons, since)),
                allow_first_step=settings.allow_first_step,
                bought_at_full_price=bought_at_full_price(
                    without, [(bought, None)] if bought is not None else []
                ),
            )
            if choice is not CouponChoice.GIVE:
                s.coupons[choice.value] += 1
                continue
            if settings.source == "pattern":
                coupon = self._generated(cl, item, persons, expiry(rule, self.now))
            else:
                coupon = store.assign(cl.id, persons, self.now, expiry(rule, self.now))
            if coupon is not None:
                self._coupon_of[cl.id] = coupon
                s.coupons["given"] += 1
            elif settings.empty_pool == "wait":
                out.waiting.add(cl.id)
                s.coupons[f"{no_code}_waiting"] += 1
            else:
                s.coupons[f"{no_code}_sent_without"] += 1
        if out.waiting:
            self.app.deliveries.release(sorted(out.waiting))
        if settings.source == "pattern":
            return out  # no pool to run low
        left = store.available(self.now)
        s.coupon_pool_left = left
        if left < settings.low_pool and not s.coupon_pool_low:
            s.coupon_pool_low = True
            log.warning(
                "coupon pool low: %d free codes left (coupons.low_pool is %d); "
                "import more with 'cartnudge coupons import'",
                left,
                settings.low_pool,
            )
        return out

    def _generated(
        self, cl: Claimed, item: Due, persons: Any, expires_at: datetime | None
    ) -> Coupon | None:
        """A code made from ``coupons.pattern`` and written to the shop (coupon_insert.sql)
        before the message is sent; None when the shop could not take it: the code is
        withdrawn (the shopper never sees a code the shop does not know) and the message
        waits or goes without one as ``coupons.empty_pool`` says. Logged once per sweep."""
        settings = self.config.settings.coupons
        assert settings.pattern is not None and settings.discount is not None
        coupon = self.app.coupons.generate(
            cl.id, persons, self.now, expires_at, settings.pattern, settings.discount
        )
        c = item.order.candidate
        try:
            self.app.shop_writer.insert_coupon(
                coupon.code, coupon.discount, coupon.expires_at, c.customer_id,
                item.order.raw_order_id,
            )  # fmt: skip
        except DatabaseError as exc:
            self.app.coupons.withdraw(cl.id)
            if not self._shop_write_logged:
                self._shop_write_logged = True
                log.warning(
                    "coupon code not written to the shop, so not sent (%s): messages %s "
                    "(coupons.empty_pool); not logged again this sweep",
                    exc.message,
                    "wait" if settings.empty_pool == "wait" else "go without a code",
                )
            return None
        return coupon

    def _send_batch(
        self,
        kind: str,
        batch: list[tuple[Claimed, Due]],
        outcomes: list[Outcome],
        jobs: list[RenderJob],
        rendering: PendingBatch | None = None,
    ) -> None:
        """Render ``jobs`` (or take what the workers rendered), mark them sending, hand them to
        the channel and record every outcome of ``batch`` (``outcomes``: those already known)."""
        flows = {cl.id: item.track.rules.flow for cl, item in batch}
        envelopes: list[Envelope] = []
        try:
            if rendering is None:
                made = render_batch(self.config, self.app.catalogue, self.now, jobs)
            else:
                made = rendering.result()
        except RenderFailed as exc:
            # Nothing of the batch was marked sending or handed over: the next sweep takes them
            # up again, no attempt charged. The rest of the run renders in this process.
            if self._pool is not False:
                log.error("%s: its batches wait for the next sweep; rendering in-process", exc)
                if isinstance(self._pool, RenderPool):
                    self._pool.close()  # the workers left are stopped
                self._pool = False
            made = [f"not tried: {exc}"] * len(jobs)
            outcomes += [
                Outcome(job.delivery_id, DeliveryStatus.RETRY, why)
                for job, why in zip(jobs, made, strict=True)
            ]
            made = []
        for job, envelope in zip(jobs, made, strict=False):
            if isinstance(envelope, str):
                outcomes.append(Outcome(job.delivery_id, DeliveryStatus.FAILED, envelope))
            else:
                envelopes.append(envelope)
        channel = self._usable_channel(kind) if envelopes else None
        if envelopes and channel is None:
            # Not handed over, not marked sending, no attempt charged: the next sweep takes
            # them up again.
            why = self.summary.unusable_channels.get(kind) or (
                f"channel throttled: {self.summary.throttled_channels[kind]}"
            )
            outcomes += [
                Outcome(e.delivery_id, DeliveryStatus.RETRY, f"not tried: {why}") for e in envelopes
            ]
            envelopes = []
        if envelopes:
            try:
                self.app.deliveries.mark_sending(
                    [e.delivery_id for e in envelopes], self.clock, self.config.lease
                )
            except ClaimLost as exc:
                # Another run took these over after our lease ran out: it sends them, not us.
                log.warning("%s", exc)
                envelopes = []
        by_id = {e.delivery_id: e for e in envelopes}
        bounces: list[Bounce] = []
        results = channel.send(envelopes) if envelopes and channel else []
        for r in results:
            outcomes.append(outcome_of(r, by_id[r.delivery_id].message_id))
            if r.hard_bounce:
                bounces.append(Bounce(kind, by_id[r.delivery_id].recipient))
        # The outcomes and the suppressions of hard bounces in one transaction.
        self.app.deliveries.record(outcomes, self.now, bounces)
        self._note_settled(outcomes)
        if channel is not None and results:
            throttled, lost = channel_state(channel, results)
            if throttled and kind not in self.summary.throttled_channels:
                self.summary.throttled_channels[kind] = mask_pii(throttled)
                log.error(
                    "%s channel throttled, its reminders wait for the next sweep: %s",
                    kind,
                    throttled,
                )
            if lost and kind not in self.summary.unusable_channels:
                self.summary.unusable_channels[kind] = mask_pii(lost)
                log.error(
                    "%s channel lost in the middle of the run, its reminders wait for the "
                    "next sweep: %s",
                    kind,
                    lost,
                )
        stopped = getattr(channel, "stopped", None)
        if stopped and kind not in self._stopped_by_channel:
            self._stopped_by_channel.add(kind)
            self.summary.stopped_channels[kind] = (
                f"the API's monthly message limit: {stopped}"
                if getattr(channel, "monthly_limit", False)
                else str(stopped)
            )
        tally = Counter(o.status.value for o in outcomes)
        log.info(
            "%s batch of %d: %s",
            kind,
            len(batch),
            ", ".join(f"{status} {n}" for status, n in sorted(tally.items())) or "nothing sent",
        )
        for o in outcomes:
            self.summary.count_outcome(flows[o.delivery_id], o)
            if o.status is DeliveryStatus.IN_DOUBT:
                log.warning("delivery %d is in doubt: %s", o.delivery_id, o.detail)
            elif o.status is DeliveryStatus.FAILED:
                log.warning("delivery %d failed: %s", o.delivery_id, o.detail)
