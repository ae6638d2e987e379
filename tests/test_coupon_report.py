"""Coupons in ``cartnudge report`` (issue 13, points 1 and 6): codes given and redeemed, what
the discounts cost (a fixed yen amount as it is, a percentage of the redeeming order), the
recovered revenue net of them, per flow, step and variant, in every format; coupon seekers in
CSV and HTML too."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cartnudge.app import App
from cartnudge.channels.memory import MemoryChannel
from cartnudge.cli import main
from cartnudge.config import load_config
from cartnudge.core.coupons import CouponSeeker, discount_cost
from cartnudge.operator.report import Period, Report, csv_rows
from cartnudge.operator.report_html import render_html
from cartnudge.state.schema import coupons as coupons_table
from cartnudge.state.schema import deliveries
from cartnudge.sweep import Sweep
from tests.conftest import write_config
from tests.shop import ShopBuilder

NOW = datetime(2026, 11, 22, 3, 0)  # 12:00 JST
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.mark.parametrize(
    ("discount", "amount", "cost"),
    [
        ("500円", 9800, 500),  # a fixed amount costs itself, whatever the order
        ("500円", None, 500),
        ("¥1,000", 3000, 1000),
        ("300円引き", 3000, 300),
        ("５００円", 1, 500),  # full-width digits as a shop types them
        ("10%", 6160, 616),  # 10 % of the redeeming order's total_amount
        ("１０％", 6160, 616),
        ("15%", 1990, 299),  # 298.5: half up
        ("12.5%", 1000, 125),
        ("10%", None, None),  # the order's amount is not known: unknown, never 0
        ("送料無料", 9800, None),  # neither yen nor a percentage
        ("150%", 1000, None),
        ("1e3", 1000, None),
    ],
)
def test_a_redeemed_code_costs_its_yen_or_its_share_of_the_order(
    discount: str, amount: int | None, cost: int | None
) -> None:
    assert discount_cost(discount, amount) == cost


def coupon_config(config_data: dict) -> dict:
    config_data["flows"]["confirm"] = {
        "enabled": True,
        "steps": [{"delay": "1h"}, {"delay": "3h", "coupon": {"expires_after": "7d"}}],
    }
    config_data["frequency_cap"] = {"enabled": False}
    config_data["coupons"] = {"low_pool": 0}
    config_data["recovery"]["attribution"] = "url+window"
    return config_data


def import_codes(config: Path, tmp_path: Path, rows: list[tuple[str, str]]) -> None:
    path = tmp_path / "codes.csv"
    lines = ["code,discount,valid_until", *(f"{c},{d}," for c, d in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["coupons", "import", "--config", str(config), str(path)])
    assert result.exit_code == 0, result.output


def holders(shop: ShopBuilder) -> dict[str, int]:
    """Which customer holds which code."""
    c, d = coupons_table.c, deliveries.c
    with shop.engine.connect() as conn:
        rows = conn.execute(
            select(c.code, d.customer_id).join(deliveries, d.id == c.delivery_id)
        ).all()
    return {code: int(customer) for code, customer in rows}


@pytest.fixture
def redeemed(shop: ShopBuilder, config_data: dict, tmp_path: Path) -> Path:
    """Four carts reminded with a code at step 1: a 500円 code used on a 6,160円 order, a 10%
    code on a 9,800円 order (980円), a 送料無料 code (cost unknown) on a 3,000円 order, and a
    300円 code never used."""
    config = write_config(tmp_path, coupon_config(config_data))
    import_codes(config, tmp_path, [("A-FIX", "500円"), ("B-PCT", "10%"), ("C-SHIP", "送料無料"),
                                    ("D-FIX", "300円")])  # fmt: skip
    for _ in range(4):
        shop.abandoned(NOW - timedelta(hours=4))
    app = App(load_config(config))
    try:
        Sweep(app, MemoryChannel(), now=NOW).run()
        who = holders(shop)
        assert sorted(who) == ["A-FIX", "B-PCT", "C-SHIP", "D-FIX"]
        for code, amount in (("A-FIX", 6160), ("B-PCT", 9800), ("C-SHIP", 3000)):
            shop.complete_purchase(who[code], NOW + timedelta(hours=1), amount, coupon_code=code)
        summary = Sweep(app, MemoryChannel(), now=NOW + timedelta(hours=2)).run()
    finally:
        app.dispose()
    assert (summary.coupons["redeemed"], summary.recovered) == (3, 3)
    return config


def report(config: Path, *args: str) -> str:
    result = CliRunner().invoke(
        main,
        ["report", "--config", str(config), "--from", "2026-11-21", "--to", "2026-11-22", *args],
    )
    assert result.exit_code == 0, result.output
    return result.stdout


REVENUE = 6160 + 9800 + 3000
COST = 500 + 980


def test_the_report_counts_codes_given_redeemed_their_cost_and_the_net_revenue(
    redeemed: Path,
) -> None:
    data = json.loads(report(redeemed, "--format", "json"))
    confirm = data["flows"][0]
    figures = {k: confirm[k] for k in ("coupons_given", "coupons_redeemed", "discount_cost",
                                       "discount_unknown", "recovered_revenue",
                                       "recovered_revenue_net")}  # fmt: skip
    assert figures == {
        "coupons_given": 4,
        "coupons_redeemed": 3,
        "discount_cost": COST,  # 500円 + 10 % of 9,800円; 送料無料 is not priced
        "discount_unknown": 1,
        "recovered_revenue": REVENUE,
        "recovered_revenue_net": REVENUE - COST,
    }
    [step1] = [v for v in confirm["by_variant"] if v["step"] == 1]
    assert (step1["coupons_given"], step1["discount_cost"], step1["recovered_revenue_net"]) == (
        4,
        COST,
        REVENUE - COST,
    )
    assert "total_amount" in data["definitions"]["discount_cost"]


def test_csv_table_and_html_show_the_coupon_figures(redeemed: Path, tmp_path: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(report(redeemed, "--format", "csv"))))
    total = next(r for r in rows if r["flow"] == "confirm" and r["scope"] == "total")
    step1 = next(r for r in rows if r["scope"] == "variant" and r["step"] == "1")
    for row in (total, step1):
        assert (row["coupons_given"], row["coupons_redeemed"], row["discount_cost"]) == (
            "4",
            "3",
            str(COST),
        )
        assert row["recovered_revenue_net"] == str(REVENUE - COST)
    table = report(redeemed, "--format", "table")
    assert "coupon codes given" in table and f"¥{COST:,}" in table
    assert f"¥{REVENUE - COST:,}" in table
    assert "confirm flow coupons by step, channel and template" in table
    page_path = tmp_path / "r.html"
    report(redeemed, "--html", str(page_path), "--lang", "en")
    page = page_path.read_text(encoding="utf-8")
    assert "discount cost" in page and f"¥{COST:,}" in page and f"¥{REVENUE - COST:,}" in page
    assert "1 unknown" in page


def test_coupon_seekers_are_in_the_csv_and_the_html_page_masked() -> None:
    seeker = CouponSeeker(
        frozenset({"customer:84", "email:hanako@example.jp"}), 2, datetime(2026, 11, 22, 3), 3
    )
    report_ = Report(Period(date(2026, 11, 20), date(2026, 11, 30), TOKYO), (), coupon_seekers=(
        seeker,))  # fmt: skip
    [row] = [r for r in csv_rows(report_) if r.get("scope") == "coupon_seeker"]
    assert row == {
        "scope": "coupon_seeker",
        "person": "customer:84, email:h***@example.jp",
        "codes": 2,
        "first_code_at": "2026-11-22T12:00:00+09:00",
        "abandoned_after": 3,
    }
    page = render_html(report_, lang="en")
    assert 'id="coupon-seekers"' in page and "customer:84, email:h***@example.jp" in page
    assert "hanako@" not in page and "2026-11-22 12:00" in page


# -- breakdowns by channel, trigger and coupon (issue 13 point 6) ---------------------------------


def _delivery(shop: ShopBuilder, order_id: int, step: int, channel: str, at: datetime) -> int:
    """A sent delivery row, written directly."""
    with shop.engine.begin() as conn:
        return conn.execute(
            deliveries.insert().values(
                order_id=str(order_id), flow="confirm", step=step, episode=0, channel=channel,
                status="sent", customer_id=str(shop.customer_of(order_id)),
                recipient="someone@example.jp", template_id=140001, amount=6160,
                abandoned_at=at, episode_started_at=at, due_at=at, attempts=1,
                created_at=at, updated_at=at, sent_at=at + timedelta(hours=1),
            )
        ).inserted_primary_key[0]  # fmt: skip


@pytest.fixture
def mixed(shop: ShopBuilder, config_data: dict, tmp_path: Path) -> Path:
    """Cart A: a delay step by e-mail, then the price-drop step (which brought it back,
    5,000円); cart B: a delay step by SMS, then step 1 by e-mail with a code."""
    config_data["flows"]["confirm"] = {
        "enabled": True,
        "steps": [
            {"delay": "1h"},
            {"delay": "3h", "coupon": {"expires_after": "7d"}},
            {"trigger": {"price_drop": "10%"}},
            {"trigger": {"low_stock": 2}},
        ],
    }
    config = write_config(tmp_path, config_data)
    at = NOW - timedelta(hours=4)
    a, b = shop.abandoned(at), shop.abandoned(at)
    _delivery(shop, a, 0, "email", at)
    dropped = _delivery(shop, a, 2, "email", at)
    _delivery(shop, b, 0, "sms", at)
    with_code = _delivery(shop, b, 1, "email", at)
    bought = shop.complete_purchase(shop.customer_of(a), NOW, 5000)
    from cartnudge.state.schema import recoveries

    with shop.engine.begin() as conn:
        conn.execute(
            coupons_table.insert().values(
                code="SAVE-1", discount="500円", imported_at=at, delivery_id=with_code,
                assigned_at=at,
            )
        )  # fmt: skip
        conn.execute(
            recoveries.insert().values(
                order_id=str(bought), delivery_id=dropped, abandoned_order_id=str(a),
                flow="confirm", attribution="url", amount=5000, completed_at=NOW,
                recorded_at=NOW,
            )
        )  # fmt: skip
    return config


def _rows(items: list[dict], key: str) -> dict[str, tuple[int, ...]]:
    return {
        i[key]: (i["targeted"], i["sent"], i["reminded"], i["recovered"], i["recovered_revenue"])
        for i in items
    }


def test_the_report_breaks_down_by_channel_trigger_and_coupon(mixed: Path, tmp_path: Path) -> None:
    confirm = json.loads(report(mixed, "--format", "json"))["flows"][0]
    # (targeted, sent, reminded, recovered, revenue); an order reminded two ways is in both
    assert _rows(confirm["by_channel"], "channel") == {
        "email": (2, 3, 2, 1, 5000),
        "sms": (1, 1, 1, 0, 0),
    }
    assert _rows(confirm["by_trigger"], "trigger") == {
        "delay": (2, 3, 2, 0, 0),
        "price_drop": (1, 1, 1, 1, 5000),  # the recovery is the trigger step's
    }
    assert list(_rows(confirm["by_trigger"], "trigger")) == ["delay", "price_drop"]
    assert _rows(confirm["by_coupon"], "coupon") == {
        "with_code": (1, 1, 1, 0, 0),
        "without_code": (2, 3, 2, 1, 5000),
    }
    rows = list(csv.DictReader(io.StringIO(report(mixed, "--format", "csv"))))
    trigger_rows = [(r["scope"], r["trigger"], r["sent"]) for r in rows if r["scope"] == "trigger"]
    assert trigger_rows == [("trigger", "delay", "3"), ("trigger", "price_drop", "1")]
    coupon_rows = [(r["coupon"], r["reminded"]) for r in rows if r["scope"] == "coupon"]
    assert coupon_rows == [("with_code", "1"), ("without_code", "2")]
    table = report(mixed, "--format", "table")
    for title in ("by channel", "by trigger", "by coupon"):
        assert f"confirm flow {title}" in table
    assert "input flow by channel" not in table  # nothing to break down
    page_path = tmp_path / "r.html"
    report(mixed, "--html", str(page_path), "--lang", "ja")
    page = page_path.read_text(encoding="utf-8")
    assert "チャネル別" in page and "きっかけ別" in page and "値下がり" in page
    assert "クーポンあり" in page
