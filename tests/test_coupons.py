"""Coupons (issue 13, points 1 and 2): the anti-gaming rules as tables, the pool on every
backend (one code per shopper under concurrent sweeps), the code kept on its delivery, expiry,
template variables, the empty and the low pool, and the commands."""

from __future__ import annotations

import email
import email.policy
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cartnudge.app import App
from cartnudge.channels.base import Envelope, Result, SendResult
from cartnudge.channels.memory import MemoryChannel
from cartnudge.cli import main
from cartnudge.config import load_config
from cartnudge.core.coupons import (
    Abandonment,
    CouponChoice,
    CouponRule,
    CouponSeeker,
    Grant,
    bought_at_full_price,
    choose,
    coupon_seekers,
    expiry,
)
from cartnudge.engines import build_engine
from cartnudge.errors import ConfigError
from cartnudge.state.coupons import Coupons
from cartnudge.state.schema import coupons as coupons_table
from cartnudge.sweep import Sweep
from tests.conftest import write_config
from tests.shop import ShopBuilder

NOW = datetime(2026, 11, 22, 3, 0)  # 12:00 JST
G, FIRST, RECENT, NONE = (
    CouponChoice.GIVE,
    CouponChoice.FIRST_STEP,
    CouponChoice.RECENTLY_GIVEN,
    CouponChoice.NO_COUPON_STEP,
)
RULE = CouponRule()


@pytest.mark.parametrize(
    ("step", "rule", "recent", "allow_first", "expected"),
    [
        (0, RULE, False, False, FIRST),  # never on the first step by default
        (0, RULE, False, True, G),
        (1, RULE, False, False, G),
        (1, RULE, True, False, RECENT),  # had one within the window: none again
        (0, RULE, True, True, RECENT),
        (1, None, False, False, NONE),
        (0, None, True, False, NONE),
    ],
)
def test_who_gets_a_coupon(
    step: int, rule: CouponRule | None, recent: bool, allow_first: bool, expected: CouponChoice
) -> None:
    assert choose(step, rule, recently_given=recent, allow_first_step=allow_first) is expected


@pytest.mark.parametrize(
    ("step", "recent", "bought", "expected"),
    [
        (1, False, True, CouponChoice.BOUGHT_AT_FULL_PRICE),  # the reminder worked without one
        (1, True, True, CouponChoice.BOUGHT_AT_FULL_PRICE),
        (0, False, True, FIRST),  # the first step never carries one anyway
        (1, False, False, G),
    ],
)
def test_no_coupon_after_a_full_price_purchase_following_a_reminder_without_one(
    step: int, recent: bool, bought: bool, expected: CouponChoice
) -> None:
    assert choose(step, RULE, recently_given=recent, bought_at_full_price=bought) is expected


H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("reminded_without", "purchases", "expected"),
    [
        ([NOW], [(NOW + H, None)], True),  # reminded at 12:00, bought at 13:00 without a code
        ([NOW], [(NOW, "")], True),  # at the same instant counts
        ([NOW], [(NOW - H, None)], False),  # bought before the reminder: not because of it
        ([NOW], [(NOW + H, "SAVE-1")], False),  # bought with a code: not at full price
        ([], [(NOW + H, None)], False),  # never reminded without a code in this episode
        ([NOW + 2 * H, NOW], [(NOW + H, None)], True),  # after the first such reminder
        ([NOW], [], False),
    ],
)
def test_bought_at_full_price_means_after_a_coupon_less_reminder_without_a_code(
    reminded_without: list[datetime], purchases: list, expected: bool
) -> None:
    assert bought_at_full_price(reminded_without, purchases) is expected


A, B = frozenset({"customer:1", "email:a@example.jp"}), frozenset({"customer:2"})


