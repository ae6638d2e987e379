"""Coupons that cannot be gamed: which step of which shopper gets a code. Pure rules.

SPEC 2.8 allows an optional coupon; shoppers who abandon on purpose to get one are the risk.
So (issue 13):

- the first step of a flow carries no coupon (the configuration refuses one there unless
  ``coupons.allow_first_step``): a shopper must wait past a coupon-less reminder for a code;
- a shopper given a code within ``coupons.repeat_window`` (default 90 days) gets none again,
  whichever record, cart or flow (checked under every key of :mod:`cartnudge.core.persons`);
- the expiry is relative to the send (``expires_after``) or a fixed date (``expires_at``),
  whichever comes first, and a code's own fixed expiry from the pool too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

DEFAULT_REPEAT_WINDOW = timedelta(days=90)


@dataclass(frozen=True)
class CouponRule:
    """A step's coupon: how long it is valid after the send, or until when."""

    expires_after: timedelta | None = timedelta(days=7)
    expires_at: datetime | None = None  # naive UTC


class CouponChoice(StrEnum):
    GIVE = "give"
    NO_COUPON_STEP = "no_coupon_step"  # the step carries none
    FIRST_STEP = "first_step"  # never on the first step (unless allowed)
    RECENTLY_GIVEN = "recently_given"  # this person had one within the repeat window


def choose(
    step_index: int,
    rule: CouponRule | None,
    *,
    recently_given: bool,
    allow_first_step: bool = False,
) -> CouponChoice:
    """Whether this step of this shopper's reminder carries a code."""
    if rule is None:
        return CouponChoice.NO_COUPON_STEP
    if step_index == 0 and not allow_first_step:
        return CouponChoice.FIRST_STEP
    if recently_given:
        return CouponChoice.RECENTLY_GIVEN
    return CouponChoice.GIVE


def expiry(rule: CouponRule, sent_at: datetime) -> datetime | None:
    """When a code given at ``sent_at`` stops being valid: the earlier of the relative and the
    fixed expiry; None when the rule sets neither."""
    ends = [t for t in (rule.expires_at,) if t is not None]
    if rule.expires_after is not None:
        ends.append(sent_at + rule.expires_after)
    return min(ends) if ends else None
