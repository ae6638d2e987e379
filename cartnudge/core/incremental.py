"""What a sweep reads: everything (a full sweep) or only what can have changed since the last
one (an incremental sweep). Pure functions: the shell passes in the previous sweeps, the
configuration's delays and fingerprint and ``now``; nothing here reads a clock or a database.

A full sweep reads every order in the window (abandoned at or before ``now - shortest delay``,
active since ``now - window``). An incremental sweep reads, within that same window, only:

(a) the orders abandoned in ``(prev_now - d - overlap, now - d]`` for each delay ``d`` in force:
    those for which some step (of episode 0) fell due since the previous sweep;
(b) the orders active after ``prev_now - overlap`` (new activity: a new episode, a new cart);
(c) the orders whose optional ``updated_at`` is after ``prev_now - overlap``;
(d) the orders whose stored revisit time (:func:`revisit_time`) has come: a reminder deferred
    by quiet hours or the cap, a later step of a resend episode, a retry, a claim held back;

each decided exactly as a full sweep decides it, on fresh rows. ``overlap`` covers shop rows
committed a little after the time they carry. Whatever no timestamp shows (a consent flag
flipped in place) is seen by the next full sweep (``full_every``) at the latest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cartnudge.core.rules import Decision, Kind, SkipReason

# Why a sweep reads everything (the summary's ``mode_reason``).
FORCED = "--full"
FIRST = "no previous sweep on record"
CHANGED = "the configuration's flows changed"
PERIODIC = "full_every"
CLOCK = "a sweep on record ran at a later time"
TRIGGERS = "trigger steps (price_drop, low_stock) read every cart"
INTERRUPTED = "a sweep since the last one was interrupted with another configuration"
BUCKETS = "sweep.buckets: each bucket is read in full"
INCREMENTAL = "incremental"


@dataclass(frozen=True)
class PastSweep:
    """A sweep on record (the runs table): its ``now``, its status (``running``, ``ok``,
    ``problems``, ``error``, ``died``), whether it read everything, and the fingerprint of
    the configuration it ran with (None when not recorded)."""

    now: datetime
    status: str
    full: bool
    fingerprint: str | None

    @property
    def completed(self) -> bool:
        """It read and decided every page it meant to (ok, or problems with deliveries)."""
        return self.status in ("ok", "problems")


Range = tuple[datetime, datetime]  # (low, high]: after low, at or before high


@dataclass(frozen=True)
class ReadPlan:
    """What one sweep reads from the shop (all times naive UTC).

    Every read is bounded by the full sweep's window: ``abandoned_at <= due_before`` and the
    activity time ``>= active_since``. A full plan reads that window; an incremental one only
    its ``due_ranges`` on abandoned_at (each ``(low, high]``), the orders active after
    ``active_after``, updated after ``updated_after`` (when the shop has ``updated_at``),
    and the stored revisits due by ``revisit_until``."""

    full: bool
    reason: str
    due_before: datetime
    active_since: datetime
    previous_now: datetime | None = None
    due_ranges: tuple[Range, ...] = ()
    active_after: datetime | None = None
    updated_after: datetime | None = None
    revisit_until: datetime | None = None

    @property
    def mode(self) -> str:
        return "full" if self.full else "incremental"


def merge_ranges(ranges: Iterable[Range]) -> tuple[Range, ...]:
    """Half-open ``(low, high]`` ranges, empty ones dropped and overlapping or touching ones
    merged, in order: each order is read once however many delays' ranges hold it."""
    out: list[Range] = []
    for low, high in sorted(r for r in ranges if r[0] < r[1]):
        if out and low <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], high))
        else:
            out.append((low, high))
    return tuple(out)


