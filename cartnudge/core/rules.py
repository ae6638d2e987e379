"""Who gets reminded, and when: SPEC section 2 as small, pure, named functions.

No I/O, no clock, no database: the shell passes in a :class:`Candidate` (one abandoned order as
the shop contract returned it), the order's :class:`PastDelivery` history, the flow's
:class:`FlowRules` and ``now``; :func:`decide` returns a :class:`Decision` to send, wait (until
when) or skip (with one :class:`SkipReason`, so reports can count them).

Timing has no windows (SPEC 2.3): a step is due whenever ``episode_start + delay <= now`` and it
has not been delivered in this episode, however late, missed or re-configured the cron runs were.
Only the cart's validity (SPEC 2.2) ends that.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from cartnudge.core.persons import normalise_email
from cartnudge.core.segments import CartFacts, Segment, SegmentReason, cart_reason
from cartnudge.core.triggers import ItemState, Trigger, TriggerHit, nothing_left, trigger_hit


class CustomerStatus(StrEnum):
    MEMBER = "member"
    VISITOR = "visitor"


class Storefront(StrEnum):
    LP = "lp"
    SHOP = "shop"


class AbandonedStep(StrEnum):
    """The furthest step the shopper reached before leaving (SPEC 2.1)."""

    CART = "cart"  # added a product to the SHOP cart
    CONFIRM = "confirm"  # reached the confirmation screen
    PAYMENT_FAILED = "payment_failed"  # authorisation failed, sent back to the purchase screen
    INPUT = "input"  # left the LP purchase form after typing (the input flow's candidates)


class Target(StrEnum):
    MEMBERS = "members"
    VISITORS = "visitors"
    ALL = "all"


class DeliveryStatus(StrEnum):
    CLAIMED = "claimed"  # a sweep inserted the row and will hand it to a channel
    SENDING = "sending"  # handed to a channel; a crash here leaves it in doubt
    SENT = "sent"
    RETRY = "retry"  # temporary failure: the next sweep may claim it again
    FAILED = "failed"  # permanent failure (server's answer recorded)
    IN_DOUBT = "in_doubt"  # a sweep died while sending: never re-sent automatically
    # In the holdout (SPEC 2.9): due and sendable by every rule, deliberately not sent; the
    # row records when and by which step the shopper would have been reminded.
    HELD_OUT = "held_out"


# Statuses after which a step counts as delivered for its episode: never send it again.
DONE_STATUSES = frozenset(
    {
        DeliveryStatus.SENDING,
        DeliveryStatus.SENT,
        DeliveryStatus.FAILED,
        DeliveryStatus.IN_DOUBT,
        DeliveryStatus.HELD_OUT,
    }
)
# Statuses that count as "a reminder went out" for the resend rule (SPEC 2.4).
REMINDED_STATUSES = frozenset(
    {DeliveryStatus.SENDING, DeliveryStatus.SENT, DeliveryStatus.IN_DOUBT}
)


class FlowKind(StrEnum):
    CONFIRM = "confirm"  # left at or before the confirmation screen (SPEC 2.1)
    INPUT = "input"  # left the LP purchase form after typing phone and e-mail (SPEC 2.6)


class SkipReason(StrEnum):
    FLOW_DISABLED = "flow_disabled"
    NOT_ABANDONED = "not_abandoned"  # this customer/storefront/step cell never abandons (2.1)
    NOT_TARGET = "not_target"  # outside the flow's target (members/visitors)
    FRAUD_RESULT = "fraud_result"  # screening result HOLD/REVIEW/NG (2.5)
    FRAUD_ACTION = "fraud_action"  # screening action "redirect to URL" (2.5)
    PURCHASED = "purchased"  # the customer completed a purchase since abandoning
    CART_EXPIRED = "cart_expired"  # abandoned_at + cart_ttl <= now (2.2)
    NO_CONSENT = "no_consent"  # no opt-in for the channel (2.7)
    NO_ADDRESS = "no_address"
    INVALID_ADDRESS = "invalid_address"
    SUPPRESSED = "suppressed"  # opt-out or hard bounce on the suppression list (2.7)
    ALREADY_DELIVERED = "already_delivered"  # every due step of this episode is done
    FREQUENCY_CAP = "frequency_cap"  # the customer's cap holds it back until the cart expires
    QUIET_HOURS = "quiet_hours"  # the next allowed hour comes after the cart expires
    # The shop's row cannot be used (README, "No row stops anything"): named column logged.
    INVALID_ROW = "invalid_row"  # an id, text or enum column holds what the contract refuses
    INVALID_AMOUNT = "invalid_amount"  # total_amount is NULL, NaN, ±Infinity, negative, huge
    INVALID_TIME = "invalid_time"  # abandoned_at (or activity) is NULL, infinity, year 0, ...
    # Segments (cartnudge.core.segments): the flow's or the step's conditions exclude the cart.
    BELOW_MIN_AMOUNT = SegmentReason.BELOW_MIN_AMOUNT.value
    ABOVE_MAX_AMOUNT = SegmentReason.ABOVE_MAX_AMOUNT.value
    SEGMENT_STATUS = SegmentReason.SEGMENT_STATUS.value
    RETURNING_CUSTOMER = SegmentReason.RETURNING_CUSTOMER.value
    FIRST_TIME_CUSTOMER = SegmentReason.FIRST_TIME_CUSTOMER.value
    EXCLUDED_PRODUCT = SegmentReason.EXCLUDED_PRODUCT.value
    EXCLUDED_CATEGORY = SegmentReason.EXCLUDED_CATEGORY.value
    NO_INCLUDED_PRODUCT = SegmentReason.NO_INCLUDED_PRODUCT.value
    NO_INCLUDED_CATEGORY = SegmentReason.NO_INCLUDED_CATEGORY.value
    # Triggers (cartnudge.core.triggers): every item of the cart is out of stock.
    OUT_OF_STOCK = "out_of_stock"


class Kind(StrEnum):
    SEND = "send"
    WAIT = "wait"
    SKIP = "skip"


@dataclass(frozen=True)
class Candidate:
    """One order in abandoned state, as the shop contract (sql/abandoned.sql) returns it."""

    order_id: str
    customer_id: str | None
    customer_status: CustomerStatus
    storefront: Storefront
    abandoned_step: AbandonedStep
    abandoned_at: datetime
    last_activity_at: datetime
    email: str | None = None
    email_consent: bool = False
    fraud_result: str | None = None
    fraud_action: str | None = None
    purchased_at: datetime | None = None  # the customer's latest completed order, if any
    # SMS and push (SPEC 2.6, 2.8); the shell normalises the phone to E.164 (phone_valid).
    phone: str | None = None
    phone_valid: bool = False
    sms_consent: bool = False
    push_token: str | None = None
    push_consent: bool = False
    # LINE (the Messaging API's user id of the shopper for this shop's official account).
    line_user_id: str | None = None
    line_consent: bool = False
    # Segments: the cart's total (whole yen; None: not known, no amount condition applies) and
    # whether the customer completed an order before (None: not known, taken as first-time).
    total_amount: int | None = None
    returning_customer: bool | None = None
    # The input flow's conditions (SPEC 2.6).
    logged_in: bool = False
    ad_input_enabled: bool = False  # came through an ad URL whose input-abandonment is on


@dataclass(frozen=True)
class PastDelivery:
    """A row of cartnudge's delivery table for this order."""

    flow: str
    step: int
    episode: int
    channel: str
    status: DeliveryStatus
    at: datetime  # when it was claimed (or sent, when known)
    episode_started_at: datetime | None = None  # stored with the row, so an episode keeps it


