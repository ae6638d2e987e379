"""Which completed orders were recovered by a reminder: pure, like the rules.

``url`` attribution (the source platform's meaning): the order carries the recovery token of one
of our deliveries that went out before it was completed. ``cart`` attribution (always on, as
exact as a token): the shop records which abandoned order (or cart) the order came from, and a
reminder about it went out before. ``click`` attribution (optional): the same person (SPEC
"person": customer id or normalised address, see ``core/persons.py``) completed an order within
the attribution window after clicking one of their reminders (a click is the shop resolving the
reminder's recovery token). ``window`` attribution (optional, the loosest): the same person
completed an order within the attribution window after a reminder was sent. The rules are tried
strictest first (url, cart, click, window) and the first that matches names the recovery, so an
order carrying both a token and a cart id counts once. Each completed order is attributed at
most once (the state table's key enforces it too).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

URL = "url"
CART = "cart"
CLICK = "click"
WINDOW = "window"
RULES = (URL, CART, CLICK, WINDOW)  # strictest first


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
    first_click_at: datetime | None = None
    last_click_at: datetime | None = None

    def click_before(self, moment: datetime) -> datetime | None:
        """The latest known click at or before ``moment`` (only the first and the last click
        are stored, so a click between them is not seen: the rule can only under-count)."""
        for click in (self.last_click_at, self.first_click_at):
            if click is not None and click <= moment:
                return click
        return None


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
    rules: Sequence[str] | None = None,
    by_cart: Mapping[str, Sequence[SentDelivery]] | None = None,
) -> list[Recovery]:
    """Recoveries among ``orders``. ``by_id``: deliveries named by tokens; ``by_cart``: sent
    deliveries per abandoned order id; ``by_customer``: sent deliveries per person key
    (``customer:<id>``, ``email:<address>``, ...; a plain customer id also works), only needed
    for click and window. ``rules``: the rules in force (a subset of RULES; default url and
    cart, plus window when a ``window`` is given), tried strictest first; click and window need
    ``window``; cart applies whenever ``by_cart`` is given and the order names its cart."""
    if rules is None:
        rules = (URL, CART, WINDOW) if window is not None else (URL, CART)
    out: list[Recovery] = []
    for order in orders:
        delivery = by_id.get(order.token_delivery_id) if order.token_delivery_id else None
        if URL in rules and delivery is not None and delivery.sent_at <= order.completed_at:
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
        mine = list(seen.values())
        if CLICK in rules:
            clicked = []
            for d in mine:
                click = d.click_before(order.completed_at)
                if click is not None and order.completed_at <= click + window:
                    clicked.append((click, d.id, d))
            if clicked:
                out.append(_recovery(order, max(clicked, key=lambda c: c[:2])[2], CLICK))
                continue
        if WINDOW in rules:
            earlier = [d for d in mine if d.sent_at <= order.completed_at <= d.sent_at + window]
            if earlier:
                out.append(_recovery(order, max(earlier, key=lambda d: d.sent_at), WINDOW))
    return out