def plan_reads(
    now: datetime,
    *,
    delays: Sequence[timedelta],
    window: timedelta,
    history: Sequence[PastSweep],
    fingerprint: str,
    full_every: timedelta,
    overlap: timedelta,
    force_full: bool = False,
    has_triggers: bool = False,
    buckets: bool = False,
) -> ReadPlan:
    """The reads of a sweep at ``now``.

    ``delays`` are every delay a step can fall due after (each step's, each A/B variant's and
    each test's earliest; at least one); ``window`` the validity (cart_ttl) or lookback;
    ``history`` the non-dry-run sweeps on record, the latest started first. The sweep is full
    when forced, when no completed sweep is on record, when one on record has a later ``now``
    (a replay of the past), when the previous completed sweep ran with another fingerprint
    (or an interrupted one since did), when the last full sweep is ``full_every`` old or
    older, when a flow has trigger steps (a price or stock change has no time on the
    cart), or with several sweepers (``buckets``: a bucket's previous sweep may have been
    another run's, or none in a round when its sweeper died, so the history of runs does not
    tell what the bucket has seen; each bucket is read in full). Raises ValueError when
    ``delays`` is empty."""
    if not delays:
        raise ValueError("plan_reads: no delays")
    shortest = min(delays)
    due_before = now - shortest
    active_since = now - window
    at = next((i for i, s in enumerate(history) if s.completed), None)
    previous = history[at] if at is not None else None
    since_previous = history[:at] if at is not None else []  # running, died, error
    last_full = next((s for s in history if s.completed and s.full), None)

    def as_full(reason: str) -> ReadPlan:
        return ReadPlan(
            True,
            reason,
            due_before,
            active_since,
            previous_now=previous.now if previous is not None else None,
        )

    if force_full:
        return as_full(FORCED)
    if buckets:
        return as_full(BUCKETS)
    if previous is None or last_full is None:
        return as_full(FIRST)
    if any(s.now > now for s in history):
        return as_full(CLOCK)
    if previous.fingerprint != fingerprint or last_full.fingerprint != fingerprint:
        return as_full(CHANGED)
    if any(s.fingerprint != fingerprint for s in since_previous):
        return as_full(INTERRUPTED)
    if now - last_full.now >= full_every:
        return as_full(PERIODIC)
    if has_triggers:
        return as_full(TRIGGERS)
    since = previous.now - overlap
    ranges = merge_ranges((since - d, now - d) for d in set(delays))
    return ReadPlan(
        False,
        INCREMENTAL,
        due_before,
        active_since,
        previous_now=previous.now,
        due_ranges=ranges,
        active_after=since,
        updated_after=since,
        revisit_until=now,
    )


def revisit_time(decisions: Iterable[Decision], now: datetime) -> datetime | None:
    """The earliest time at which the decisions about one order (one per flow and channel)
    can change without any change in the shop, or None when only a shop change can change
    them (every decision a skip, or a trigger step waiting for its condition).

    A wait is revisited when it ends (``due_at``: the step's time, the end of quiet hours, the
    cap's release). A send is revisited at the next sweep (``now``): it may not have gone (a
    retry, a claim held back or taken elsewhere). Once its reminder is on record for good
    (sent, failed, held out), the caller passes instead the decision made with it on record
    (the next step's wait, or a skip). A cart skipped because its address is suppressed is
    read again by the next sweep: taking an address off the list changes no shop row."""
    times: list[datetime] = []
    for d in decisions:
        if d.kind is Kind.SEND:
            times.append(now)
        elif d.kind is Kind.WAIT and d.due_at is not None:
            times.append(d.due_at)
        elif d.kind is Kind.SKIP and d.reason is SkipReason.SUPPRESSED:
            # An address taken off the suppression list changes no shop row: read again.
            times.append(now)
    return min(times) if times else None


def fingerprint(parts: Mapping[str, Any]) -> str:
    """A short hash of what changes decisions (flows, steps, delays, validity, quiet hours,
    the cap, holdouts, experiments, segments, consent, the abandoned.sql text...): equal
    parts give equal fingerprints on any host. ``parts`` must be JSON-serialisable."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
