"""Coupons that cannot be gamed: which step of which shopper gets a code. Pure rules.

SPEC 2.8 allows an optional coupon; shoppers who abandon on purpose to get one are the risk.
So (issue 13):

- the first step of a flow carries no coupon (the configuration refuses one there unless
  ``coupons.allow_first_step``): a shopper must wait past a coupon-less reminder for a code;
- a shopper given a code within ``coupons.repeat_window`` (default 90 days) gets none again,
  whichever record, cart or flow (checked under every key of :mod:`cartnudge.core.persons`);
- a shopper who bought at full price after a reminder without a code, in the same episode,
  gets no code from a later step of it (:func:`bought_at_full_price`): the reminder worked
  without one, and a code now would only teach waiting for it;
- the expiry is relative to the send (``expires_after``) or a fixed date (``expires_at``),
  whichever comes first, and a code's own fixed expiry from the pool too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
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
    BOUGHT_AT_FULL_PRICE = "bought_at_full_price"  # bought after a coupon-less reminder


def choose(
    step_index: int,
    rule: CouponRule | None,
    *,
    recently_given: bool,
    allow_first_step: bool = False,
    bought_at_full_price: bool = False,
) -> CouponChoice:
    """Whether this step of this shopper's reminder carries a code. ``bought_at_full_price``:
    see :func:`bought_at_full_price`."""
    if rule is None:
        return CouponChoice.NO_COUPON_STEP
    if step_index == 0 and not allow_first_step:
        return CouponChoice.FIRST_STEP
    if bought_at_full_price:
        return CouponChoice.BOUGHT_AT_FULL_PRICE
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


def bought_at_full_price(
    reminded_without_code: Iterable[datetime],
    purchases: Iterable[tuple[datetime, str | None]],
) -> bool:
    """Whether the shopper completed an order without a code (``(completed_at, coupon_code)``)
    at or after one of this episode's reminders that carried none (their send times)."""
    first = min(reminded_without_code, default=None)
    if first is None:
        return False
    return any(at >= first and not (code or "").strip() for at, code in purchases)


@dataclass(frozen=True)
class Grant:
    """A code given to a shopper, under every key they were known by, for a cart."""

    keys: frozenset[str]
    at: datetime
    order_id: str | None = None  # the cart the code was given for
    code: str = ""


@dataclass(frozen=True)
class Abandonment:
    """A cart cartnudge saw abandoned (reminded or skipped), under the shopper's keys."""

    keys: frozenset[str]
    order_id: str
    at: datetime  # abandoned_at


@dataclass(frozen=True)
class CouponSeeker:
    """A shopper who kept abandoning carts after receiving codes (the report's coupon_seekers)."""

    keys: frozenset[str]
    codes: int  # codes given to them
    first_code_at: datetime
    abandoned_after: int  # other carts abandoned after the first code


DEFAULT_SEEKER_AFTER = 2


def coupon_seekers(
    grants: Iterable[Grant],
    abandonments: Iterable[Abandonment],
    *,
    after: int = DEFAULT_SEEKER_AFTER,
) -> list[CouponSeeker]:
    """The shoppers who abandoned at least ``after`` other carts after their first code.

    Grants that share a key are one shopper (the same code is recorded under each of their
    keys); an abandonment is theirs when it shares a key with them. The carts the codes were
    given for do not count. Ordered by most carts abandoned after, then the first code."""
    people: list[tuple[set[str], list[Grant]]] = []
    for g in sorted(grants, key=lambda g: g.at):
        joined = [p for p in people if p[0] & g.keys]
        keys, found = set(g.keys), [g]
        for p in joined:
            keys |= p[0]
            found += p[1]
            people.remove(p)
        people.append((keys, found))
    carts = list(abandonments)
    out = []
    for keys, found in people:
        first = min(g.at for g in found)
        given_for = {g.order_id for g in found if g.order_id}
        later = {
            a.order_id
            for a in carts
            if a.keys & keys and a.at > first and a.order_id not in given_for
        }
        if len(later) >= after:
            codes = len({g.code or (g.at, g.order_id) for g in found})
            out.append(CouponSeeker(frozenset(keys), codes, first, len(later)))
    return sorted(out, key=lambda s: (-s.abandoned_after, s.first_code_at, sorted(s.keys)))