@dataclass(frozen=True)
class StepRule:
    index: int
    delay: timedelta
    channel: str = "email"
    segment: Segment | None = None  # the flow's segment refined by the step's (None: any cart)
    # A trigger step fires on its condition (price drop, low stock) instead of after ``delay``.
    trigger: Trigger | None = None


@dataclass(frozen=True)
class QuietHours:
    """Local times between which a channel may send: ``allowed_from`` <= t < ``allowed_until``
    (a window across midnight, e.g. 21:00 to 09:00, works too)."""

    allowed_from: time
    allowed_until: time
    tz: tzinfo


@dataclass(frozen=True)
class FrequencyCap:
    """At most ``max_sends`` reminders per customer in any rolling ``window``."""

    max_sends: int
    window: timedelta


Cell = tuple[CustomerStatus, Storefront, AbandonedStep]

# SPEC 2.1's table, the default: which (customer, storefront, step) cells count as abandoned.
# A failed payment authorisation counts wherever the confirmation screen would.
DEFAULT_CELLS: frozenset[Cell] = frozenset(
    {
        (CustomerStatus.MEMBER, Storefront.LP, AbandonedStep.CONFIRM),
        (CustomerStatus.MEMBER, Storefront.LP, AbandonedStep.PAYMENT_FAILED),
        (CustomerStatus.VISITOR, Storefront.LP, AbandonedStep.CONFIRM),
        (CustomerStatus.VISITOR, Storefront.LP, AbandonedStep.PAYMENT_FAILED),
        (CustomerStatus.MEMBER, Storefront.SHOP, AbandonedStep.CART),
        (CustomerStatus.MEMBER, Storefront.SHOP, AbandonedStep.CONFIRM),
        (CustomerStatus.MEMBER, Storefront.SHOP, AbandonedStep.PAYMENT_FAILED),
    }
)


