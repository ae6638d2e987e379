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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


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


# Statuses after which a step counts as delivered for its episode: never send it again.
DONE_STATUSES = frozenset(
    {DeliveryStatus.SENDING, DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.IN_DOUBT}
)
# Statuses that count as "a reminder went out" for the resend rule (SPEC 2.4).
REMINDED_STATUSES = frozenset(
    {DeliveryStatus.SENDING, DeliveryStatus.SENT, DeliveryStatus.IN_DOUBT}
)


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


class Kind(StrEnum):
    SEND = "send"
    WAIT = "wait"
    SKIP = "skip"


@dataclass(frozen=True)
class Candidate:
    """One order in abandoned state, as the shop contract (sql/abandoned_orders.sql) returns it."""

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


@dataclass(frozen=True)
class Decision:
    kind: Kind
    reason: SkipReason | None = None
    step: int | None = None
    episode: int = 0
    channel: str | None = None
    due_at: datetime | None = None  # SEND: when it fell due; WAIT: when it will
    episode_started_at: datetime | None = None
    superseded: tuple[int, ...] = field(default=())  # earlier due steps folded into this one

    @property
    def sends(self) -> bool:
        return self.kind is Kind.SEND


def skip(reason: SkipReason, episode: int = 0) -> Decision:
    return Decision(Kind.SKIP, reason=reason, episode=episode)


# --- SPEC 2.1: when an order counts as abandoned -------------------------------------------

_CONFIRM_STEPS = frozenset({AbandonedStep.CONFIRM, AbandonedStep.PAYMENT_FAILED})
_SHOP_MEMBER_STEPS = frozenset(
    {AbandonedStep.CART, AbandonedStep.CONFIRM, AbandonedStep.PAYMENT_FAILED}
)


def counts_as_abandoned(c: Candidate) -> bool:
    """The 2.1 table. A failed payment authorisation counts wherever the confirmation would."""
    if c.storefront is Storefront.LP:
        return c.abandoned_step in _CONFIRM_STEPS
    if c.customer_status is CustomerStatus.MEMBER:
        return c.abandoned_step in _SHOP_MEMBER_STEPS
    return False  # a visitor on the SHOP never has an abandoned order


def in_target(c: Candidate, target: Target) -> bool:
    if target is Target.ALL:
        return True
    wanted = CustomerStatus.MEMBER if target is Target.MEMBERS else CustomerStatus.VISITOR
    return c.customer_status is wanted


# --- SPEC 2.5: fraud suppression ------------------------------------------------------------


def fraud_reason(c: Candidate, rules: FlowRules) -> SkipReason | None:
    if c.fraud_result and c.fraud_result.upper() in rules.suppressed_fraud_results:
        return SkipReason.FRAUD_RESULT
    if c.fraud_action and c.fraud_action in rules.suppressed_fraud_actions:
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


def valid_email(address: str) -> bool:
    """A deliverable-looking address: no spaces, no CR/LF, one @, a dotted domain."""
    return len(address) <= 254 and bool(_EMAIL.fullmatch(address))  # "$" allows a final "\n"


def normalise_address(address: str) -> str:
    """The form kept on the suppression list: trimmed, lower case."""
    return address.strip().lower()


def contact_reason(
    c: Candidate, channel: str, rules: FlowRules, suppressed: bool
) -> SkipReason | None:
    if channel != "email":
        raise ValueError(f"unknown channel {channel!r}")
    if rules.consent_required and not c.email_consent:
        return SkipReason.NO_CONSENT
    if not c.email or not c.email.strip():
        return SkipReason.NO_ADDRESS
    if not valid_email(c.email.strip()):
        return SkipReason.INVALID_ADDRESS
    if suppressed:
        return SkipReason.SUPPRESSED
    return None


# --- SPEC 2.3: which step is due ------------------------------------------------------------


def decide(
    c: Candidate,
    history: Sequence[PastDelivery],
    rules: FlowRules,
    now: datetime,
    *,
    suppressed: bool = False,
) -> Decision:
    """The one decision for ``c`` in ``rules.flow`` at ``now``.

    ``suppressed`` tells whether the candidate's address is on the suppression list (the shell
    looks that up per chunk). When several steps are due at once (a missed cron run, a shortened
    delay), only the latest is sent: one message, not a burst; the others are ``superseded``.
    """
    if not rules.enabled:
        return skip(SkipReason.FLOW_DISABLED)
    if not counts_as_abandoned(c):
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
        if d.flow == rules.flow and d.episode == episode.number and d.status in DONE_STATUSES
    }
    # Never go backwards: steps before the latest delivered one are over for this episode.
    remaining = [s for s in rules.steps if s.index > max(done, default=-1)]
    if not remaining:
        return skip(SkipReason.ALREADY_DELIVERED, episode.number)
    due = [s for s in remaining if episode.started_at + s.delay <= now]
    if not due:
        first = min(remaining, key=lambda s: s.delay)
        return Decision(
            Kind.WAIT,
            step=first.index,
            episode=episode.number,
            channel=first.channel,
            due_at=episode.started_at + first.delay,
            episode_started_at=episode.started_at,
        )
    latest = max(due, key=lambda s: s.delay)
    contact = contact_reason(c, latest.channel, rules, suppressed)
    if contact is not None:
        return skip(contact, episode.number)
    return Decision(
        Kind.SEND,
        step=latest.index,
        episode=episode.number,
        channel=latest.channel,
        due_at=episode.started_at + latest.delay,
        episode_started_at=episode.started_at,
        superseded=tuple(s.index for s in due if s is not latest),
    )
