"""Which completed orders were recovered by a reminder: pure, like the rules.

``url`` attribution (the source platform's meaning): the order carries the recovery token of one
of our deliveries that went out before it was completed. ``cart`` attribution: the shop records
which abandoned order (or cart) the order came from, and a reminder about it went out before.
``window`` attribution (optional): the same person (SPEC "person": customer id or normalised
address) completed an order within the attribution window after a reminder. Each completed
order is attributed at most once, by the first that applies in that order (the state table's key
enforces it too), so an order carrying both a token and a cart id counts once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

URL = "url"
CART = "cart"
WINDOW = "window"


@dataclass(frozen=True)
class CompletedOrder:
    order_id: str
    customer_id: str | None
    completed_at: datetime
    amount: int
    token_delivery_id: int | None  # from a genuine recovery token, else None
    abandoned_order_id: str | None = None  # the abandoned order/cart it came from, if recorded
    person_keys: frozenset[str] = frozenset()  # customer id and address keys (persons.py)


@dataclass(frozen=True)
class SentDelivery:
    id: int
    order_id: str
    flow: str
    customer_id: str | None
    sent_at: datetime


@dataclass(frozen=True)
class Recovery:
    order_id: str
    delivery_id: int
    abandoned_order_id: str
    flow: str
    customer_id: str | None
    attribution: str
    amount: int
    completed_at: datetime


def _recovery(order: CompletedOrder, delivery: SentDelivery, how: str) -> Recovery:
    return Recovery(
        order.order_id,
        delivery.id,
        delivery.order_id,
        delivery.flow,
        order.customer_id,
        how,
        order.amount,
        order.completed_at,
    )


def attribute(
    orders: Iterable[CompletedOrder],
    by_id: Mapping[int, SentDelivery],
    by_customer: Mapping[str, Sequence[SentDelivery]],
    *,
    window: timedelta | None,
    by_cart: Mapping[str, Sequence[SentDelivery]] | None = None,
) -> list[Recovery]:
    """Recoveries among ``orders``. ``by_id``: deliveries named by tokens; ``by_cart``: sent
    deliveries per abandoned order id; ``by_customer``: sent deliveries per person key
    (``customer:<id>``, ``email:<address>``, ...; a plain customer id also works), only
    needed with a ``window``."""
    out: list[Recovery] = []
    for order in orders:
        delivery = by_id.get(order.token_delivery_id) if order.token_delivery_id else None
        if delivery is not None and delivery.sent_at <= order.completed_at:
            out.append(_recovery(order, delivery, URL))
            continue
        from_cart = [
            d
            for d in (by_cart or {}).get(order.abandoned_order_id or "", ())
            if d.sent_at <= order.completed_at
        ]
        if from_cart:
            out.append(_recovery(order, max(from_cart, key=lambda d: d.sent_at), CART))
            continue
        keys = set(order.person_keys)
        if order.customer_id is not None:
            keys |= {order.customer_id, f"customer:{order.customer_id}"}
        if window is None or not keys:
            continue
        seen: dict[int, SentDelivery] = {}
        for key in keys:
            for d in by_customer.get(key, ()):
                seen[d.id] = d
        earlier = [
            d for d in seen.values() if d.sent_at <= order.completed_at <= d.sent_at + window
        ]
        if earlier:
            out.append(_recovery(order, max(earlier, key=lambda d: d.sent_at), WINDOW))
    return out
