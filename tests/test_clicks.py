"""Clicks: resolving a recovery token counts a click on its reminder (count, first and last
time per delivery), unless the shop asks not to; opt-out tokens are not clicks."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cartnudge.cli import main
from cartnudge.messages.tokens import UNSUBSCRIBE
from cartnudge.operator.report import Period, collect
from cartnudge.recovery import resolve_token
from cartnudge.state.schema import deliveries, recoveries
from tests.conftest import write_config
from tests.shop import ShopBuilder
from tests.test_recoveries import make_app, recovery_token_of, run

NOW = datetime(2026, 11, 22, 12, 0)


def click_columns(shop: ShopBuilder) -> list[tuple]:
    d = deliveries.c
    with shop.engine.connect() as conn:
        stmt = select(d.clicks, d.first_click_at, d.last_click_at).order_by(d.id)
        return [tuple(r) for r in conn.execute(stmt)]


def unsubscribe_token_of(envelope) -> str:
    return envelope.data.decode("ascii", "replace").split("unsubscribe?token=", 1)[1].split(">")[0]


def test_each_resolution_is_a_click_with_first_and_last_time_unless_not_recorded(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    shop.abandoned(NOW - timedelta(hours=4))
    app = make_app(config_data, tmp_path)
    try:
        _, channel = run(app, NOW)
        assert click_columns(shop) == [(0, None, None)]  # sent, not clicked
        token = recovery_token_of(channel.sent[0])
        first, second = NOW + timedelta(minutes=5), NOW + timedelta(hours=2)
        resolve_token(app, token, now=first)
        resolve_token(app, token, now=NOW + timedelta(minutes=30))
        resolve_token(app, token, now=NOW + timedelta(minutes=30, seconds=20))  # the same click
        resolve_token(app, token, now=second)
        resolve_token(app, token, now=second + timedelta(hours=1), record_click=False)
        resolve_token(app, unsubscribe_token_of(channel.sent[0]), now=second, kind=UNSUBSCRIBE)
        # an opt-out is not a click
    finally:
        app.dispose()
    assert click_columns(shop) == [(3, first, second)]


def test_token_verify_records_a_click_and_no_record_does_not(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    shop.abandoned(NOW - timedelta(hours=4))
    app = make_app(config_data, tmp_path)
    try:
        _, channel = run(app, NOW)
    finally:
        app.dispose()
    token = recovery_token_of(channel.sent[0])
    config = str(write_config(tmp_path, config_data))
    runner = CliRunner()
    base = ["token", "verify", "--config", config, "--now", "2026-11-22T21:10:00+09:00"]
    checked = runner.invoke(main, [*base, "--no-record", token], catch_exceptions=False)
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)["kind"] == "recovery"
    assert click_columns(shop) == [(0, None, None)]
    clicked = runner.invoke(main, [*base, token], catch_exceptions=False)
    assert clicked.exit_code == 0, clicked.output
    at = datetime(2026, 11, 22, 12, 10)
    assert click_columns(shop) == [(1, at, at)]


@pytest.mark.parametrize(
    ("attribution", "expected"),
    [
        ("url+click", {"clicked": "click"}),
        ("url+click+window", {"clicked": "click", "unclicked": "window"}),
        ("url+window", {"clicked": "window", "unclicked": "window"}),
    ],
)
def test_click_attribution_counts_a_purchase_within_the_window_after_a_click(
    shop: ShopBuilder, config_data: dict, tmp_path: Path, attribution: str, expected: dict
) -> None:
    """Three reminded customers buy without the token: one clicked 2 hours after the reminder
    and bought 18 hours later (within the day's window of the click), one never clicked and
    bought within a day of the reminder, one clicked at once and bought 25 hours later (outside
    the window of both). The strictest matching rule names each recovery, and the report counts
    them per rule."""
    config_data["recovery"].update({"attribution": attribution, "attribution_window": "1d"})
    orders = {
        name: shop.abandoned(NOW - timedelta(hours=4)) for name in ("clicked", "unclicked", "late")
    }
    app = make_app(config_data, tmp_path)
    try:
        _, channel = run(app, NOW)
        by_address = {e.recipient: e for e in channel.sent}

        def token_of(name: str) -> str:
            address = f"customer{shop.customer_of(orders[name])}@example.jp"
            return recovery_token_of(by_address[address])

        resolve_token(app, token_of("clicked"), now=NOW + timedelta(hours=2))
        resolve_token(app, token_of("late"), now=NOW + timedelta(minutes=10))
        for name in ("clicked", "unclicked"):
            shop.complete_purchase(
                shop.customer_of(orders[name]), NOW + timedelta(hours=20), amount=100
            )
        shop.complete_purchase(shop.customer_of(orders["late"]), NOW + timedelta(days=1, hours=1))
        summary, _ = run(app, NOW + timedelta(days=1, hours=3))
        report = collect(app, Period(NOW.date(), NOW.date(), app.config.tz))
    finally:
        app.dispose()
    names = {str(v): k for k, v in orders.items()}
    with shop.engine.connect() as conn:
        rows = {
            names[r.abandoned_order_id]: r.attribution for r in conn.execute(select(recoveries))
        }
    assert rows == expected
    assert summary.recovered == len(expected)
    totals = report.flow("confirm").totals
    by_rule = dict.fromkeys(("url", "click", "window"), 0)
    for rule in expected.values():
        by_rule[rule] += 1
    assert totals.recovered_by() == by_rule
    assert (totals.clicked, totals.clicked_recovered) == (2, 1)


def test_the_click_rule_uses_the_latest_click_before_the_purchase() -> None:
    from cartnudge.core.attribution import CompletedOrder, SentDelivery, attribute

    sent = NOW
    delivery = SentDelivery(
        1, "10", "confirm", "7", sent, sent + timedelta(hours=1), sent + timedelta(days=5)
    )
    window = timedelta(days=1)

    def rule(completed_at: datetime) -> list[str]:
        order = CompletedOrder("99", "7", completed_at, 100, None)
        found = attribute([order], {}, {"7": [delivery]}, window=window, rules=("url", "click"))
        return [r.attribution for r in found]

    assert rule(sent + timedelta(minutes=30)) == []  # before any click
    assert rule(sent + timedelta(hours=20)) == ["click"]  # within a day of the first click
    assert rule(sent + timedelta(days=3)) == []  # a day after the first, before the last
    assert rule(sent + timedelta(days=5, hours=23)) == ["click"]  # within a day of the last