def parse_cell(text: str) -> Cell:
    """``"visitor/shop/cart"`` as a cell; ValueError naming the allowed words otherwise."""
    parts = [p.strip().lower() for p in str(text).split("/")]
    if len(parts) != 3:
        raise ValueError(f"{text!r} is not customer/storefront/step (e.g. 'visitor/shop/cart')")
    kinds = (CustomerStatus, Storefront, AbandonedStep)
    out = []
    for part, kind in zip(parts, kinds, strict=True):
        try:
            out.append(kind(part))
        except ValueError:
            allowed = "|".join(m.value for m in kind)
            raise ValueError(f"{text!r}: {part!r} is not one of {allowed}") from None
    if out[2] is AbandonedStep.INPUT:
        raise ValueError(f"{text!r}: the input step belongs to the input flow")
    return (out[0], out[1], out[2])


@dataclass(frozen=True)
class FlowRules:
    flow: str
    enabled: bool
    target: Target
    steps: Sequence[StepRule]
    cart_ttl: timedelta | None  # None: unlimited
    resend_after: timedelta = timedelta(days=3)
    consent_required: bool = True
    suppressed_fraud_results: frozenset[str] = frozenset({"HOLD", "REVIEW", "NG"})
    suppressed_fraud_actions: frozenset[str] = frozenset({"redirect"})
    kind: FlowKind = FlowKind.CONFIRM
    # A flow that sends on several channels at once (the input flow's e-mail and SMS) is run
    # as one track per channel: its deliveries are told apart by ``channel``.
    channel: str | None = None
    quiet_hours: Mapping[str, QuietHours] = field(default_factory=dict)
    frequency_cap: FrequencyCap | None = None
    # Which cells of SPEC 2.1's table count as abandoned (flows.confirm.abandoned_cells).
    cells: frozenset[Cell] = DEFAULT_CELLS


@dataclass(frozen=True)
class Decision:
    kind: Kind
    reason: SkipReason | None = None
    step: int | None = None
    episode: int = 0
    channel: str | None = None
    due_at: datetime | None = None  # SEND: when it fell due; WAIT: when it will
    episode_started_at: datetime | None = None
    deferred_by: SkipReason | None = None  # WAIT because of quiet hours or the frequency cap
    superseded: tuple[int, ...] = field(default=())  # earlier due steps folded into this one
    trigger: TriggerHit | None = None  # SEND of a trigger step: the item that made it fire


def skip(reason: SkipReason, episode: int = 0) -> Decision:
    return Decision(Kind.SKIP, reason=reason, episode=episode)


# --- SPEC 2.1: when an order counts as abandoned -------------------------------------------


