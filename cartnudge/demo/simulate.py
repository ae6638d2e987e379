"""Several days of the demo shop: hourly sweeps at successive times, and shoppers who answer.

The demo seeds its shop as it stands at the end of the story (``end``), holds back the purchases
that lie in the future of the first sweep, and then plays the days hour by hour:

1. the purchases whose time has come are put back into the shop (shoppers who bought on their
   own, without a reminder: the url attribution does not count them);
2. the shoppers whose recovery link visit is due open it: the demo's "shop" resolves the token
   from the message as a real restore page does (:func:`cartnudge.recovery.resolve_token`) and
   the shopper completes the restored cart, an order that carries the token;
3. one sweep at that hour sends what is due and attributes the purchases made through a link.

Each reminder sent is answered by a draw of ``random.Random(seed)``: some shoppers open the link
and buy, some open it and leave, most do nothing. The same seed gives the same story.
"""

from __future__ import annotations

import heapq
import logging
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from sqlalchemy import Engine, delete, insert, select

from cartnudge.app import App
from cartnudge.channels.base import Channel, Envelope, Result, SendResult
from cartnudge.demo.schema import order_items, orders
from cartnudge.errors import TokenError
from cartnudge.recovery import resolve_token
from cartnudge.sweep import Sweep

log = logging.getLogger("cartnudge.demo")

# The first token in a message is the recovery link's (the opt-out link comes last).
_TOKEN = re.compile(r"token=([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)")
OPEN_RATE = 0.35  # of the reminded shoppers, who open the recovery link
BUY_RATE = 0.4  # of those, who complete the restored cart


@dataclass
class Day:
    """What one local day of the story did."""

    sweeps: int = 0
    sent: int = 0
    opened: int = 0
    recovered: int = 0
    revenue: int = 0


@dataclass
class Story:
    """The simulated days, by local date, and the totals."""

    days: dict[str, Day] = field(default_factory=dict)
    sweeps: int = 0

    def day(self, name: str) -> Day:
        return self.days.setdefault(name, Day())

    @property
    def totals(self) -> Day:
        total = Day()
        for day in self.days.values():
            for key in ("sweeps", "sent", "opened", "recovered", "revenue"):
                setattr(total, key, getattr(total, key) + getattr(day, key))
        return total


class Recorder(Channel):
    """The demo's e-mail channel: the real one (outbox or SMTP), noting what was sent."""

    def __init__(self, inner: Channel) -> None:
        self.inner = inner
        self.name = inner.name
        self.sent: list[Envelope] = []

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self.inner.close()

    def send(self, batch: Sequence[Envelope]) -> list[SendResult]:
        results = self.inner.send(batch)
        by_id = {e.delivery_id: e for e in batch}
        self.sent += [by_id[r.delivery_id] for r in results if r.result is Result.SENT]
        return results