@pytest.mark.parametrize(
    ("grants", "carts", "after", "expected"),
    [
        # customer 1: a code at 12:00 for cart o1, then carts o2 and o3: a seeker (2 >= 2)
        (
            [Grant(A, NOW, "o1", "C1")],
            [Abandonment(A, "o1", NOW - H), Abandonment(A, "o2", NOW + H),
             Abandonment(frozenset({"email:a@example.jp"}), "o3", NOW + 2 * H)],
            2,
            [CouponSeeker(A, 1, NOW, 2)],
        ),
        # one cart after the code: not repeatedly
        ([Grant(A, NOW, "o1", "C1")], [Abandonment(A, "o2", NOW + H)], 2, []),
        # ... unless coupons.seeker_after is 1
        ([Grant(A, NOW, "o1", "C1")], [Abandonment(A, "o2", NOW + H)], 1,
         [CouponSeeker(A, 1, NOW, 1)]),
        # carts before the first code, and other shoppers' carts, do not count
        (
            [Grant(A, NOW, "o1", "C1")],
            [Abandonment(A, "o0", NOW - H), Abandonment(B, "o2", NOW + H),
             Abandonment(B, "o3", NOW + H)],
            2,
            [],
        ),
        # two codes under keys that overlap are one shopper with two codes; o4 was given the
        # second code, so o2 and o5 count
        (
            [Grant(A, NOW, "o1", "C1"),
             Grant(frozenset({"email:a@example.jp"}), NOW + 200 * H, "o4", "C2")],
            [Abandonment(A, "o2", NOW + H), Abandonment(A, "o4", NOW + 199 * H),
             Abandonment(A, "o5", NOW + 201 * H)],
            2,
            [CouponSeeker(A, 2, NOW, 2)],
        ),
    ],
)  # fmt: skip
def test_a_shopper_who_keeps_abandoning_after_codes_is_a_coupon_seeker(
    grants: list[Grant], carts: list[Abandonment], after: int, expected: list[CouponSeeker]
) -> None:
    assert coupon_seekers(grants, carts, after=after) == expected


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (CouponRule(timedelta(days=7)), NOW + timedelta(days=7)),
        (CouponRule(None, datetime(2026, 12, 31)), datetime(2026, 12, 31)),
        (CouponRule(timedelta(days=7), datetime(2026, 11, 25)), datetime(2026, 11, 25)),
        (CouponRule(timedelta(days=1), datetime(2026, 11, 25)), NOW + timedelta(days=1)),
        (CouponRule(None, None), None),
    ],
)
def test_expiry_is_relative_to_the_send_or_fixed_whichever_first(
    rule: CouponRule, expected: datetime | None
) -> None:
    assert expiry(rule, NOW) == expected


# -- the pool on every backend -------------------------------------------------------------------