def counts_as_abandoned(
    c: Candidate, kind: FlowKind = FlowKind.CONFIRM, cells: frozenset[Cell] = DEFAULT_CELLS
) -> bool:
    """The confirm flow: the candidate's (customer, storefront, step) is one of ``cells``
    (default :data:`DEFAULT_CELLS`, the 2.1 table). The input flow (2.6): an LP purchase form
    left by a shopper who was not logged in, came through an ad URL with input abandonment
    enabled, and typed both a phone number and an e-mail address."""
    if kind is FlowKind.INPUT:
        return (
            c.storefront is Storefront.LP
            and c.abandoned_step is AbandonedStep.INPUT
            and not c.logged_in
            and c.ad_input_enabled
            and bool(c.phone and c.phone.strip())
            and bool(c.email and c.email.strip())
        )
    return (c.customer_status, c.storefront, c.abandoned_step) in cells


def in_target(c: Candidate, target: Target) -> bool:
    if target is Target.ALL:
        return True
    wanted = CustomerStatus.MEMBER if target is Target.MEMBERS else CustomerStatus.VISITOR
    return c.customer_status is wanted


# --- SPEC 2.5: fraud suppression ------------------------------------------------------------


def fraud_reason(c: Candidate, rules: FlowRules) -> SkipReason | None:
    """Screening results and actions match without regard to case."""
    results = {r.upper() for r in rules.suppressed_fraud_results}
    actions = {a.lower() for a in rules.suppressed_fraud_actions}
    if c.fraud_result and c.fraud_result.strip().upper() in results:
        return SkipReason.FRAUD_RESULT
    if c.fraud_action and c.fraud_action.strip().lower() in actions:
        return SkipReason.FRAUD_ACTION
    return None


# --- SPEC 2.2 / 2.4: cart validity and episodes ---------------------------------------------


def cart_expired(abandoned_at: datetime, cart_ttl: timedelta | None, now: datetime) -> bool:
    """An expired cart is never reminded. Exactly at ``abandoned_at + cart_ttl`` it has expired."""
    return cart_ttl is not None and abandoned_at + cart_ttl <= now


def last_reminder_at(history: Iterable[PastDelivery]) -> datetime | None:
    times = [d.at for d in history if d.status in REMINDED_STATUSES]
    return max(times) if times else None


@dataclass(frozen=True)
class Episode:
    number: int
    started_at: datetime


def current_episode(c: Candidate, history: Sequence[PastDelivery], rules: FlowRules) -> Episode:
    """Episode 0 starts at ``abandoned_at``. With unlimited cart validity, a shopper who came
    back to the cart at least ``resend_after`` after the last reminder, and left again, starts
    the next episode at that last activity (SPEC 2.4)."""
    own = [d for d in history if d.flow == rules.flow]
    number = max((d.episode for d in own), default=0)
    in_episode = [d for d in own if d.episode == number]
    started_at = c.abandoned_at
    if number > 0:
        stored = [d.episode_started_at for d in in_episode if d.episode_started_at is not None]
        started_at = min(stored) if stored else max(c.abandoned_at, c.last_activity_at)
    if rules.cart_ttl is None:
        last = last_reminder_at(in_episode)
        if last is not None and c.last_activity_at >= last + rules.resend_after:
            return Episode(number + 1, c.last_activity_at)
    return Episode(number, started_at)


# --- SPEC 2.7: consent, address, suppression ------------------------------------------------

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)


_LINE_USER_ID = re.compile(r"U[0-9a-f]{32}")


def valid_email(address: str) -> bool:
    """A deliverable-looking address: no spaces, no CR/LF, one @, a dotted domain."""
    return len(address) <= 254 and bool(_EMAIL.fullmatch(address))  # "$" allows a final "\n"


def normalise_address(address: str, channel: str = "email") -> str:
    """The form kept on the suppression list and in deliveries' ``recipient``: trimmed, and
    for e-mail NFKC and lower case as persons are told apart (:mod:`cartnudge.core.persons`;
    an E.164 number has no case; a push token's case is part of it)."""
    if channel == "email":
        return normalise_email(address) or ""
    return address.strip()


