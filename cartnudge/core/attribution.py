"""Which completed orders were recovered by a reminder: pure, like the rules.

``url`` attribution (the source platform's meaning): the order carries the recovery token of one
of our deliveries that went out before it was completed. ``window`` attribution (optional): the
same customer completed an order within the attribution window after a reminder. Each completed
order is attributed at most once (the state table's key enforces it too).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

URL = "url"
WINDOW = "window"


@dataclass(frozen=True)
class CompletedOrder:
    order_id: str
    customer_id: str | None
    completed_at: datetime
    amount: int
    token_delivery_id: int | None  # from a genuine recovery token, else None


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
) -> list[Recovery]:
    """Recoveries among ``orders``. ``by_id``: deliveries named by tokens; ``by_customer``: the
    customers' sent deliveries (only needed with a ``window``)."""
    out: list[Recovery] = []
    for order in orders:
        delivery = by_id.get(order.token_delivery_id) if order.token_delivery_id else None
        if delivery is not None and delivery.sent_at <= order.completed_at:
            out.append(_recovery(order, delivery, URL))
            continue
        if window is None or order.customer_id is None:
            continue
        earlier = [
            d
            for d in by_customer.get(order.customer_id, ())
            if d.sent_at <= order.completed_at <= d.sent_at + window
        ]
        if earlier:
            out.append(_recovery(order, max(earlier, key=lambda d: d.sent_at), WINDOW))
    return out