def test_concurrent_assignment_never_gives_a_code_twice(shop: ShopBuilder) -> None:
    engine = build_engine(shop.url, writer=True)
    store = Coupons(engine)
    store.import_codes([(f"C{i:03d}", "500円", None) for i in range(12)], NOW)
    results: dict[int, str | None] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def worker(first: int) -> None:
        own = Coupons(build_engine(shop.url, writer=True))
        try:
            start.wait()
            for delivery_id in range(first, first + 5):
                got = own.assign(delivery_id, [f"customer:{delivery_id}"], NOW, None)
                results[delivery_id] = got.code if got else None
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            own.engine.dispose()

    threads = [threading.Thread(target=worker, args=(1 + 100 * t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    given = [c for c in results.values() if c]
    with engine.connect() as conn:
        rows = conn.execute(select(coupons_table.c.code, coupons_table.c.delivery_id)).all()
    engine.dispose()
    assert errors == []
    assert len(given) == 12 and len(set(given)) == 12  # 20 asked, 12 codes, none twice
    assert sum(1 for r in rows if r.delivery_id is not None) == 12
    assert {results[r.delivery_id] for r in rows} == set(given)


def test_a_delivery_keeps_its_code(shop: ShopBuilder) -> None:
    engine = build_engine(shop.url, writer=True)
    store = Coupons(engine)
    store.import_codes([("A1", "10%", None), ("A2", "10%", None)], NOW)
    first = store.assign(7, ["customer:1"], NOW, NOW + timedelta(days=7))
    again = store.assign(7, ["customer:1"], NOW + timedelta(hours=1), None)
    left = store.available(NOW)
    engine.dispose()
    assert first == again and first is not None and first.expires_at == NOW + timedelta(days=7)
    assert left == 1


# -- through the sweep ----------------------------------------------------------------------------


def coupon_config(config_data: dict, **coupons: object) -> dict:
    config_data["flows"]["confirm"] = {
        "enabled": True,
        "steps": [{"delay": "1h"}, {"delay": "3h", "coupon": {"expires_after": "7d"}}],
    }
    config_data["frequency_cap"] = {"enabled": False}
    config_data["coupons"] = {"low_pool": 2, **coupons}
    return config_data


def import_codes(config: Path, tmp_path: Path, *codes: str) -> str:
    csv_path = tmp_path / "codes.csv"
    lines = ["code,discount,valid_until", *(f"{c},500円," for c in codes)]
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["coupons", "import", "--config", str(config), str(csv_path)])
    assert result.exit_code == 0, result.output
    return result.output


def body(envelope: Envelope) -> str:
    message = email.message_from_bytes(envelope.data, policy=email.policy.default)
    part = message.get_body(("plain",))
    assert part is not None
    return part.get_content()


def test_the_second_step_carries_a_code_kept_across_a_retry(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    config = write_config(tmp_path, coupon_config(config_data))
    output = import_codes(config, tmp_path, "SAVE-1", "SAVE-2", "SAVE-3")
    shop.abandoned(NOW - timedelta(hours=4))  # step 0 (no coupon) is folded into step 1
    app = App(load_config(config))
    answers = iter([Result.TEMPORARY, Result.SENT])

    def flaky(e: Envelope) -> SendResult:
        return SendResult(e.delivery_id, next(answers), "answer")

    channel = MemoryChannel(flaky)
    failed = Sweep(app, channel, now=NOW).run()
    retried = Sweep(app, channel, now=NOW + timedelta(hours=1)).run()
    app.dispose()
    [sent] = channel.sent
    text = body(sent)
    assert output.startswith("imported 3, already there 0, invalid 0; 3 free")
    assert (failed.retry_later, retried.sent) == (1, 1)
    assert failed.coupons["given"] == 1 and retried.coupons.get("given", 0) == 0
    assert "クーポン：SAVE-1（500円引き、11月29日 12:00まで有効）" in text  # JST, 7 days
    listed = CliRunner().invoke(main, ["coupons", "list", "--config", str(config)])
    assert listed.output.splitlines()[0].startswith("SAVE-1\t500円\tgiven\t")


def test_a_coupon_is_not_given_again_to_the_same_person_within_the_window(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    config = write_config(tmp_path, coupon_config(config_data))
    import_codes(config, tmp_path, "SAVE-1", "SAVE-2")
    customer = shop.customer()
    shop.abandoned(NOW - timedelta(hours=4), customer_id=customer)
    app = App(load_config(config))
    channel = MemoryChannel()
    first = Sweep(app, channel, now=NOW).run()
    # Weeks later the same person abandons another cart (another record with the same e-mail
    # would be the same person too).
    later = NOW + timedelta(days=30)
    twin = shop.customer(email=f"customer{customer}@example.jp")
    shop.abandoned(later - timedelta(hours=4), customer_id=twin)
    again = Sweep(app, channel, now=later).run()
    app.dispose()
    assert (first.coupons["given"], again.coupons["recently_given"]) == (1, 1)
    assert "SAVE-" in body(channel.sent[0]) and "クーポン" not in body(channel.sent[1])


@pytest.mark.parametrize("empty_pool", ["send_without", "wait"])
def test_an_empty_pool_sends_without_or_waits_and_a_low_pool_warns(
    sqlite_shop: ShopBuilder, tmp_path: Path, empty_pool: str
) -> None:
    from tests.conftest import base_config

    data = coupon_config(base_config(sqlite_shop.url, tmp_path), empty_pool=empty_pool)
    config = write_config(tmp_path, data)
    import_codes(config, tmp_path, "ONLY-1")
    sqlite_shop.abandoned(NOW - timedelta(hours=4))
    sqlite_shop.abandoned(NOW - timedelta(hours=4))
    app = App(load_config(config))
    channel = MemoryChannel()
    summary = Sweep(app, channel, now=NOW).run()
    app.dispose()
    assert summary.coupons["given"] == 1
    assert summary.coupon_pool_left == 0 and summary.coupon_pool_low
    assert summary.to_dict()["coupon_pool_low"] is True
    if empty_pool == "wait":
        assert (summary.sent, summary.coupons["pool_empty_waiting"]) == (1, 1)
    else:
        assert (summary.sent, summary.coupons["pool_empty_sent_without"]) == (2, 1)


def test_a_coupon_on_the_first_step_is_refused_unless_allowed(
    config_data: dict, tmp_path: Path
) -> None:
    config_data["flows"]["confirm"] = {
        "enabled": True, "steps": [{"delay": "1h", "coupon": {"expires_after": "3d"}}],
    }  # fmt: skip
    with pytest.raises(ConfigError, match=r"steps\[0\]\.coupon: the first step carries no coupon"):
        load_config(write_config(tmp_path, config_data))
    config_data["coupons"] = {"allow_first_step": True}
    config = load_config(write_config(tmp_path, config_data))
    assert config.confirm_steps[0].coupon == CouponRule(timedelta(days=3))


def test_coupons_import_reports_bad_rows_by_line(sqlite_shop: ShopBuilder, tmp_path: Path) -> None:
    from tests.conftest import base_config

    config = write_config(tmp_path, base_config(sqlite_shop.url, tmp_path))
    csv_path = tmp_path / "codes.csv"
    csv_path.write_text(
        "code,discount,valid_until\nOK-1,10%,2026-12-31T23:59\n,10%,\nOK-2,,\nOK-3,5%,soon\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["coupons", "import", "--config", str(config), str(csv_path)])
    no_header = tmp_path / "bad.csv"
    no_header.write_text("x,y\n1,2\n", encoding="utf-8")
    refused = CliRunner().invoke(
        main, ["coupons", "import", "--config", str(config), str(no_header)]
    )
    assert result.exit_code == 0
    assert "imported 1, already there 0, invalid 3" in result.stdout
    assert f"{csv_path}:3: code '' is empty" in result.stderr
    assert f"{csv_path}:5: valid_until 'soon' is not an ISO date-time" in result.stderr
    assert refused.exit_code == 3 and "needs a header row with 'code' and 'discount'" in (
        refused.stderr
    )


def test_a_completed_order_with_a_given_code_marks_it_redeemed(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    config = write_config(tmp_path, coupon_config(config_data))
    import_codes(config, tmp_path, "SAVE-1", "SAVE-2")
    customer = shop.customer()
    shop.abandoned(NOW - timedelta(hours=4), customer_id=customer)
    app = App(load_config(config))
    Sweep(app, MemoryChannel(), now=NOW).run()
    shop.complete_purchase(customer, NOW + timedelta(minutes=30), coupon_code="SAVE-1")
    shop.complete_purchase(customer, NOW + timedelta(minutes=40), coupon_code="SAVE-2")  # free
    later = Sweep(app, MemoryChannel(), now=NOW + timedelta(hours=1)).run()
    again = Sweep(app, MemoryChannel(), now=NOW + timedelta(hours=2)).run()
    app.dispose()
    listed = CliRunner().invoke(main, ["coupons", "list", "--config", str(config)])
    states = [line.split("\t")[:3] for line in listed.output.splitlines()]
    assert later.coupons["redeemed"] == 1 and again.coupons.get("redeemed", 0) == 0
    assert states == [["SAVE-1", "500円", "redeemed"], ["SAVE-2", "500円", "free"]]


def test_the_report_names_coupon_seekers_masked(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    import json

    config = write_config(tmp_path, coupon_config(config_data))
    import_codes(config, tmp_path, "SAVE-1", "SAVE-2")
    customer = shop.customer(email="hanako@example.jp")
    shop.abandoned(NOW - timedelta(hours=4), customer_id=customer)
    app = App(load_config(config))
    Sweep(app, MemoryChannel(), now=NOW).run()  # a code for the first cart
    for days in (2, 5):  # then two more carts abandoned, reminded without a code
        later = NOW + timedelta(days=days)
        shop.abandoned(later - timedelta(hours=4), customer_id=customer)
        Sweep(app, MemoryChannel(), now=later).run()
    app.dispose()
    args = ["report", "--config", str(config), "--from", "2026-11-20", "--to", "2026-11-30"]
    as_json = CliRunner().invoke(main, [*args, "--format", "json"])
    as_text = CliRunner().invoke(main, [*args, "--format", "table"])
    assert as_json.exit_code == 0, as_json.output
    [seeker] = json.loads(as_json.stdout)["coupon_seekers"]
    assert seeker == {
        "person": f"customer:{customer}, email:h***@example.jp",
        "codes": 1,
        "first_code_at": "2026-11-22T12:00:00+09:00",
        "abandoned_after": 2,
    }
    assert "coupon seekers: 1 shopper(s)" in as_text.stdout
    assert "hanako@" not in as_text.stdout + as_json.stdout