def contact_reason(
    c: Candidate, channel: str, rules: FlowRules, suppressed: bool
) -> SkipReason | None:
    """Consent, address and suppression for one channel (SPEC 2.7, 2.8: each its own opt-in)."""
    if channel == "email":
        consent, address = c.email_consent, (c.email or "").strip()
        valid = bool(address) and valid_email(address)
    elif channel == "sms":
        consent, address, valid = c.sms_consent, (c.phone or "").strip(), c.phone_valid
    elif channel == "push":
        consent, address = c.push_consent, (c.push_token or "").strip()
        valid = bool(address)
    elif channel == "line":
        consent, address = c.line_consent, (c.line_user_id or "").strip()
        valid = bool(_LINE_USER_ID.fullmatch(address))
    else:
        raise ValueError(f"unknown channel {channel!r}")
    if rules.consent_required and not consent:
        return SkipReason.NO_CONSENT
    if not address:
        return SkipReason.NO_ADDRESS
    if not valid:
        return SkipReason.INVALID_ADDRESS
    if suppressed:
        return SkipReason.SUPPRESSED
    return None


# --- SPEC 2.8: segments -------------------------------------------------------------------


def segment_reason(c: Candidate, segment: Segment | None) -> SkipReason | None:
    """The cart-level conditions of a step's segment (amount, status, first-time/returning);
    the item conditions are checked by the shell once it has read the items
    (:func:`cartnudge.core.segments.items_reason`). A candidate whose amount is not known
    (``total_amount`` None) passes the amount conditions."""
    if segment is None:
        return None
    if c.total_amount is None:
        segment = segment.refined({"min_amount": None, "max_amount": None})
    returning = c.returning_customer
    if returning is None and c.purchased_at is not None:
        returning = True  # an earlier completed order is on record
    facts = CartFacts(c.total_amount or 0, c.customer_status.value, returning)
    reason = cart_reason(facts, segment)
    return None if reason is None else SkipReason(reason.value)


# --- SPEC 2.8: not over-sending -------------------------------------------------------------


def next_allowed(moment: datetime, quiet: QuietHours | None) -> datetime:
    """The first instant at or after ``moment`` (naive UTC) that the channel may send at."""
    if quiet is None:
        return moment
    local = moment.replace(tzinfo=UTC).astimezone(quiet.tz)
    start, end, t = quiet.allowed_from, quiet.allowed_until, local.time()
    inside = start <= t < end if start < end else (t >= start or t < end)
    if inside:
        return moment
    day = local.date() if t < start else local.date() + timedelta(days=1)
    opening = datetime.combine(day, start, quiet.tz)
    return opening.astimezone(UTC).replace(tzinfo=None)


def cap_release(
    recent_sends: Iterable[datetime], cap: FrequencyCap | None, now: datetime
) -> datetime:
    """When the customer may next be reminded: ``now`` unless ``cap.max_sends`` reminders
    already went out in the window ending now; then when the oldest of those leaves it."""
    if cap is None:
        return now
    inside = sorted(t for t in recent_sends if now - cap.window < t <= now)
    if len(inside) < cap.max_sends:
        return now
    return inside[len(inside) - cap.max_sends] + cap.window


# --- SPEC 2.3: which step is due ------------------------------------------------------------