def recovery_token(message: bytes) -> str | None:
    """The recovery link's token in an RFC 5322 reminder, as a shopper's click would carry it."""
    parsed = message_from_bytes(message, policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    body = parsed.get_body(("plain",))
    if body is None:
        return None
    found = _TOKEN.search(body.get_content())
    return found.group(1) if found else None


def simulate(
    app: App,
    channel: Channel,
    shop: Engine,
    *,
    start: datetime,
    end: datetime,
    seed: int,
    tz: Any,
    on_sweep: Callable[[datetime], None] | None = None,
) -> Story:
    """Play the demo shop from ``start`` to ``end`` (naive UTC) with a sweep every hour;
    ``shop`` is a writable engine on the demo shop (the app only reads it)."""
    rng = random.Random(seed)
    story = Story()
    future = _hold_back_future_purchases(shop, start)
    visits: list[tuple[datetime, int, str]] = []  # (when, tie-breaker, token)
    recorder = Recorder(channel)
    moment = start
    while moment <= end:
        _restore_purchases(shop, future, moment)
        while visits and visits[0][0] <= moment:
            when, _, token = heapq.heappop(visits)
            _visit(app, shop, token, when, rng, story.day(_local_day(when, tz)))
        summary = Sweep(app, recorder, now=moment).run()
        day = story.day(_local_day(moment, tz))
        day.sweeps += 1
        story.sweeps += 1
        day.recovered += summary.recovered
        day.revenue += summary.recovered_amount
        for envelope in recorder.sent:
            day.sent += 1
            if rng.random() < OPEN_RATE:
                token = recovery_token(envelope.data)
                if token:
                    later = moment + timedelta(minutes=rng.randint(5, 6 * 60))
                    heapq.heappush(visits, (later, envelope.delivery_id, token))
        recorder.sent.clear()
        if on_sweep:
            on_sweep(moment)
        moment += timedelta(hours=1)
    return story


def _local_day(moment: datetime, tz: Any) -> str:
    return moment.replace(tzinfo=UTC).astimezone(tz).date().isoformat()


def _visit(
    app: App, shop: Engine, token: str, when: datetime, rng: random.Random, day: Day
) -> None:
    """A shopper opens the recovery link; some complete the restored cart."""
    try:
        cart = resolve_token(app, token, now=when)
    except TokenError as exc:
        log.info("demo: a recovery link was refused: %s", exc)
        return
    day.opened += 1
    if rng.random() >= BUY_RATE or not cart["items"]:
        return
    completed_at = when + timedelta(minutes=rng.randint(2, 40))
    row = {
        "customer_id": int(cart["customer_id"]) if cart["customer_id"] else None,
        "storefront": cart.get("storefront") or "shop",
        "lp_id": cart.get("lp_id"),
        "state": "completed",
        "abandoned_step": None,
        "logged_in": False,
        "created_at": when,
        "abandoned_at": None,
        "last_activity_at": completed_at,
        "completed_at": completed_at,
        "total_amount": sum(i["quantity"] * i["unit_price"] for i in cart["items"]),
        "fraud_result": "OK",
        "fraud_action": None,
        "ad_url_id": None,
        "recovery_token": token,
    }
    with shop.begin() as conn:
        order_id = conn.execute(insert(orders).values(**row)).inserted_primary_key[0]
        conn.execute(
            insert(order_items),
            [
                {
                    "order_id": order_id,
                    "product_id": i["product_id"],
                    "product_name": i["name"],
                    "quantity": i["quantity"],
                    "unit_price": i["unit_price"],
                }
                for i in cart["items"]
            ],
        )


def _hold_back_future_purchases(shop: Engine, start: datetime) -> list[tuple[datetime, dict, list]]:
    """Take the seeded purchases made after ``start`` out of the shop, to put each back when the
    story reaches its time (a sweep must not see tomorrow's orders)."""
    with shop.begin() as conn:
        rows = [
            dict(r._mapping)
            for r in conn.execute(
                select(orders).where(orders.c.state == "completed", orders.c.completed_at > start)
            )
        ]
        ids = [r["id"] for r in rows]
        by_order: dict[int, list[dict]] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            for item in conn.execute(select(order_items).where(order_items.c.order_id.in_(chunk))):
                by_order.setdefault(item.order_id, []).append(dict(item._mapping))
            conn.execute(delete(order_items).where(order_items.c.order_id.in_(chunk)))
            conn.execute(delete(orders).where(orders.c.id.in_(chunk)))
    held = [(r["completed_at"], r, by_order.get(r["id"], [])) for r in rows]
    held.sort(key=lambda h: (h[0], h[1]["id"]))
    held.reverse()  # pop() from the end takes the earliest
    return held


def _restore_purchases(
    shop: Engine, held: list[tuple[datetime, dict, list]], moment: datetime
) -> None:
    due = []
    while held and held[-1][0] <= moment:
        due.append(held.pop())
    if not due:
        return
    with shop.begin() as conn:
        conn.execute(insert(orders), [row for _, row, _ in due])
        rows = [item for _, _, its in due for item in its]
        if rows:
            conn.execute(insert(order_items), rows)
