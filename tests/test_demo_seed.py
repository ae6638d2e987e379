"""The demo seeder: reproducible, and covering every case the rules must tell apart."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy import select

from cartnudge.demo.schema import customers, order_items, orders, products
from cartnudge.demo.seed import SeedReport, create_shop_schema, seed_shop

NOW = datetime(2025, 6, 1, 3, 0, 0)
CUSTOMERS = 600
TABLES = (products, customers, orders, order_items)


def _engine(path: Path) -> sqlalchemy.Engine:
    engine = sqlalchemy.create_engine(f"sqlite:///{path}")
    create_shop_schema(engine)
    return engine


def _seeded(path: Path, seed: int = 42) -> tuple[sqlalchemy.Engine, SeedReport]:
    engine = _engine(path)
    return engine, seed_shop(engine, now=NOW, customers=CUSTOMERS, seed=seed)


def _dump(engine: sqlalchemy.Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            t.name: [tuple(r) for r in conn.execute(select(t).order_by(t.c.id))] for t in TABLES
        }


@pytest.fixture(scope="module")
def seeded_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SeedReport, dict]]:
    """One seeded shop, read back once, shared by the read-only tests."""
    engine, report = _seeded(tmp_path_factory.mktemp("seed") / "shop.db")
    with engine.connect() as conn:
        rows = {t.name: [r._asdict() for r in conn.execute(select(t))] for t in TABLES}
    engine.dispose()
    yield report, rows


def _abandoned(rows: dict) -> list[dict]:
    return [o for o in rows["orders"] if o["state"] == "abandoned"]


def _status_of(rows: dict) -> dict[int, str]:
    return {c["id"]: c["status"] for c in rows["customers"]}


def test_the_same_seed_gives_identical_rows(tmp_path: Path) -> None:
    first, first_report = _seeded(tmp_path / "a.db")
    second, second_report = _seeded(tmp_path / "b.db")
    try:
        assert first_report == second_report
        assert _dump(first) == _dump(second)
    finally:
        first.dispose()
        second.dispose()


def test_a_different_seed_gives_different_rows(tmp_path: Path) -> None:
    first, _ = _seeded(tmp_path / "a.db", seed=42)
    second, _ = _seeded(tmp_path / "b.db", seed=7)
    try:
        a, b = _dump(first), _dump(second)
        assert a["customers"] != b["customers"]
        assert a["orders"] != b["orders"]
    finally:
        first.dispose()
        second.dispose()


def test_the_report_counts_what_was_inserted(seeded_shop: tuple[SeedReport, dict]) -> None:
    report, rows = seeded_shop
    assert report.customers == len(rows["customers"]) == CUSTOMERS
    assert report.orders == len(rows["orders"])
    assert report.abandoned_orders == len(_abandoned(rows))
    # About 1.5 orders per customer, about as many completed as abandoned.
    assert 1.2 * CUSTOMERS < report.orders < 1.8 * CUSTOMERS
    assert 0.35 < report.abandoned_orders / report.orders < 0.65


def test_every_cell_of_the_abandonment_table_has_orders(
    seeded_shop: tuple[SeedReport, dict],
) -> None:
    _, rows = seeded_shop
    status = _status_of(rows)
    steps: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for order in _abandoned(rows):
        steps[status[order["customer_id"]], order["storefront"]][order["abandoned_step"]] += 1

    assert steps["member", "lp"]["confirm"] > 0
    assert steps["member", "shop"]["cart"] > 0
    assert steps["member", "shop"]["confirm"] > 0
    assert steps["visitor", "lp"]["confirm"] > 0
    # Visitors' SHOP carts exist only so the rules can prove they never count.
    assert set(steps["visitor", "shop"]) == {"cart"}


def test_logged_in_is_true_exactly_for_members_orders(seeded_shop: tuple[SeedReport, dict]) -> None:
    _, rows = seeded_shop
    status = _status_of(rows)
    assert all(o["logged_in"] == (status[o["customer_id"]] == "member") for o in rows["orders"])


def test_failed_payments_and_lp_form_abandonments_exist(
    seeded_shop: tuple[SeedReport, dict],
) -> None:
    report, rows = seeded_shop
    abandoned = _abandoned(rows)
    failed = [o for o in abandoned if o["abandoned_step"] == "payment_failed"]
    typed = [o for o in abandoned if o["abandoned_step"] == "input"]

    assert {o["storefront"] for o in failed} == {"lp", "shop"}
    assert 0.02 < len(failed) / report.abandoned_orders < 0.09
    assert 0.02 < len(typed) / report.abandoned_orders < 0.09
    assert all(o["storefront"] == "lp" and not o["logged_in"] for o in typed)


def test_each_suppressing_fraud_result_and_the_redirect_action_occur(
    seeded_shop: tuple[SeedReport, dict],
) -> None:
    _, rows = seeded_shop
    abandoned = _abandoned(rows)
    results = Counter(o["fraud_result"] for o in abandoned)
    actions = Counter(o["fraud_action"] for o in abandoned)

    assert {"HOLD", "REVIEW", "NG"} <= set(results)
    assert results["OK"] + results[None] > len(abandoned) / 2
    assert actions["redirect"] > 0
    assert set(actions) == {"redirect", None}


def test_every_order_total_equals_the_sum_of_its_items(
    seeded_shop: tuple[SeedReport, dict],
) -> None:
    _, rows = seeded_shop
    price = {p["id"]: (p["name"], p["price"]) for p in rows["products"]}
    items_by_order: dict[int, list[dict]] = defaultdict(list)
    for item in rows["order_items"]:
        items_by_order[item["order_id"]].append(item)
        assert (item["product_name"], item["unit_price"]) == price[item["product_id"]]
        assert 1 <= item["quantity"] <= 3

    for order in rows["orders"]:
        items = items_by_order[order["id"]]
        assert 1 <= len(items) <= 5
        assert order["total_amount"] == sum(i["quantity"] * i["unit_price"] for i in items)


def test_abandonments_are_not_yet_due_due_and_expired_for_3_hours_and_24_hours(
    seeded_shop: tuple[SeedReport, dict],
) -> None:
    report, rows = seeded_shop
    ages = [NOW - o["abandoned_at"] for o in _abandoned(rows)]
    not_yet_due = [a for a in ages if a < timedelta(hours=3)]
    due = [a for a in ages if timedelta(hours=3) <= a < timedelta(hours=24)]
    expired = [a for a in ages if a >= timedelta(hours=24)]

    assert len(not_yet_due) >= 0.05 * report.abandoned_orders
    assert due and expired
    assert all(timedelta(0) < a <= timedelta(days=4) for a in ages)


def test_abandoned_order_timestamps_are_ordered(seeded_shop: tuple[SeedReport, dict]) -> None:
    _, rows = seeded_shop
    abandoned = _abandoned(rows)
    for o in abandoned:
        assert o["created_at"] < o["abandoned_at"] <= o["last_activity_at"] < NOW
        assert o["completed_at"] is None
    # Some shoppers came back to their cart later.
    assert any(o["last_activity_at"] > o["abandoned_at"] for o in abandoned)


def test_completed_orders_include_purchases_after_an_abandonment(
    seeded_shop: tuple[SeedReport, dict],
) -> None:
    _, rows = seeded_shop
    completed = [o for o in rows["orders"] if o["state"] == "completed"]
    for o in completed:
        assert o["abandoned_at"] is None and o["abandoned_step"] is None
        assert o["created_at"] < o["completed_at"] == o["last_activity_at"] < NOW

    abandoned_at: dict[int, list[datetime]] = defaultdict(list)
    for o in _abandoned(rows):
        abandoned_at[o["customer_id"]].append(o["abandoned_at"])
    bought_later = [
        o
        for o in completed
        if any(o["completed_at"] > t for t in abandoned_at.get(o["customer_id"], []))
    ]
    assert len(bought_later) >= 10


def test_lp_orders_have_a_landing_page_and_shop_orders_do_not(
    seeded_shop: tuple[SeedReport, dict],
) -> None:
    _, rows = seeded_shop
    for o in rows["orders"]:
        if o["storefront"] == "lp":
            assert o["lp_id"] in (1, 2, 3)
        else:
            assert o["storefront"] == "shop" and o["lp_id"] is None


def test_customers_are_japanese_with_reserved_domains_and_mobile_numbers(
    seeded_shop: tuple[SeedReport, dict],
) -> None:
    _, rows = seeded_shop
    people = rows["customers"]
    kanji_name = re.compile(r"^[\u4e00-\u9fff々]+ [\u4e00-\u9fff々]+$")
    assert all(kanji_name.match(c["name"]) for c in people)
    assert any(c["name"] == "佐藤 花子" or c["name"].startswith("佐藤 ") for c in people)
    assert all(re.fullmatch(r"0[789]0-\d{4}-\d{4}", c["phone"]) for c in people if c["phone"])

    emails = [c["email"] for c in people if c["email"] is not None]
    assert all(e.isascii() for e in emails)
    domains = {e.rsplit("@", 1)[1] for e in emails if "@" in e}
    assert domains <= {"example.jp", "example.com", "example.net"}
    invalid = [e for e in emails if "@" not in e or " " in e]
    assert 0.005 < len(invalid) / len(people) < 0.05
    assert any(c["email"] is None for c in people)

    members = sum(c["status"] == "member" for c in people)
    assert 0.5 < members / len(people) < 0.7
    assert {c["status"] for c in people} == {"member", "visitor"}
    assert 0.08 < sum(not c["email_optin"] for c in people) / len(people) < 0.25
    for channel in ("sms_optin", "push_optin"):
        assert 0.35 < sum(c[channel] for c in people) / len(people) < 0.65


def test_products_have_japanese_names_yen_prices_and_stock(
    seeded_shop: tuple[SeedReport, dict],
) -> None:
    _, rows = seeded_shop
    names = {p["name"] for p in rows["products"]}
    assert "国産有機抹茶 100g" in names
    assert "今治タオル フェイスタオル 2枚組" in names
    for p in rows["products"]:
        assert isinstance(p["price"], int) and 300 <= p["price"] <= 30000
        assert p["stock"] >= 0


def test_suppressed_emails_are_valid_addresses_of_customers(
    seeded_shop: tuple[SeedReport, dict],
) -> None:
    report, rows = seeded_shop
    emails = {c["email"] for c in rows["customers"]}
    assert report.suppressed_emails
    assert len(set(report.suppressed_emails)) == len(report.suppressed_emails)
    assert set(report.suppressed_emails) <= emails
    assert all("@" in e and " " not in e for e in report.suppressed_emails)
    assert len(report.suppressed_emails) == round(0.01 * CUSTOMERS)


def test_an_aware_now_is_refused(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "shop.db")
    try:
        with pytest.raises(ValueError, match="naive UTC"):
            seed_shop(engine, now=NOW.replace(tzinfo=UTC), customers=10)
    finally:
        engine.dispose()


def test_seeding_a_shop_that_already_has_customers_is_refused(tmp_path: Path) -> None:
    engine, _ = _seeded(tmp_path / "shop.db")
    try:
        with pytest.raises(ValueError, match="already hold customers"):
            seed_shop(engine, now=NOW, customers=10)
        with engine.connect() as conn:
            count = conn.execute(select(sqlalchemy.func.count()).select_from(customers))
            assert count.scalar_one() == CUSTOMERS
    finally:
        engine.dispose()
