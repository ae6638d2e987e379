"""Price-drop and low-stock reminders (issue 13 point 3): the pure conditions and rules as
tables, then the sweep against a real shop (SQLite, PostgreSQL, MariaDB).

Unless a case says otherwise: now is 2026-11-22 12:00, the shopper abandoned at 09:00, the flow
has one e-mail step after 24 hours and two trigger steps, and carts are valid for 48 hours.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from cartnudge.app import App
from cartnudge.channels.base import Envelope
from cartnudge.channels.memory import MemoryChannel
from cartnudge.config import load_config
from cartnudge.core.rules import (
    AbandonedStep,
    Candidate,
    CustomerStatus,
    DeliveryStatus,
    FlowRules,
    Kind,
    PastDelivery,
    QuietHours,
    SkipReason,
    StepRule,
    Storefront,
    Target,
    decide,
)
from cartnudge.core.triggers import (
    ItemState,
    Trigger,
    TriggerHit,
    TriggerKind,
    in_stock,
    nothing_left,
    parse_trigger,
    trigger_hit,
)
from cartnudge.demo.schema import products
from cartnudge.errors import ConfigError
from cartnudge.sweep import Sweep
from tests.conftest import write_config
from tests.shop import ShopBuilder

H = timedelta(hours=1)
NOW = datetime(2026, 11, 22, 3, 0)  # 12:00 JST
ABANDONED = NOW - 3 * H
DROP_10 = Trigger(TriggerKind.PRICE_DROP, Decimal(10))
LOW_3 = Trigger(TriggerKind.LOW_STOCK, Decimal(3))


def item(pid: str, cart: int, now: int | None = None, stock: int | None = None) -> ItemState:
    return ItemState(pid, f"商品{pid}", cart, now, stock)


# -- the conditions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trigger", "items", "fires_on"),
    [
        (DROP_10, [item("a", 2000, 1800)], "a"),  # (2000 - 1800) * 100 = 20000 >= 10 * 2000
        (DROP_10, [item("a", 2000, 1801)], None),  # 19900 < 20000: 9.95 % is not 10 %
        (DROP_10, [item("a", 2000, 2000)], None),
        (DROP_10, [item("a", 2000, 2500)], None),  # a rise
        (DROP_10, [item("a", 2000, None)], None),  # no status: as in the cart
        (DROP_10, [item("a", 2000, 1000, stock=0)], None),  # out of stock: not a reason to buy
        (DROP_10, [item("a", 2000, 1700), item("b", 1000, 500)], "b"),  # 50 % beats 15 %
        (DROP_10, [item("a", 1000, 500), item("b", 1000, 500)], "a"),  # a tie: the first
        (DROP_10, [item("a", 0, 0)], None),  # a free item cannot drop
        (LOW_3, [item("a", 2000, stock=3)], "a"),  # at N
        (LOW_3, [item("a", 2000, stock=4)], None),
        (LOW_3, [item("a", 2000, stock=0)], None),  # gone, not low
        (LOW_3, [item("a", 2000, stock=None)], None),  # unknown
        (LOW_3, [item("a", 2000, stock=2), item("b", 2000, stock=1)], "b"),  # fewest left
    ],
)
def test_a_trigger_fires_on_the_item_that_meets_its_condition(
    trigger: Trigger, items: list[ItemState], fires_on: str | None
) -> None:
    hit = trigger_hit(trigger, items)
    assert (hit.product_id if hit else None) == fires_on


def test_a_hit_names_the_item_with_old_and_new_price_or_stock() -> None:
    assert trigger_hit(DROP_10, [item("a", 1980, 1580, stock=7)]) == TriggerHit(
        TriggerKind.PRICE_DROP, "a", "商品a", 1980, 1580, 7
    )
    hit = trigger_hit(LOW_3, [item("a", 1980, stock=2)])
    assert hit is not None and hit.context() == {
        "kind": "low_stock",
        "item": {"product_id": "a", "name": "商品a"},
        "old_price": 1980,
        "new_price": 1980,
        "drop_percent": 0,
        "stock": 2,
    }
    # (1980 - 1580) * 100 // 1980 = 20 (20.2 % rounded down)
    assert TriggerHit(TriggerKind.PRICE_DROP, "a", "a", 1980, 1580, None).drop_percent == 20


def test_out_of_stock_items_are_left_out_and_an_empty_cart_is_nothing_left() -> None:
    cart = [item("a", 100, stock=0), item("b", 100, stock=-2), item("c", 100), item("d", 1, 1, 1)]
    assert [i.product_id for i in in_stock(cart)] == ["c", "d"]
    assert nothing_left(cart[:2]) and not nothing_left(cart) and not nothing_left([])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"price_drop": "10%"}, DROP_10),
        ({"price_drop": 12.5}, Trigger(TriggerKind.PRICE_DROP, Decimal("12.5"))),
        ({"low_stock": 3}, LOW_3),
        ({"price_drop": "0%"}, "above 0 and below 100"),
        ({"price_drop": 100}, "above 0 and below 100"),
        ({"low_stock": 0}, "whole number of at least 1"),
        ({"low_stock": 2.5}, "whole number of at least 1"),
        ({"low_stock": "few"}, "not a number"),
        ({"price_rise": 5}, "is not price_drop or low_stock"),
        ({"price_drop": 5, "low_stock": 3}, "exactly one"),
    ],
)
def test_a_trigger_setting_is_read_or_refused(raw: dict, expected: Trigger | str) -> None:
    if isinstance(expected, Trigger):
        assert parse_trigger(raw) == expected
    else:
        with pytest.raises(ValueError, match=expected):
            parse_trigger(raw)


# -- the rules -----------------------------------------------------------------------------------

STEPS = (
    StepRule(0, 24 * H),
    StepRule(1, timedelta(0), trigger=DROP_10),
    StepRule(2, timedelta(0), trigger=LOW_3),
)
DROPPED = [item("1", 1980, 1580, stock=50), item("2", 2200, 2200, stock=20)]
LOW = [item("1", 1980, 1980, stock=50), item("2", 2200, 2200, stock=2)]
CALM = [item("1", 1980, 1980, stock=50), item("2", 2200, 2200, stock=20)]
GONE = [item("1", 1980, 1980, stock=0), item("2", 2200, 2200, stock=0)]


def candidate(**changes: object) -> Candidate:
    base = Candidate(
        order_id="o-1",
        customer_id="c-1",
        customer_status=CustomerStatus.MEMBER,
        storefront=Storefront.SHOP,
        abandoned_step=AbandonedStep.CART,
        abandoned_at=ABANDONED,
        last_activity_at=ABANDONED,
        email="hanako.sato@example.co.jp",
        email_consent=True,
    )
    return replace(base, **changes)


def flow(**changes: object) -> FlowRules:
    base = FlowRules(flow="confirm", enabled=True, target=Target.ALL, steps=STEPS, cart_ttl=48 * H)
    return replace(base, **changes)


def past(step: int, status: DeliveryStatus = DeliveryStatus.SENT) -> PastDelivery:
    return PastDelivery("confirm", step, 0, "email", status, ABANDONED + H)


QUIET = {"email": QuietHours(time(9), time(11), ZoneInfo("Asia/Tokyo"))}  # 12:00 JST: closed


@pytest.mark.parametrize(
    ("case", "history", "stock", "rules", "now", "expected"),
    [
        ("a price drop fires at once", [], DROPPED, flow(), NOW, (Kind.SEND, 1)),
        ("low stock fires", [], LOW, flow(), NOW, (Kind.SEND, 2)),
        ("nothing holds: wait for the delay step", [], CALM, flow(), NOW, (Kind.WAIT, 0)),
        ("prices not read: no trigger", [], None, flow(), NOW, (Kind.WAIT, 0)),
        ("at most once per episode", [past(1)], DROPPED, flow(), NOW, (Kind.WAIT, 0)),
        (
            "held out counts as once",
            [past(1, DeliveryStatus.HELD_OUT)],
            DROPPED,
            flow(),
            NOW,
            (Kind.WAIT, 0),
        ),
        (
            "a retry is tried again",
            [past(1, DeliveryStatus.RETRY)],
            DROPPED,
            flow(),
            NOW,
            (Kind.SEND, 1),
        ),
        ("after the delay step too", [past(0)], DROPPED, flow(), NOW + 22 * H, (Kind.SEND, 1)),
        (
            "a due delay step waits for a fired trigger",
            [],
            DROPPED,
            flow(),
            NOW + 22 * H,
            (Kind.SEND, 1),
        ),
        (
            "the delay step goes when no trigger holds",
            [],
            CALM,
            flow(),
            NOW + 22 * H,
            (Kind.SEND, 0),
        ),
        (
            "delay step done, triggers left: waiting",
            [past(0)],
            CALM,
            flow(),
            NOW + 22 * H,
            (Kind.WAIT, 1),
        ),
        (
            "everything done",
            [past(0), past(1), past(2)],
            DROPPED,
            flow(),
            NOW,
            (Kind.SKIP, SkipReason.ALREADY_DELIVERED),
        ),
        (
            "only while the cart is valid",
            [],
            DROPPED,
            flow(),
            ABANDONED + 48 * H,
            (Kind.SKIP, SkipReason.CART_EXPIRED),
        ),
        (
            "nothing left to buy",
            [],
            GONE,
            flow(),
            NOW + 22 * H,
            (Kind.SKIP, SkipReason.OUT_OF_STOCK),
        ),
        ("consent like any step", [], DROPPED, flow(), NOW, (Kind.SKIP, SkipReason.NO_CONSENT)),
        ("quiet hours defer it", [], DROPPED, flow(quiet_hours=QUIET), NOW, (Kind.WAIT, 1)),
    ],
)
def test_a_trigger_step_is_due_when_its_condition_holds(
    case: str,
    history: list[PastDelivery],
    stock: list[ItemState] | None,
    rules: FlowRules,
    now: datetime,
    expected: tuple,
) -> None:
    c = candidate(email_consent=case != "consent like any step")
    d = decide(c, history, rules, now, stock=stock)
    got = (d.kind, d.reason if d.kind is Kind.SKIP else d.step)
    assert got == expected, case
    if d.kind is Kind.SEND and d.step in (1, 2):
        assert d.trigger is not None and d.superseded == () and d.due_at == now
    if case == "quiet hours defer it":
        assert d.deferred_by is SkipReason.QUIET_HOURS and d.trigger is not None


def test_the_frequency_cap_holds_a_trigger_step_like_any_other() -> None:
    from cartnudge.core.rules import FrequencyCap

    rules = flow(frequency_cap=FrequencyCap(1, 16 * H))
    d = decide(candidate(), [], rules, NOW, stock=DROPPED, recent_sends=[NOW - H])
    assert (d.kind, d.step, d.deferred_by) == (Kind.WAIT, 1, SkipReason.FREQUENCY_CAP)
    assert d.due_at == NOW + 15 * H  # the earlier send (11:00) leaves the 16 h window at 03:00


# -- configuration -------------------------------------------------------------------------------


def trigger_config(config_data: dict) -> dict:
    config_data["shop"]["cart_ttl"] = 2880
    config_data["flows"]["confirm"] = {
        "enabled": True,
        "steps": [
            {"delay": "24h"},
            {"trigger": {"price_drop": "10%"}},
            {"trigger": {"low_stock": 2}},
        ],
    }
    config_data["frequency_cap"] = {"enabled": False}
    return config_data


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (
            [{"delay": "1h"}, {"delay": "2h", "trigger": {"low_stock": 2}}],
            r"steps\[1\]: give either delay or trigger, not both",
        ),
        (
            [{"delay": "1h"}, {"trigger": {"low_stock": 0}}],
            r"steps\[1\]\.trigger: low_stock: must be a whole number of at least 1",
        ),
        (
            [{"trigger": {"low_stock": 2}}, {"delay": "1h"}],
            r"steps\[1\]\.delay: list the trigger steps after every delay step",
        ),
        (
            [
                {"delay": "1h"},
                {"trigger": {"low_stock": 2}, "variants": [{"name": "a"}, {"name": "b"}]},
            ],
            r"steps\[1\]\.variants: a trigger step has no delay to test",
        ),
        ([{"template": 140001}], r"steps\[0\]: give a delay or a trigger"),
    ],
)
def test_trigger_steps_are_refused_in_one_line_when_miswritten(
    sqlite_shop: ShopBuilder, tmp_path: Path, steps: list, message: str
) -> None:
    from tests.conftest import base_config

    data = base_config(sqlite_shop.url, tmp_path)
    data["flows"]["confirm"] = {"enabled": True, "steps": steps}
    with pytest.raises(ConfigError, match=message):
        load_config(write_config(tmp_path, data))


def test_trigger_steps_need_the_product_status_file(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    from cartnudge.config import BUNDLED_SQL_DIR
    from tests.conftest import base_config

    sql = tmp_path / "sql"
    sql.mkdir()
    for f in BUNDLED_SQL_DIR.glob("*.sql"):
        if f.name != "product_status.sql":
            (sql / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    data = trigger_config(base_config(sqlite_shop.url, tmp_path))
    data["shop"]["sql_dir"] = str(sql)
    with pytest.raises(ConfigError, match=r"steps\[1\]\.trigger: needs .*product_status\.sql"):
        App(load_config(write_config(tmp_path, data)))
    data["flows"]["confirm"]["steps"] = [{"delay": "1h"}]  # without triggers it is not needed
    App(load_config(write_config(tmp_path, data))).dispose()


# -- through the sweep, on every backend ---------------------------------------------------------


def body(envelope: Envelope) -> str:
    message = email.message_from_bytes(envelope.data, policy=email.policy.default)
    part = message.get_body(("plain",))
    assert part is not None
    return part.get_content()


def set_product(shop: ShopBuilder, product_id: int, **values: int) -> None:
    with shop.engine.begin() as conn:
        conn.execute(update(products).where(products.c.id == product_id).values(**values))


def test_a_price_drop_and_low_stock_remind_once_and_out_of_stock_items_are_left_out(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    config = write_config(tmp_path, trigger_config(config_data))
    cart = shop.abandoned(ABANDONED)  # 2 x 抹茶 (1,980円), 1 x タオル (2,200円, 5 in stock)
    towels_only = shop.abandoned(ABANDONED, items=((2, 1),))
    app = App(load_config(config))
    channel = MemoryChannel()
    calm = Sweep(app, channel, now=NOW).run()
    set_product(shop, 1, price=1580)  # 20 % off
    dropped = Sweep(app, channel, now=NOW + H).run()
    again = Sweep(app, channel, now=NOW + 2 * H).run()
    set_product(shop, 2, stock=2)
    low = Sweep(app, channel, now=NOW + 3 * H).run()
    set_product(shop, 2, stock=0)  # towels sold out: left out of the 24 h reminder
    late = Sweep(app, channel, now=ABANDONED + 25 * H).run()
    app.dispose()

    assert (calm.sent, calm.waiting) == (0, 2)
    assert (dropped.sent, dropped.triggers["price_drop"]) == (1, 1)  # only one cart has matcha
    assert again.sent == 0  # at most once per episode
    assert (low.sent, low.triggers["low_stock"]) == (2, 2)
    assert (late.sent, late.skipped["out_of_stock"]) == (1, 1)
    texts = [body(e) for e in channel.sent]
    drop_text = texts[0]
    assert "値下がりしました：国産有機抹茶 100g" in drop_text
    assert "1,980円 → 1,580円（20%オフ）" in drop_text
    low_texts = [t for t in texts if "残りわずかです" in t]
    assert len(low_texts) == 2
    assert all("残りわずかです：今治タオル フェイスタオル 2枚組（残り2点）" in t for t in low_texts)
    last = texts[-1]
    assert "今治タオル" not in last and "合計：3,960円" in last  # 2 x 1,980 left to buy
    assert [e.recipient for e in channel.sent] == [
        f"customer{shop.customer_of(o)}@example.jp" for o in (cart, cart, towels_only, cart)
    ] or sorted(e.recipient for e in channel.sent[1:3]) == sorted(
        f"customer{shop.customer_of(o)}@example.jp" for o in (cart, towels_only)
    )


def test_a_trigger_is_checked_again_just_before_sending(
    sqlite_shop: ShopBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import base_config

    config = write_config(tmp_path, trigger_config(base_config(sqlite_shop.url, tmp_path)))
    sqlite_shop.abandoned(ABANDONED)
    set_product(sqlite_shop, 1, price=1580)
    app = App(load_config(config))
    reads = app.reader.product_status
    calls: list[int] = []

    def price_back_up_after_the_decision(order_ids: list) -> dict:
        calls.append(len(order_ids))
        if len(calls) == 2:  # between the decision and the send, the sale ended
            set_product(sqlite_shop, 1, price=1980)
        return reads(order_ids)

    monkeypatch.setattr(app.reader, "product_status", price_back_up_after_the_decision)
    channel = MemoryChannel()
    summary = Sweep(app, channel, now=NOW).run()
    reads_in_first_sweep = len(calls)  # one before deciding, one just before sending
    set_product(sqlite_shop, 1, price=1500)
    later = Sweep(app, channel, now=NOW + H).run()
    app.dispose()
    assert (summary.sent, summary.triggers["gone"], reads_in_first_sweep) == (0, 1, 2)
    assert later.sent == 1 and "1,980円 → 1,500円" in body(channel.sent[0])


def test_check_runs_product_status_sql_and_names_a_missing_column(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    import shutil

    from click.testing import CliRunner

    from cartnudge.cli import main
    from cartnudge.config import BUNDLED_SQL_DIR

    shutil.copytree(BUNDLED_SQL_DIR, tmp_path / "sql")
    query = tmp_path / "sql" / "product_status.sql"
    text = query.read_text(encoding="utf-8")
    query.write_text(text.replace(",\n  p.stock       AS stock", ""), encoding="utf-8")
    config_data["shop"]["sql_dir"] = "sql"
    path = write_config(tmp_path, trigger_config(config_data))
    result = CliRunner().invoke(main, ["check", "--offline", "--config", str(path)])
    assert result.exit_code == 4
    assert result.stderr == f"cartnudge: error: {query}: missing column(s) stock\n"


def test_templates_preview_shows_the_trigger_variable_with_sample_data(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from cartnudge.cli import main
    from tests.conftest import base_config

    config = write_config(tmp_path, base_config(sqlite_shop.url, tmp_path))
    text = CliRunner().invoke(main, ["templates", "preview", "140001", "--config", str(config)])
    sms = CliRunner().invoke(
        main, ["templates", "preview", "140001", "--format", "sms", "--config", str(config)]
    )
    assert text.exit_code == 0, text.output
    assert "■ 値下がりしました：国産有機抹茶 100g\n　1,980円 → 1,580円（20%オフ）" in text.stdout
    assert "国産有機抹茶 100gが1,980円→1,580円に値下がりしました。" in sms.stdout
