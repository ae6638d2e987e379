"""Segments (issue 13, point 4): the pure rules as tables, the configuration (per flow, refined
per step) and the sweep on every backend, each exclusion a counted skip with its reason."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from cartnudge.app import App
from cartnudge.channels.memory import MemoryChannel
from cartnudge.config import load_config
from cartnudge.core.rules import (
    AbandonedStep,
    Candidate,
    CustomerStatus,
    FlowRules,
    Kind,
    SkipReason,
    StepRule,
    Storefront,
    Target,
    decide,
)
from cartnudge.core.segments import (
    DEFAULT_MIN_AMOUNT,
    CartFacts,
    CustomerHistory,
    ItemFacts,
    Segment,
    SegmentReason,
    cart_reason,
    items_reason,
)
from cartnudge.errors import ConfigError
from cartnudge.state.schema import skips
from cartnudge.sweep import Sweep
from tests.conftest import write_config
from tests.shop import ShopBuilder

R = SegmentReason
MEMBER, VISITOR = "member", "visitor"


def cart(amount: int = 5000, status: str = MEMBER, returning: bool | None = None) -> CartFacts:
    return CartFacts(amount, status, returning)


@pytest.mark.parametrize(
    ("facts", "segment", "expected"),
    [
        (cart(0), Segment(), R.BELOW_MIN_AMOUNT),  # the default minimum: never a 0-yen cart
        (cart(1), Segment(), None),
        (cart(0), Segment(min_amount=None), None),  # lifted on purpose
        (cart(2999), Segment(min_amount=3000), R.BELOW_MIN_AMOUNT),
        (cart(3000), Segment(min_amount=3000), None),  # the minimum itself is in
        (cart(50000), Segment(max_amount=50000), None),
        (cart(50001), Segment(max_amount=50000), R.ABOVE_MAX_AMOUNT),
        (cart(status=VISITOR), Segment(customer_status=frozenset({MEMBER})), R.SEGMENT_STATUS),
        (cart(status=MEMBER), Segment(customer_status=frozenset({MEMBER})), None),
        (cart(status=VISITOR), Segment(customer_status=frozenset()), None),  # empty: any
        (cart(returning=True), Segment(customer=CustomerHistory.FIRST_TIME), R.RETURNING_CUSTOMER),
        (cart(returning=False), Segment(customer=CustomerHistory.FIRST_TIME), None),
        (cart(returning=None), Segment(customer=CustomerHistory.FIRST_TIME), None),
        (cart(returning=None), Segment(customer=CustomerHistory.RETURNING), R.FIRST_TIME_CUSTOMER),
        (cart(returning=True), Segment(customer=CustomerHistory.RETURNING), None),
        (cart(returning=True), Segment(customer=CustomerHistory.ANY), None),
        # the amount is checked first
        (cart(0, VISITOR), Segment(customer_status=frozenset({MEMBER})), R.BELOW_MIN_AMOUNT),
    ],
)
def test_cart_conditions(facts: CartFacts, segment: Segment, expected: R | None) -> None:
    assert cart_reason(facts, segment) == expected


TEA, TOWEL, GIFT = ItemFacts("1", "tea"), ItemFacts("2", "towel"), ItemFacts("3", None)


@pytest.mark.parametrize(
    ("items", "segment", "expected"),
    [
        ([TEA, TOWEL], Segment(), None),
        ([TEA, TOWEL], Segment(exclude_products=frozenset({"2"})), R.EXCLUDED_PRODUCT),
        ([TEA], Segment(exclude_products=frozenset({"2"})), None),
        ([TEA, TOWEL], Segment(exclude_categories=frozenset({"towel"})), R.EXCLUDED_CATEGORY),
        ([TEA, GIFT], Segment(exclude_categories=frozenset({"towel"})), None),
        ([TOWEL], Segment(include_products=frozenset({"1"})), R.NO_INCLUDED_PRODUCT),
        ([TEA, TOWEL], Segment(include_products=frozenset({"1"})), None),  # one is enough
        ([GIFT], Segment(include_categories=frozenset({"tea"})), R.NO_INCLUDED_CATEGORY),
        ([GIFT, TEA], Segment(include_categories=frozenset({"tea"})), None),
        # an exclusion wins over an inclusion the cart also meets
        (
            [TEA, TOWEL],
            Segment(include_products=frozenset({"1"}), exclude_categories=frozenset({"towel"})),
            R.EXCLUDED_CATEGORY,
        ),
        ([], Segment(include_products=frozenset({"1"})), R.NO_INCLUDED_PRODUCT),
    ],
)
def test_item_conditions(items: list[ItemFacts], segment: Segment, expected: R | None) -> None:
    assert items_reason(items, segment) == expected


def test_a_step_refines_its_flow_and_can_lift_a_condition() -> None:
    flow = Segment(min_amount=3000, customer_status=frozenset({MEMBER}))
    step = flow.refined({"min_amount": 10000, "customer_status": None})
    assert (step.min_amount, step.customer_status, step.max_amount) == (10000, None, None)
    assert flow.refined(None) is flow and Segment().min_amount == DEFAULT_MIN_AMOUNT
    with pytest.raises(ValueError, match="unknown segment key"):
        flow.refined({"colour": "red"})


NOW = datetime(2026, 11, 22, 3, 0)


def candidate(**changes: object) -> Candidate:
    base = Candidate(
        order_id="1",
        customer_id="c1",
        customer_status=CustomerStatus.MEMBER,
        storefront=Storefront.SHOP,
        abandoned_step=AbandonedStep.CART,
        abandoned_at=NOW - timedelta(hours=5),
        last_activity_at=NOW - timedelta(hours=5),
        email="taro@example.jp",
        email_consent=True,
        total_amount=5000,
    )
    return replace(base, **changes)


def rules(*steps: StepRule) -> FlowRules:
    return FlowRules("confirm", True, Target.ALL, steps, cart_ttl=timedelta(days=1))


@pytest.mark.parametrize(
    ("c", "expected"),
    [
        (candidate(total_amount=0), SkipReason.BELOW_MIN_AMOUNT),
        (candidate(total_amount=None), None),  # amount unknown: no amount condition applies
        (candidate(total_amount=2000), SkipReason.BELOW_MIN_AMOUNT),  # step 1 asks 3,000
        (candidate(purchased_at=NOW - timedelta(days=30)), SkipReason.RETURNING_CUSTOMER),
        (candidate(returning_customer=True), SkipReason.RETURNING_CUSTOMER),
        (candidate(customer_status=CustomerStatus.VISITOR), SkipReason.SEGMENT_STATUS),
        (candidate(), None),
    ],
)
def test_decide_skips_a_cart_outside_the_due_steps_segment(
    c: Candidate, expected: SkipReason | None
) -> None:
    flow = Segment(customer_status=frozenset({MEMBER}), customer=CustomerHistory.FIRST_TIME)
    steps = (
        StepRule(0, timedelta(hours=1), segment=flow),
        StepRule(1, timedelta(hours=4), segment=flow.refined({"min_amount": 3000})),
    )
    if c.customer_status is CustomerStatus.VISITOR:
        c = replace(c, abandoned_step=AbandonedStep.CONFIRM, storefront=Storefront.LP)
    d = decide(c, [], rules(*steps), NOW)
    assert (d.kind, d.reason) == ((Kind.SEND, None) if expected is None else (Kind.SKIP, expected))


def test_a_later_step_may_reach_a_cart_an_earlier_steps_segment_left_out() -> None:
    steps = (
        StepRule(0, timedelta(hours=1), segment=Segment(min_amount=10000)),
        StepRule(1, timedelta(hours=4), segment=Segment()),
    )
    c = candidate(abandoned_at=NOW - timedelta(hours=2), last_activity_at=NOW - timedelta(hours=2))
    early = decide(c, [], rules(*steps), NOW)
    late = decide(c, [], rules(*steps), NOW + timedelta(hours=2))
    assert (early.kind, early.reason) == (Kind.SKIP, SkipReason.BELOW_MIN_AMOUNT)
    assert (late.kind, late.step) == (Kind.SEND, 1)


# -- configuration --------------------------------------------------------------------------------


def test_the_configuration_gives_each_step_its_flows_segment_refined(
    config_data: dict, tmp_path: Path
) -> None:
    config_data["flows"]["confirm"] = {
        "enabled": True,
        "segment": {"min_amount": 3000, "exclude_categories": ["gift-card"]},
        "steps": [
            {"delay": "1h"},
            {"delay": "5h", "segment": {"min_amount": 8000, "include_products": [1, "A-2"]}},
        ],
    }
    config = load_config(write_config(tmp_path, config_data))
    first, second = (s.segment for s in config.confirm_steps)
    assert (first.min_amount, first.exclude_categories) == (3000, frozenset({"gift-card"}))
    assert (second.min_amount, second.exclude_categories) == (8000, frozenset({"gift-card"}))
    assert second.include_products == frozenset({"1", "A-2"})
    assert config.input_steps[0].segment.min_amount == DEFAULT_MIN_AMOUNT


@pytest.mark.parametrize(
    ("segment", "message"),
    [
        ({"min_amount": 5000, "max_amount": 1000}, "min_amount \\(5000\\) is above max_amount"),
        ({"min_amount": -1}, "flows.confirm.segment.min_amount"),
        ({"customer": "vip"}, "flows.confirm.segment.customer"),
        ({"customer_status": ["gold"]}, "flows.confirm.segment.customer_status"),
        ({"colour": "red"}, "unknown key flows.confirm.segment.colour"),
    ],
)
def test_bad_segments_are_refused_in_one_line(
    config_data: dict, tmp_path: Path, segment: dict, message: str
) -> None:
    config_data["flows"]["confirm"]["segment"] = segment
    with pytest.raises(ConfigError, match=message) as exc:
        load_config(write_config(tmp_path, config_data))
    assert "\n" not in str(exc.value)


# -- through the sweep ----------------------------------------------------------------------------


def test_each_exclusion_is_a_counted_skip_with_its_reason(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    at = NOW - timedelta(hours=4)
    sent = shop.abandoned(at, items=((1, 5),))  # 9,900 yen of tea
    small = shop.abandoned(at, items=((1, 1),))  # 1,980 yen
    towel = shop.abandoned(at, items=((1, 3), (2, 1)))  # has a towel
    regular = shop.customer()
    shop.complete_purchase(regular, NOW - timedelta(days=40))
    returning = shop.abandoned(at, customer_id=regular, items=((1, 5),))
    config_data["flows"]["confirm"]["segment"] = {
        "min_amount": 3000,
        "customer": "first_time",
        "exclude_categories": ["towel"],
    }
    config_data["frequency_cap"] = {"enabled": False}
    app = App(load_config(write_config(tmp_path, config_data)))
    channel = MemoryChannel()
    summary = Sweep(app, channel, now=NOW).run()
    app.dispose()
    with shop.engine.connect() as conn:
        recorded = {(r.order_id, r.reason) for r in conn.execute(select(skips))}
    assert summary.sent == 1 and len(channel.sent) == 1
    assert {
        k: summary.skipped[k]
        for k in ("below_min_amount", "returning_customer", "excluded_category")
    } == {"below_min_amount": 1, "returning_customer": 1, "excluded_category": 1}
    assert recorded >= {
        (str(small), "below_min_amount"),
        (str(returning), "returning_customer"),
        (str(towel), "excluded_category"),
    }
    assert not any(order == str(sent) for order, _ in recorded)


def test_the_report_counts_segment_skips_by_reason(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    import json

    from click.testing import CliRunner

    from cartnudge.cli import main
    from tests.conftest import base_config

    at = NOW - timedelta(hours=4)
    sqlite_shop.abandoned(at, items=((1, 1),))  # 1,980 yen
    sqlite_shop.abandoned(at, items=((2, 1),))  # a towel only
    data = base_config(sqlite_shop.url, tmp_path)
    data["flows"]["confirm"]["segment"] = {"min_amount": 2000, "include_categories": ["tea"]}
    path = write_config(tmp_path, data)
    app = App(load_config(path))
    Sweep(app, MemoryChannel(), now=NOW).run()
    app.dispose()
    day = "2026-11-22"
    args = ["report", "--config", str(path), "--from", day, "--to", day, "--format", "json"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    [confirm] = [f for f in doc["flows"] if f["flow"] == "confirm"]
    by_reason = {r: n for r, n in confirm["skipped_by_reason"].items() if n}
    assert by_reason == {"below_min_amount": 1, "no_included_category": 1}