def decide(
    c: Candidate,
    history: Sequence[PastDelivery],
    rules: FlowRules,
    now: datetime,
    *,
    suppressed: bool | Collection[str] = False,
    recent_sends: Sequence[datetime] = (),
    stock: Sequence[ItemState] | None = None,
) -> Decision:
    """The one decision for ``c`` in ``rules.flow`` at ``now``.

    ``suppressed`` is True when the candidate's address is on the suppression list, or the set
    of channels whose address is (the shell looks that up per page). ``recent_sends`` are the
    customer's reminders across flows and channels, for the frequency cap. When several steps
    are due at once (a missed cron run, a shortened delay), only the latest is sent: one
    message, not a burst; the others are ``superseded``. Quiet hours and the frequency cap
    defer a due reminder (WAIT with ``deferred_by``), and skip it only when the cart would have
    expired by the time it may go. ``stock`` is the cart's items with the shop's current
    price and stock (None: not read): a trigger step whose condition holds is sent (before a
    due delay step), and a cart whose every item is out of stock is skipped (``out_of_stock``).
    """
    if not rules.enabled:
        return skip(SkipReason.FLOW_DISABLED)
    if c.customer_id is None and not (c.email or c.phone or c.push_token):
        # A deleted customer (or a guest who left nothing): nobody to remind, not an error.
        return skip(SkipReason.NO_ADDRESS)
    if not counts_as_abandoned(c, rules.kind, rules.cells):
        return skip(SkipReason.NOT_ABANDONED)
    if not in_target(c, rules.target):
        return skip(SkipReason.NOT_TARGET)
    fraud = fraud_reason(c, rules)
    if fraud is not None:
        return skip(fraud)

    episode = current_episode(c, history, rules)
    if c.purchased_at is not None and c.purchased_at >= episode.started_at:
        return skip(SkipReason.PURCHASED, episode.number)
    # Validity runs from the order's abandonment (SPEC 2.2) in every episode: an episode that
    # began while validity was unlimited must not revive a cart that has since expired.
    if cart_expired(c.abandoned_at, rules.cart_ttl, now):
        return skip(SkipReason.CART_EXPIRED, episode.number)

    done = {
        d.step
        for d in history
        if d.flow == rules.flow
        and d.episode == episode.number
        and d.status in DONE_STATUSES
        and (rules.channel is None or d.channel == rules.channel)
    }
    timed = [s for s in rules.steps if s.trigger is None]
    # Never go backwards: delay steps before the latest delivered one are over for this
    # episode. Trigger steps stand apart: each is sent at most once per episode, whenever its
    # condition holds (checked against ``stock``, the cart's items with the shop's status).
    last = max(done & {s.index for s in timed}, default=-1)
    remaining = [s for s in timed if s.index > last]
    waiting_triggers = [s for s in rules.steps if s.trigger is not None and s.index not in done]
    fired: list[tuple[StepRule, TriggerHit]] = []
    if stock is not None:
        for s in waiting_triggers:
            hit = trigger_hit(s.trigger, stock) if s.trigger is not None else None
            if hit is not None:
                fired.append((s, hit))
    if not remaining and not waiting_triggers:
        return skip(SkipReason.ALREADY_DELIVERED, episode.number)
    due = [s for s in remaining if episode.started_at + s.delay <= now]

    def decide(kind: Kind, step: StepRule, due_at: datetime | None, **more: Any) -> Decision:
        return Decision(
            kind,
            step=step.index,
            episode=episode.number,
            channel=step.channel,
            due_at=due_at,
            episode_started_at=episode.started_at,
            **more,
        )

    # A condition that holds now may not hold tomorrow, while a due delay step stays due (no
    # windows, SPEC 2.3): a fired trigger goes first, the delay step after it (the cap permitting).
    hit: TriggerHit | None = None
    if fired:
        latest, hit = fired[0]
        due_at, superseded = now, ()
    elif due:
        latest = max(due, key=lambda s: s.delay)
        due_at = episode.started_at + latest.delay
        superseded = tuple(s.index for s in due if s is not latest)
    elif remaining:
        first = min(remaining, key=lambda s: s.delay)
        return decide(Kind.WAIT, first, episode.started_at + first.delay)
    else:  # only trigger steps are left: they wait for their condition, not for a time
        return decide(Kind.WAIT, waiting_triggers[0], None)
    if stock is not None and nothing_left(stock):
        return skip(SkipReason.OUT_OF_STOCK, episode.number)
    outside = segment_reason(c, latest.segment)
    if outside is not None:
        return skip(outside, episode.number)
    blocked = suppressed if isinstance(suppressed, bool) else latest.channel in suppressed
    contact = contact_reason(c, latest.channel, rules, blocked)
    if contact is not None:
        return skip(contact, episode.number)
    capped = cap_release(recent_sends, rules.frequency_cap, now)
    allowed = next_allowed(capped, rules.quiet_hours.get(latest.channel))
    if allowed > now:
        held_by = SkipReason.FREQUENCY_CAP if capped > now else SkipReason.QUIET_HOURS
        if cart_expired(c.abandoned_at, rules.cart_ttl, allowed):
            return skip(held_by, episode.number)
        return decide(Kind.WAIT, latest, allowed, deferred_by=held_by, trigger=hit)
    return decide(Kind.SEND, latest, due_at, superseded=superseded, trigger=hit)
