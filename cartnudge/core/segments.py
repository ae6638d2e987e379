"""Segments (SPEC 2.8): which carts a flow, or one step of it, reminds at all. Pure rules.

A :class:`Segment` holds conditions on the cart amount (a minimum and a maximum, whole yen), the
customer status (member / visitor), first-time or returning customer, and the products or
categories in the cart (included: at least one item must match; excluded: no item may). Every
condition left unset lets every cart through, except the amount's minimum: by default a cart of
less than :data:`DEFAULT_MIN_AMOUNT` yen (a 0-yen cart) is never reminded.

A step's segment refines its flow's (:meth:`Segment.refined`): what the step sets replaces the
flow's value, the rest is the flow's. Each exclusion is a skip with its own reason (a
:class:`SegmentReason`, the same value as the :class:`cartnudge.core.rules.SkipReason` the rules
give; counted in the sweep's summary and kept in the skips table for the report). This module
imports nothing of cartnudge, so the rules can import it.

The cart-level conditions (amount, status, first-time) are decided before a claim from the
candidate alone (:func:`cart_reason`); the item-level ones need the cart's items, read after the
claim (:func:`items_reason`), like the purchase re-check.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

DEFAULT_MIN_AMOUNT = 1  # yen: a reminder never pushes an empty (0-yen) cart


class SegmentReason(StrEnum):
    BELOW_MIN_AMOUNT = "below_min_amount"
    ABOVE_MAX_AMOUNT = "above_max_amount"
    SEGMENT_STATUS = "segment_status"  # the customer status is not the segment's
    RETURNING_CUSTOMER = "returning_customer"  # the segment wants first-time customers
    FIRST_TIME_CUSTOMER = "first_time_customer"  # the segment wants returning customers
    EXCLUDED_PRODUCT = "excluded_product"
    EXCLUDED_CATEGORY = "excluded_category"
    NO_INCLUDED_PRODUCT = "no_included_product"
    NO_INCLUDED_CATEGORY = "no_included_category"


class CustomerHistory(StrEnum):
    ANY = "any"
    FIRST_TIME = "first_time"  # no completed order before this cart
    RETURNING = "returning"  # at least one completed order before


@dataclass(frozen=True)
class CartFacts:
    """What the segment's cart-level conditions look at."""

    amount: int  # whole yen, the cart's total
    customer_status: str  # "member" | "visitor"
    returning: bool | None  # None: unknown (no column and no earlier purchase known)


@dataclass(frozen=True)
class ItemFacts:
    """One item of the cart, for the item conditions: product id and category as text."""

    product_id: str
    category: str | None = None


@dataclass(frozen=True)
class Segment:
    """Conditions a cart must meet; ``None`` (or an empty set) means "any"."""

    min_amount: int | None = DEFAULT_MIN_AMOUNT
    max_amount: int | None = None
    customer_status: frozenset[str] | None = None
    customer: CustomerHistory | None = None
    include_products: frozenset[str] | None = None
    exclude_products: frozenset[str] | None = None
    include_categories: frozenset[str] | None = None
    exclude_categories: frozenset[str] | None = None

    def refined(self, changes: Mapping[str, object] | None) -> Segment:
        """This (the flow's) segment with a step's settings replacing the ones it gives (an
        explicit None lifts the flow's condition). :class:`ValueError` for an unknown key."""
        if not changes:
            return self
        unknown = set(changes) - set(self.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown segment key {sorted(unknown)[0]!r}")
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def needs_items(self) -> bool:
        return any(
            v
            for v in (
                self.include_products,
                self.exclude_products,
                self.include_categories,
                self.exclude_categories,
            )
        )


def cart_reason(cart: CartFacts, segment: Segment) -> SegmentReason | None:
    """Why the cart is outside ``segment`` by its amount, customer status or history, or None.

    An unknown history (``returning`` None) counts as first-time: a shop that cannot tell has
    no earlier order on record for the customer."""
    if segment.min_amount is not None and cart.amount < segment.min_amount:
        return SegmentReason.BELOW_MIN_AMOUNT
    if segment.max_amount is not None and cart.amount > segment.max_amount:
        return SegmentReason.ABOVE_MAX_AMOUNT
    if segment.customer_status and cart.customer_status not in segment.customer_status:
        return SegmentReason.SEGMENT_STATUS
    returning = bool(cart.returning)
    if segment.customer is CustomerHistory.FIRST_TIME and returning:
        return SegmentReason.RETURNING_CUSTOMER
    if segment.customer is CustomerHistory.RETURNING and not returning:
        return SegmentReason.FIRST_TIME_CUSTOMER
    return None


def items_reason(items: Iterable[ItemFacts], segment: Segment) -> SegmentReason | None:
    """Why the cart is outside ``segment`` by its items, or None. Exclusions first: one
    excluded item keeps the whole cart out, whatever else it holds."""
    items = list(items)
    products = {i.product_id for i in items}
    categories = {i.category for i in items if i.category}
    if segment.exclude_products and products & segment.exclude_products:
        return SegmentReason.EXCLUDED_PRODUCT
    if segment.exclude_categories and categories & segment.exclude_categories:
        return SegmentReason.EXCLUDED_CATEGORY
    if segment.include_products and not products & segment.include_products:
        return SegmentReason.NO_INCLUDED_PRODUCT
    if segment.include_categories and not categories & segment.include_categories:
        return SegmentReason.NO_INCLUDED_CATEGORY
    return None
