"""SPEC 2.3, timing without losses: no delay change, missed cron run or late run can make a
shopper fall out of the reminders, and a shortened delay never reaches an expired cart (2.2).

Each scenario is a sequence of sweeps through the library, the App rebuilt from a new
configuration file before every sweep (as cron would start a new process after an operator
edited the file). The expectation is computed here, independently of cartnudge.core.rules: a cart
gets exactly one reminder, at the first sweep ``t`` (with delay ``d`` in force) where
``abandoned_at + d <= t < abandoned_at + cart_ttl``; a cart with no such sweep gets none.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from cartnudge.app import App
from cartnudge.channels.memory import MemoryChannel
from cartnudge.config import load_config
from cartnudge.core.persons import person_key
from cartnudge.core.stats import assign
from cartnudge.demo.schema import customers, order_items, orders
from cartnudge.state.schema import deliveries
from cartnudge.sweep import Sweep
from tests.conftest import write_config
from tests.shop import ShopBuilder

T0 = datetime(2026, 11, 22, 0, 0)
CART_TTL_MINUTES = 1440
CART_TTL = timedelta(minutes=CART_TTL_MINUTES)
MESSAGE_ID = re.compile(r"<cartnudge\.\d+\.(\w+)@")


def at(hours: int, minutes: int = 0) -> datetime:
    return T0 + timedelta(hours=hours, minutes=minutes)


H = timedelta(hours=1)

# (sweep time, delay in force at that sweep)
SCHEDULES: dict[str, list[tuple[datetime, timedelta]]] = {
    # Hourly, on time, while an operator changes the delay: 3h -> 6h -> 1h -> 3h.
    "hourly-delay-changes": [(at(h), 3 * H) for h in range(0, 6)]
    + [(at(h), 6 * H) for h in range(6, 12)]
    + [(at(h), 1 * H) for h in range(12, 18)]
    + [(at(h), 3 * H) for h in range(18, 27)],
    # Missed runs (hours skipped, one gap of 10 hours) and late runs (:59 instead of :00),
    # with the delay changing too.
    "missed-and-late-runs": [
        (at(0), 3 * H),
        (at(1), 3 * H),
        (at(4, 59), 3 * H),  # 2:00, 3:00 missed, 4:00 late
        (at(5, 59), 6 * H),
        (at(6, 59), 6 * H),
        (at(11), 6 * H),  # 7:00 to 10:00 missed
        (at(12, 59), 1 * H),
        (at(13, 59), 1 * H),
        (at(24), 1 * H),  # 14:00 to 23:00 missed
        (at(24, 59), 3 * H),
        (at(26), 3 * H),
        (at(30, 59), 3 * H),
        (at(31, 59), 6 * H),
        (at(40), 3 * H),
    ],
}


def cart_times(schedule: list[tuple[datetime, timedelta]]) -> list[datetime]:
    """Carts abandoned at many different minutes (and seconds) from a day before the first
    sweep to after the last, plus the exact edges of every sweep: due exactly, a second before
    due, expired exactly, a minute before expiry."""
    first, last = schedule[0][0], schedule[-1][0]
    times = set()
    start = first - CART_TTL - 2 * H
    k = 0
    while start + timedelta(minutes=13 * k) <= last + H:
        times.add(start + timedelta(minutes=13 * k, seconds=(17 * k) % 60))
        k += 1
    for t, delay in schedule:
        times |= {
            t - delay,
            t - delay + timedelta(seconds=1),
            t - CART_TTL,
            t - CART_TTL + timedelta(minutes=1),
        }
    return sorted(times)


def add_carts(shop: ShopBuilder, times: list[datetime]) -> dict[str, datetime]:
    """What ``shop.abandoned(t)`` makes for each ``t`` (a member's SHOP cart, opted in, two
    items), written in one transaction so that hundreds of carts take no time on any backend;
    returns {order id: abandoned_at}."""
    first_id = 100_000
    ids = range(first_id, first_id + len(times))
    with shop.engine.begin() as conn:
        conn.execute(
            customers.insert(),
            [
                dict(
                    id=i,
                    status="member",
                    name="山田 太郎",
                    email=f"customer{i}@example.jp",
                    email_optin=True,
                    created_at=datetime(2026, 1, 1),
                )
                for i in ids
            ],
        )
        conn.execute(
            orders.insert(),
            [
                dict(
                    id=i,
                    customer_id=i,
                    storefront="shop",
                    state="abandoned",
                    abandoned_step="cart",
                    logged_in=True,
                    created_at=t,
                    abandoned_at=t,
                    last_activity_at=t,
                    total_amount=1980 * 2 + 2200,
                )
                for i, t in zip(ids, times, strict=True)
            ],
        )
        conn.execute(
            order_items.insert(),
            [
                dict(
                    id=2 * i + k,
                    order_id=i,
                    product_id=product,
                    product_name=name,
                    quantity=quantity,
                    unit_price=price,
                )
                for i in ids
                for k, (product, name, quantity, price) in enumerate(
                    [
                        (1, "国産有機抹茶 100g", 2, 1980),
                        (2, "今治タオル フェイスタオル 2枚組", 1, 2200),
                    ]
                )
            ],
        )
    return {str(i): t for i, t in zip(ids, times, strict=True)}


def expected_sweep(
    abandoned_at: datetime, schedule: list[tuple[datetime, timedelta]], extra: timedelta = 0 * H
) -> int:
    """Index of the sweep that must remind this cart (its delay longer by ``extra``: an A/B
    variant's later delay); -1 when none may."""
    for i, (t, delay) in enumerate(schedule):
        if abandoned_at + delay + extra <= t < abandoned_at + CART_TTL:
            return i
    return -1


def configure(
    config_data: dict, tmp_path: Path, delay: timedelta, i: int, holdout: str | None = None
) -> App:
    data = dict(config_data)
    data["shop"] = {**config_data["shop"], "cart_ttl": CART_TTL_MINUTES}
    data["flows"] = {"confirm": {**config_data["flows"]["confirm"], "delay": f"{delay // H}h"}}
    if holdout == "variant":  # an A/B test: B waits two hours more than the delay in force
        confirm = data["flows"]["confirm"]
        del confirm["delay"]
        confirm["steps"] = [
            {
                "delay": f"{delay // H}h",
                "experiment": "timing",
                "variants": [{"name": "A"}, {"name": "B", "delay": f"{delay // H + 2}h"}],
            }
        ]
    elif holdout:
        data["flows"]["confirm"]["holdout"] = holdout
    data["sweep"] = {"chunk_size": 40, "send_batch": 10}
    return App(load_config(write_config(tmp_path, data, name=f"config-{i}.yaml")))


@pytest.mark.parametrize("holdout", [None, "30%", "variant"])
@pytest.mark.parametrize("scenario", sorted(SCHEDULES))
def test_every_cart_due_before_expiry_is_reminded_exactly_once(
    scenario: str, holdout: str | None, shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    """With a holdout, a held-out shopper's would-be reminder is recorded exactly when the
    reminder would have gone (never twice, never lost, never after expiry) and nothing is
    sent to them."""
    schedule = SCHEDULES[scenario]
    abandoned_at = add_carts(shop, cart_times(schedule))
    extra = dict.fromkeys(abandoned_at, 0 * H)
    if holdout == "variant":
        for o in abandoned_at:
            person = person_key("email", f"customer{o}@example.jp", o)
            if assign(person, "ab:confirm:timing", [("A", 1.0), ("B", 1.0)]) == "B":
                extra[o] = 2 * H
        assert 0 < sum(1 for e in extra.values() if e) < len(extra)
    expected = {o: expected_sweep(a, schedule, extra[o]) for o, a in abandoned_at.items()}
    # The scenario is worth running: most carts are reminded, some cannot be (expired before
    # any sweep found them due, or never due), and most sweeps have work.
    reminded = {o for o, i in expected.items() if i >= 0}
    assert len(abandoned_at) / 2 < len(reminded) < len(abandoned_at)
    assert len(set(expected.values()) - {-1}) > len(schedule) / 2

    sent_at: dict[str, list[int]] = defaultdict(list)
    for i, (now, delay) in enumerate(schedule):
        app = configure(config_data, tmp_path, delay, i, holdout)
        channel = MemoryChannel()
        try:
            summary = Sweep(app, channel, now=now).run()
        finally:
            app.dispose()
        assert (summary.failed, summary.in_doubt_found, summary.invalid_rows) == (0, 0, 0)
        assert summary.sent == len(channel.sent)
        for envelope in channel.sent:
            match = MESSAGE_ID.search(envelope.message_id)
            assert match, envelope.message_id
            sent_at[match.group(1)].append(i)

    with shop.engine.connect() as conn:
        found = conn.execute(
            select(deliveries.c.order_id, deliveries.c.status, deliveries.c.sent_at)
        ).all()
    sweep_at = {now: i for i, (now, _delay) in enumerate(schedule)}
    held = {o: [sweep_at[t]] for o, status, t in found if status == "held_out"}
    assert bool(held) == (holdout == "30%")
    assert set(held).isdisjoint(sent_at)  # a held-out shopper is sent nothing
    sent_at.update(held)

    # Nobody twice; nobody expired; nobody lost: each reminded at the first sweep it could be.
    assert {o: s for o, s in sent_at.items() if len(s) > 1} == {}
    for order, sweeps in sent_at.items():
        now, delay = schedule[sweeps[0]]
        assert abandoned_at[order] + CART_TTL > now, f"order {order}: reminded after expiry"
        assert abandoned_at[order] + delay + extra[order] <= now, f"order {order}: before due"
    actual = {o: sent_at[o][0] if o in sent_at else -1 for o in abandoned_at}
    wrong = {
        o: (abandoned_at[o], expected[o], actual[o]) for o in actual if actual[o] != expected[o]
    }
    assert wrong == {}

    # The state agrees: one delivery row per reminded cart, sent (or held out); none for others.
    assert sorted((o, status) for o, status, _ in found) == sorted(
        (o, "held_out" if o in held else "sent") for o in reminded
    )
