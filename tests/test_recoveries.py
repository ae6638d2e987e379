"""Recovered orders (url and window attribution) and the purchase re-check at send time."""

from __future__ import annotations

import email
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from cartnudge.app import App
from cartnudge.channels.memory import MemoryChannel
from cartnudge.config import load_config
from cartnudge.shop.reader import ShopReader
from cartnudge.state.schema import deliveries, recoveries
from cartnudge.sweep import Sweep
from tests.conftest import write_config
from tests.shop import ShopBuilder

NOW = datetime(2026, 11, 22, 12, 0)


def make_app(config_data: dict, tmp_path: Path) -> App:
    return App(load_config(write_config(tmp_path, config_data)))


def run(app: App, now: datetime, channel: MemoryChannel | None = None):
    channel = channel or MemoryChannel()
    return Sweep(app, channel, now=now).run(), channel


def recovery_token_of(envelope) -> str:
    """The token of the recovery URL in the plain-text part (the first URL with a token)."""
    text = email.message_from_bytes(envelope.data).get_payload()[0].get_payload(decode=True)
    return text.decode("utf-8").split("token=", 1)[1].split()[0]


def recovery_rows(shop: ShopBuilder) -> list:
    with shop.engine.connect() as conn:
        return list(conn.execute(select(recoveries).order_by(recoveries.c.order_id)))


def test_a_purchase_through_the_recovery_url_is_marked_recovered_once(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    order = shop.abandoned(NOW - timedelta(hours=4))
    app = make_app(config_data, tmp_path)
    _, channel = run(app, NOW)
    token = recovery_token_of(channel.sent[0])
    completed = shop.complete_purchase(
        shop.customer_of(order), NOW + timedelta(minutes=30), amount=6160, recovery_token=token
    )
    second, _ = run(app, NOW + timedelta(hours=1))
    third, _ = run(app, NOW + timedelta(hours=2))  # overlapping range: not counted again
    app.dispose()
    rows = recovery_rows(shop)
    assert (second.recovered, second.recovered_amount) == (1, 6160)
    assert (third.recovered, third.recovered_amount) == (0, 0)  # neither count nor yen twice
    assert [(r.order_id, r.abandoned_order_id, r.attribution, r.amount) for r in rows] == [
        (str(completed), str(order), "url", 6160)
    ]


def test_a_tampered_token_or_a_plain_purchase_is_not_url_attributed(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    first = shop.abandoned(NOW - timedelta(hours=4))
    second = shop.abandoned(NOW - timedelta(hours=5))
    app = make_app(config_data, tmp_path)
    _, channel = run(app, NOW)
    token = recovery_token_of(channel.sent[0])
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    shop.complete_purchase(
        shop.customer_of(first), NOW + timedelta(minutes=5), recovery_token=tampered
    )
    shop.complete_purchase(shop.customer_of(second), NOW + timedelta(minutes=5))
    summary, _ = run(app, NOW + timedelta(hours=1))
    app.dispose()
    assert summary.recovered == 0 and recovery_rows(shop) == []


def test_window_attribution_counts_a_purchase_by_a_reminded_customer_within_the_window(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    config_data["recovery"].update({"attribution": "url+window", "attribution_window": "2d"})
    inside = shop.abandoned(NOW - timedelta(hours=4))
    outside = shop.abandoned(NOW - timedelta(hours=4))
    app = make_app(config_data, tmp_path)
    run(app, NOW)
    # 12:00 + 1d = inside the 2-day window; 12:00 + 2d1h = outside it
    shop.complete_purchase(shop.customer_of(inside), NOW + timedelta(days=1), amount=3000)
    shop.complete_purchase(shop.customer_of(outside), NOW + timedelta(days=2, hours=1))
    summary, _ = run(app, NOW + timedelta(days=2, hours=2))
    app.dispose()
    rows = recovery_rows(shop)
    assert summary.recovered == 1
    assert [(r.abandoned_order_id, r.attribution, r.amount) for r in rows] == [
        (str(inside), "window", 3000)
    ]


def test_without_window_attribution_a_plain_purchase_is_not_a_recovery(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    order = shop.abandoned(NOW - timedelta(hours=4))
    app = make_app(config_data, tmp_path)
    run(app, NOW)
    shop.complete_purchase(shop.customer_of(order), NOW + timedelta(hours=1))
    summary, _ = run(app, NOW + timedelta(hours=2))
    app.dispose()
    assert summary.recovered == 0


class PurchaseDuringSweep(ShopReader):
    """The shopper completes a purchase right after the sweep selected their cart."""

    def __init__(self, reader: ShopReader, shop: ShopBuilder, customer_id: int, at: datetime):
        super().__init__(reader.engine, reader.contract, reader.tz)
        self.shop, self.customer_id, self.at = shop, customer_id, at

    def abandoned_orders(self, **kwargs):
        for page in super().abandoned_orders(**kwargs):
            self.shop.complete_purchase(self.customer_id, self.at)
            yield page


def test_a_purchase_between_selection_and_sending_skips_the_reminder_as_purchased(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    order = shop.abandoned(NOW - timedelta(hours=4))
    app = make_app(config_data, tmp_path)
    app.__dict__["reader"] = PurchaseDuringSweep(
        app.reader, shop, shop.customer_of(order), NOW - timedelta(minutes=1)
    )
    summary, channel = run(app, NOW)
    app.dispose()
    with shop.engine.connect() as conn:
        left = conn.execute(select(deliveries)).all()
    assert channel.sent == []
    assert summary.skipped == {"purchased": 1}
    assert left == []  # the claim was given back, not left to look like a delivery


def test_a_purchase_before_the_sweep_skips_the_reminder_as_purchased(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    order = shop.abandoned(NOW - timedelta(hours=4))
    shop.complete_purchase(shop.customer_of(order), NOW - timedelta(hours=1))
    app = make_app(config_data, tmp_path)
    summary, channel = run(app, NOW)
    app.dispose()
    assert channel.sent == [] and summary.skipped == {"purchased": 1}