def discount_cost(discount: str, order_amount: int | None) -> int | None:
    """What a redeemed code cost the shop, in yen (the minor unit), from its discount as shown
    to the shopper: a fixed amount (``500円``, ``¥500``, ``1,000 yen``, ``500``) costs that
    amount whatever the order; a percentage (``10%``, ``10％``, ``12.5%``) costs that share of
    the redeemed order's ``total_amount`` (as ``completed_orders.sql`` returns it), rounded half
    up to a whole yen. None when the text is neither, or a percentage's order amount is not
    known: the report counts those as ``discount_unknown``, never as 0 yen silently.

    >>> discount_cost("500円", 9800), discount_cost("10%", 6160), discount_cost("送料無料", 1)
    (500, 616, None)
    """
    import unicodedata
    from decimal import ROUND_HALF_UP, Decimal

    text = unicodedata.normalize("NFKC", discount or "").strip().lower().replace(",", "")
    percent = text.endswith("%")
    if percent:
        text = text[:-1]
    else:
        for mark in ("円引き", "円off", "円", "yen off", "yen", "off"):
            if text.endswith(mark):
                text = text[: -len(mark)]
                break
        text = text.removeprefix("¥").removeprefix("\\")
    text = text.strip()
    if not re.fullmatch(r"\d+(\.\d+)?", text):
        return None
    value = Decimal(text)
    if not percent:
        return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if order_amount is None or value > 100:
        return None
    cost = Decimal(order_amount) * value / 100
    return int(cost.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# -- codes generated by a pattern (coupons.source: pattern) ------------------------------------

# The characters of a generated code's random part: capitals and digits without the ones read
# for each other (0 and O, 1, I and L), so a code typed from a phone's screen is typed right.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
MIN_RANDOM = 6  # random characters in a code at least: 31**6 ~ 887 million codes
MAX_CODE = 64  # the state's code column
_RANDOM_PART = re.compile(r"\{random:(\d+)\}")
_LITERAL = re.compile(r"[A-Za-z0-9_-]*")


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot make codes (one line), or None. A pattern is literal letters,
    digits, ``-`` and ``_`` around ``{random:N}`` parts (N characters of
    :data:`CODE_ALPHABET`), e.g. ``CART-{random:8}``: at least :data:`MIN_RANDOM` random
    characters in all, at most :data:`MAX_CODE` characters."""
    parts = _RANDOM_PART.split(pattern)
    literals, counts = parts[0::2], [int(n) for n in parts[1::2]]
    bad = next((x for x in literals if not _LITERAL.fullmatch(x)), None)
    if bad is not None:
        return (
            f"{bad!r} is not letters, digits, '-' or '_' around {{random:N}} parts "
            "(e.g. CART-{random:8})"
        )
    if sum(counts) < MIN_RANDOM:
        return f"needs at least {MIN_RANDOM} random characters, e.g. CART-{{random:8}}"
    length = sum(len(x) for x in literals) + sum(counts)
    if length > MAX_CODE:
        return f"makes codes of {length} characters, more than {MAX_CODE}"
    return None


def fill_pattern(pattern: str, pick: Callable[[str], str]) -> str:
    """A code from ``pattern``: each ``{random:N}`` replaced by N characters, each
    ``pick(CODE_ALPHABET)`` (the caller's ``secrets.choice``; tests pass their own)."""
    return _RANDOM_PART.sub(
        lambda m: "".join(pick(CODE_ALPHABET) for _ in range(int(m[1]))), pattern
    )
