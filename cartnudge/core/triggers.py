"""Reminders that fire on a condition instead of a delay (SPEC 2.8, issue 13 point 3). Pure.

A step may carry a ``trigger`` instead of a ``delay``: ``price_drop`` (an item's current price
at least N % below its price in the cart) or ``low_stock`` (an item's stock at or below N). The
shop returns current prices and stock through the optional contract file
``sql/product_status.sql``; the shell joins them to the cart's items as :class:`ItemState`
and asks :func:`trigger_hit` whether the condition holds. The rules
(:func:`cartnudge.core.rules.decide`) send a trigger step at most once per episode, any time
while the cart is valid, subject to consent, quiet hours and the frequency cap like any step;
the shell checks it again (with fresh prices and stock) just before sending.

An item now out of stock (stock 0 or less) is left out of every reminder's item list; a cart
with nothing left to buy is not reminded at all (``out_of_stock``). An item whose status the
shop did not return is taken as it is in the cart: in stock, at the cart's price.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class TriggerKind(StrEnum):
    PRICE_DROP = "price_drop"  # an item's current price at least N % below its cart price
    LOW_STOCK = "low_stock"  # an item's stock at or below N (and above 0)


@dataclass(frozen=True)
class Trigger:
    """A step's condition: ``threshold`` is a percentage for price_drop, units for low_stock."""

    kind: TriggerKind
    threshold: Decimal

    def describe(self) -> str:
        """``price_drop 10%`` / ``low_stock 3``, as the report and the summary name it."""
        if self.kind is TriggerKind.PRICE_DROP:
            return f"price_drop {self.threshold.normalize():f}%"
        return f"low_stock {self.threshold.normalize():f}"


@dataclass(frozen=True)
class ItemState:
    """One cart item with the shop's current status of its product."""

    product_id: str
    name: str
    cart_price: int  # the unit price in the cart (minor unit)
    current_price: int | None = None  # None: the shop returned no status for it
    stock: int | None = None  # None: not known (taken as in stock)

    @property
    def out_of_stock(self) -> bool:
        return self.stock is not None and self.stock <= 0


@dataclass(frozen=True)
class TriggerHit:
    """Why a trigger step fires: the item, its old and new price, or its remaining stock."""

    kind: TriggerKind
    product_id: str
    name: str
    old_price: int
    new_price: int
    stock: int | None

    @property
    def drop_percent(self) -> int:
        """The price drop in whole percent, rounded down (what a message may say)."""
        if self.old_price <= 0:
            return 0
        return (self.old_price - self.new_price) * 100 // self.old_price

    def context(self) -> dict:
        """``trigger`` as templates see it."""
        return {
            "kind": self.kind.value,
            "item": {"product_id": self.product_id, "name": self.name},
            "old_price": self.old_price,
            "new_price": self.new_price,
            "drop_percent": self.drop_percent,
            "stock": self.stock,
        }


def parse_trigger(raw: Mapping[str, object]) -> Trigger:
    """``{price_drop: 10}`` / ``{price_drop: "10%"}`` / ``{low_stock: 3}`` as a Trigger;
    ValueError with a one-line reason otherwise."""
    if not isinstance(raw, Mapping) or len(raw) != 1:
        raise ValueError("give exactly one of price_drop: N% or low_stock: N")
    [(name, value)] = raw.items()
    try:
        kind = TriggerKind(str(name))
    except ValueError:
        raise ValueError(f"{name!r} is not price_drop or low_stock") from None
    text = str(value).strip()
    if isinstance(value, bool) or value is None or not text:
        raise ValueError(f"{name}: give a number (got {value!r})")
    if kind is TriggerKind.PRICE_DROP:
        text = text.removesuffix("%").strip()
    try:
        number = Decimal(text)
    except ArithmeticError:
        raise ValueError(f"{name}: not a number (got {value!r})") from None
    if not number.is_finite():
        raise ValueError(f"{name}: not a number (got {value!r})")
    if kind is TriggerKind.PRICE_DROP and not 0 < number < 100:
        raise ValueError(f"{name}: must be a percentage above 0 and below 100 (got {value!r})")
    if kind is TriggerKind.LOW_STOCK and (number != number.to_integral_value() or number < 1):
        raise ValueError(f"{name}: must be a whole number of at least 1 (got {value!r})")
    return Trigger(kind, number)


def in_stock(items: Iterable[ItemState]) -> list[ItemState]:
    """The items a reminder may list: every one not out of stock."""
    return [i for i in items if not i.out_of_stock]


def nothing_left(items: Sequence[ItemState]) -> bool:
    """A cart whose every item is out of stock (an empty list is not: its items are unknown)."""
    return bool(items) and all(i.out_of_stock for i in items)


def trigger_hit(trigger: Trigger, items: Iterable[ItemState]) -> TriggerHit | None:
    """The item that makes ``trigger`` fire, or None. Only items still in stock count.

    price_drop: ``(cart_price - current_price) * 100 >= N * cart_price``; of several, the
    largest drop in percent (then the first listed). low_stock: ``1 <= stock <= N``; of
    several, the fewest left (then the first listed)."""
    best: tuple[Decimal, int, TriggerHit] | None = None
    for position, item in enumerate(items):
        if item.out_of_stock:
            continue
        if trigger.kind is TriggerKind.PRICE_DROP:
            if item.current_price is None or item.cart_price <= 0:
                continue
            drop = item.cart_price - item.current_price
            if drop * 100 < trigger.threshold * item.cart_price:
                continue
            rank = -Decimal(drop) / item.cart_price
        else:
            if item.stock is None or item.stock > trigger.threshold:
                continue
            rank = Decimal(item.stock)
        hit = TriggerHit(
            trigger.kind,
            item.product_id,
            item.name,
            item.cart_price,
            item.current_price if item.current_price is not None else item.cart_price,
            item.stock,
        )
        if best is None or (rank, position) < best[:2]:
            best = (rank, position, hit)
    return None if best is None else best[2]
