"""``cartnudge report``: every figure of a known history, on each backend, through the library
and the command line (table, CSV, JSON, HTML), plus the pure parts as tables."""

from __future__ import annotations

import csv
import email
import io
import json
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from cartnudge.app import App
from cartnudge.channels.memory import MemoryChannel
from cartnudge.cli import main
from cartnudge.config import load_config
from cartnudge.operator.report import (
    SKIP_REASONS,
    AbandonedRow,
    Bucket,
    DeliveryGroup,
    Figures,
    Period,
    RecoveryGroup,
    SkipGroup,
    Variant,
    auto_by,
    build_report,
    collect,
    rate_text,
    sparkline,
)
from cartnudge.recovery import resolve_token
from cartnudge.state.schema import deliveries, recoveries, skips
from cartnudge.sweep import Sweep
from tests.conftest import base_config, write_config
from tests.shop import ShopBuilder

TOKYO = ZoneInfo("Asia/Tokyo")
AMOUNT = 1980 * 2 + 2200  # the total of ShopBuilder.abandoned's default items


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute)


# -- the pure parts --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "last", "by", "expected"),
    [
        # Wednesday to Wednesday: ISO weeks start on Monday, clipped to the period
        (
            date(2026, 11, 18),
            date(2026, 12, 2),
            "week",
            [
                ("2026-W47", date(2026, 11, 18), date(2026, 11, 22)),
                ("2026-W48", date(2026, 11, 23), date(2026, 11, 29)),
                ("2026-W49", date(2026, 11, 30), date(2026, 12, 2)),
            ],
        ),
        (
            date(2026, 1, 31),
            date(2026, 3, 1),
            "month",
            [
                ("2026-01", date(2026, 1, 31), date(2026, 1, 31)),
                ("2026-02", date(2026, 2, 1), date(2026, 2, 28)),
                ("2026-03", date(2026, 3, 1), date(2026, 3, 1)),
            ],
        ),
        (
            date(2026, 12, 31),
            date(2027, 1, 1),
            "day",
            [
                ("2026-12-31", date(2026, 12, 31), date(2026, 12, 31)),
                ("2027-01-01", date(2027, 1, 1), date(2027, 1, 1)),
            ],
        ),
        (date(2026, 11, 1), date(2026, 11, 30), None, []),
    ],
)
def test_buckets_are_local_days_iso_weeks_or_months_clipped_to_the_period(
    first: date, last: date, by: str | None, expected: list
) -> None:
    buckets = Period(first, last, TOKYO, by).buckets()
    assert [(b.label, b.first, b.last) for b in buckets] == expected


def test_a_tokyo_day_starts_at_15_00_utc_the_day_before() -> None:
    period = Period(date(2026, 11, 21), date(2026, 11, 22), TOKYO, "day")
    assert (period.start, period.end) == (utc(11, 20, 15), utc(11, 22, 15))
    assert period.bounds() == [utc(11, 20, 15), utc(11, 21, 15), utc(11, 22, 15)]


def test_a_period_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="starts"):
        Period(date(2026, 11, 2), date(2026, 11, 1), TOKYO)


@pytest.mark.parametrize(
    ("first", "last", "by"),
    [
        (date(2026, 11, 1), date(2026, 11, 30), "day"),
        (date(2026, 11, 1), date(2027, 1, 1), "day"),  # 62 days
        (date(2026, 11, 1), date(2027, 1, 2), "week"),
        (date(2026, 1, 1), date(2027, 1, 6), "week"),  # 371 days: at most 54 weekly bars
        (date(2026, 1, 1), date(2027, 1, 7), "month"),
    ],
)
def test_the_html_chart_picks_a_series_step_that_fits_the_period(
    first: date, last: date, by: str
) -> None:
    assert auto_by(first, last) == by


@pytest.mark.parametrize(
    ("rate", "text"),
    [
        (None, "-"),  # nothing reminded: no rate, not 0%
        (Fraction(1, 2), "50.0%"),
        (Fraction(1, 3), "33.3%"),
        (Fraction(2, 3), "66.7%"),
        (Fraction(1, 8), "12.5%"),  # exactly half a tenth: rounded up
        (Fraction(1, 1), "100.0%"),
        (Fraction(0, 4), "0.0%"),
    ],
)
def test_the_recovery_rate_is_printed_with_one_decimal(rate: Fraction | None, text: str) -> None:
    assert rate_text(rate) == text


@pytest.mark.parametrize(
    ("values", "line"),
    [
        ([0, 1, 4, 8], "·▁▄█"),  # a zero is a dot, never the lowest bar
        ([3, 4, 5], "▅▇█"),  # ceil(3*8/5)=5th, ceil(4*8/5)=7th, 8th block
        ([0, 0], "··"),
        ([], ""),
    ],
)
def test_a_sparkline_scales_to_the_largest_value(values: list[int], line: str) -> None:
    assert sparkline(values) == line


def test_build_report_counts_the_shop_rows_per_flow_and_local_day() -> None:
    period = Period(date(2026, 11, 21), date(2026, 11, 22), TOKYO, "day")
    rows = [
        AbandonedRow("1", "confirm", utc(11, 21, 15, 29), 1000),  # 22nd 00:29 in Tokyo
        AbandonedRow("2", "confirm", utc(11, 21, 14, 59), 2000),  # 21st 23:59 in Tokyo
        AbandonedRow("3", "input", utc(11, 20, 15, 0), 500),  # 21st 00:00 in Tokyo
    ]
    report = build_report(period, iter(rows), [], [], [])
    confirm, input_ = report.flow("confirm"), report.flow("input")
    assert [f.flow for f in report.flows] == ["confirm", "input"]
    assert (confirm.totals.abandoned, confirm.totals.abandoned_amount) == (2, 3000)
    assert [(f.abandoned, f.abandoned_amount) for _, f in confirm.series] == [
        (1, 2000),
        (1, 1000),
    ]
    assert [f.abandoned for _, f in input_.series] == [1, 0]
    assert confirm.totals.recovery_rate is None and confirm.totals.click_rate is None
    assert confirm.totals.clicks == 0


def test_build_report_takes_each_level_of_the_grouped_rows_as_it_is() -> None:
    period = Period(date(2026, 11, 1), date(2026, 11, 30), TOKYO)
    deliveries_ = [
        DeliveryGroup("flow", "confirm", orders=3, reminded=2, sent=3, failed=1),
        DeliveryGroup("variant", "confirm", 1, "email", 140003, orders=1, reminded=1, sent=1),
        DeliveryGroup("variant", "confirm", 0, "email", 140001, orders=3, reminded=2, sent=2),
        DeliveryGroup("flow", "bulk:nov", orders=1, reminded=1, sent=1),
        DeliveryGroup("variant", "bulk:nov", 0, "email", 140001, orders=1, reminded=1, sent=1),
    ]
    recoveries_ = [
        RecoveryGroup("flow", "confirm", orders=1, revenue=6160),
        RecoveryGroup("variant", "confirm", 0, "email", 140001, orders=1, revenue=6160),
    ]
    skips_ = [
        SkipGroup("flow", "confirm", orders=2),
        SkipGroup("reason", "confirm", "no_consent", orders=2),
        SkipGroup("reason", "confirm", "fraud_result", orders=1),  # the same order, twice
        SkipGroup("reason", "confirm", "new_reason", orders=1),
    ]
    report = build_report(period, [], deliveries_, recoveries_, skips_)
    confirm = report.flow("confirm")
    assert [f.flow for f in report.flows] == ["confirm", "input", "bulk:nov"]
    assert confirm.totals == Figures(
        abandoned=0,
        abandoned_amount=0,
        targeted=3,
        skipped=2,
        sent=3,
        failed=1,
        reminded=2,
        recovered=1,
        revenue=6160,
    )
    assert confirm.totals.recovery_rate == Fraction(1, 2)
    assert {r: n for r, n in confirm.skipped_by_reason.items() if n} == {
        "no_consent": 2,
        "fraud_result": 1,
        "new_reason": 1,
    }
    assert confirm.variants == (
        Variant(
            0,
            "email",
            140001,
            Figures(targeted=3, sent=2, reminded=2, recovered=1, revenue=6160),
        ),
        Variant(1, "email", 140003, Figures(targeted=1, sent=1, reminded=1)),
    )
    bulk = report.flow("bulk:nov")
    assert (bulk.totals.abandoned, bulk.totals.targeted, bulk.totals.skipped) == (None, 1, 0)
    assert report.flow("input").totals == Figures(abandoned=0, abandoned_amount=0, skipped=0)


# -- a known history on a real database -----------------------------------------------------


@dataclass
class History:
    shop: ShopBuilder
    config_path: Path
    orders: dict[str, int]


def _delivery(
    shop: ShopBuilder,
    order_id: int | str,
    status: str,
    abandoned_at: datetime,
    *,
    flow: str = "confirm",
    step: int = 0,
    channel: str = "email",
    template_id: int = 140001,
) -> int:
    """A delivery row written directly (statuses a sweep does not produce on demand)."""
    sent_at = abandoned_at + timedelta(hours=3)
    with shop.engine.begin() as conn:
        return conn.execute(
            deliveries.insert().values(
                order_id=str(order_id),
                flow=flow,
                step=step,
                episode=0,
                channel=channel,
                status=status,
                recipient="someone@example.jp",
                template_id=template_id,
                amount=AMOUNT,
                abandoned_at=abandoned_at,
                episode_started_at=abandoned_at,
                due_at=sent_at,
                attempts=1,
                created_at=sent_at,
                updated_at=sent_at,
                sent_at=sent_at if status == "sent" else None,
            )
        ).inserted_primary_key[0]


def _skip(shop: ShopBuilder, order_id: int, reason: str, abandoned_at: datetime, flow: str):
    with shop.engine.begin() as conn:
        conn.execute(
            skips.insert().values(
                order_id=str(order_id),
                flow=flow,
                episode=0,
                reason=reason,
                abandoned_at=abandoned_at,
                first_seen_at=abandoned_at + timedelta(hours=3),
            )
        )


def _token_for(channel: MemoryChannel, shop: ShopBuilder, order_id: int) -> str:
    """The recovery token in the message sent for ``order_id``."""
    address = f"customer{shop.customer_of(order_id)}@example.jp"
    envelope = next(e for e in channel.sent if e.recipient == address)
    text = email.message_from_bytes(envelope.data).get_payload()[0].get_payload(decode=True)
    return text.decode("utf-8").split("token=", 1)[1].split()[0]


def _sweep(app: App, now: datetime) -> MemoryChannel:
    channel = MemoryChannel()
    # Full sweeps: the history's skip rows (a purchase after the reminder...) are recorded by
    # the sweeps that read those carts again; incremental sweeps leave them to the full ones.
    Sweep(app, channel, now=now, full=True).run()
    return channel


@pytest.fixture
def history(shop: ShopBuilder, tmp_path: Path) -> History:
    """Carts abandoned around 2026-11-20..22 in Tokyo (UTC+9, so a Tokyo day starts at 15:00
    UTC the day before). Real sweeps at T1, T1b, T2 and T3 send, skip and attribute; rows a
    sweep does not produce on demand (failed, in doubt, retry, a second step, the input flow,
    a bulk mailing) are written directly for carts no sweep sees (abandoned after T1b's
    3-hour due line and before T2's 24-hour cart validity)."""
    t1, t1b, t2, t3 = utc(11, 20, 12), utc(11, 20, 14), utc(11, 22, 12), utc(11, 22, 13)
    lp_form = dict(status="visitor", storefront="lp", step="input")
    at = {
        "early": utc(11, 19, 14, 59),  # Tokyo 19th 23:59: before the period
        "first_day": utc(11, 19, 15, 0),  # Tokyo 20th 00:00: sent at T1, bought back
        "two_steps": utc(11, 20, 12),  # 20th 21:00: steps 0 and 1 sent (direct)
        "in_doubt": utc(11, 20, 13),  # 20th 22:00 (direct)
        "input_a": utc(11, 20, 14, 30),  # 20th 23:30: input flow, SMS sent (direct)
        "failed": utc(11, 20, 23),  # 21st 08:00 (direct)
        "input_b": utc(11, 21, 0),  # 21st 09:00: input flow, e-mail sent, bought back
        "retry": utc(11, 21, 1),  # 21st 10:00 (direct)
        "bought_first": utc(11, 21, 2),  # 21st 11:00: skipped, purchased (direct)
        "input_c": utc(11, 21, 3),  # 21st 12:00: input flow, no consent (direct)
        "late_evening": utc(11, 21, 14, 30),  # 21st 23:30: no consent (sweep)
        "boundary": utc(11, 21, 15, 30),  # 22nd 00:30: the next local day; sent at T2
        "fraud": utc(11, 22, 1),  # 22nd 10:00: fraud result NG (sweep)
        "recovered": utc(11, 22, 2),  # 22nd 11:00: sent at T2, bought back
        "visitor_shop": utc(11, 22, 3),  # 22nd 12:00: a SHOP visitor never abandons
        "last_moment": utc(11, 22, 14, 59),  # 22nd 23:59: in the period (--to inclusive)
        "after": utc(11, 22, 15, 0),  # 23rd 00:00: after the period
    }
    special = {
        "input_a": lp_form,
        "input_b": lp_form,
        "input_c": lp_form,
        "late_evening": dict(email_optin=False),
        "fraud": dict(fraud_result="NG"),
        "visitor_shop": dict(status="visitor"),
    }
    orders = {name: shop.abandoned(moment, **special.get(name, {})) for name, moment in at.items()}
    o = orders

    _delivery(shop, o["two_steps"], "sent", at["two_steps"])
    _delivery(shop, o["two_steps"], "sent", at["two_steps"], step=1, template_id=140003)
    _delivery(shop, o["in_doubt"], "in_doubt", at["in_doubt"])
    _delivery(shop, o["failed"], "failed", at["failed"])
    _delivery(shop, o["retry"], "retry", at["retry"])
    _delivery(shop, o["after"], "sent", at["after"])  # outside the cohort
    _skip(shop, o["bought_first"], "purchased", at["bought_first"], "confirm")
    sms = dict(flow="input", channel="sms", template_id=140002)
    _delivery(shop, o["input_a"], "sent", at["input_a"], **sms)
    input_b = _delivery(shop, o["input_b"], "sent", at["input_b"], flow="input", template_id=140002)
    _skip(shop, o["input_c"], "no_consent", at["input_c"], "input")
    _delivery(shop, "customer:999", "sent", utc(11, 21, 3), flow="bulk:november")
    bought_input = shop.complete_purchase(
        shop.customer_of(o["input_b"]), utc(11, 21, 5), amount=3000
    )
    with shop.engine.begin() as conn:
        conn.execute(
            recoveries.insert().values(
                order_id=str(bought_input),
                delivery_id=input_b,
                abandoned_order_id=str(o["input_b"]),
                flow="input",
                customer_id=str(shop.customer_of(o["input_b"])),
                attribution="url",
                amount=3000,
                completed_at=utc(11, 21, 5),
                recorded_at=utc(11, 21, 6),
            )
        )

    config_path = write_config(tmp_path, base_config(shop.url, tmp_path))
    app = App(load_config(config_path))
    try:
        first = _sweep(app, t1)  # sends early and first_day
        first_token = _token_for(first, shop, o["first_day"])
        resolve_token(app, first_token, now=utc(11, 20, 12, 30))  # two clicks
        resolve_token(app, first_token, now=utc(11, 20, 12, 45))
        resolve_token(app, first_token, now=utc(11, 20, 12, 50), record_click=False)  # a check
        shop.complete_purchase(
            shop.customer_of(o["first_day"]),
            utc(11, 20, 13),
            amount=5000,
            recovery_token=first_token,
        )
        _sweep(app, t1b)  # attributes first_day; skips it as purchased (after its reminder)
        second = _sweep(app, t2)  # sends boundary and recovered; skips three
        recovered_token = _token_for(second, shop, o["recovered"])
        resolve_token(app, recovered_token, now=utc(11, 22, 12, 10))  # clicked, bought
        resolve_token(app, _token_for(second, shop, o["boundary"]), now=utc(11, 22, 12, 20))
        shop.complete_purchase(
            shop.customer_of(o["recovered"]),
            utc(11, 22, 12, 30),
            amount=AMOUNT,
            recovery_token=recovered_token,
        )
        _sweep(app, t3)  # attributes recovered
    finally:
        app.dispose()
    return History(shop, config_path, orders)


def test_the_history_has_the_rows_the_figures_are_checked_against(history: History) -> None:
    """What the sweeps did, so the expected figures below stand on known rows: the sweeps
    recorded a "purchased" skip for both carts bought back after their reminder, which the
    report does not count as skipped (they were reminded)."""
    o = {v: k for k, v in history.orders.items()}
    with history.shop.engine.connect() as conn:
        sent = sorted(
            o[int(r.order_id)]
            for r in conn.execute(
                select(deliveries.c.order_id).where(deliveries.c.status == "sent")
            )
            if r.order_id.isdigit()
        )
        skipped = sorted((o[int(r.order_id)], r.reason) for r in conn.execute(select(skips)))
        recovered = sorted(
            (o[int(r.abandoned_order_id)], r.amount) for r in conn.execute(select(recoveries))
        )
    assert sent == sorted(
        [
            "early",
            "first_day",
            "two_steps",
            "two_steps",
            "input_a",
            "input_b",
            "boundary",
            "recovered",
            "after",
        ]
    )
    assert skipped == [
        ("bought_first", "purchased"),
        ("first_day", "purchased"),
        ("fraud", "fraud_result"),
        ("input_c", "no_consent"),
        ("late_evening", "no_consent"),
        ("recovered", "purchased"),
        ("visitor_shop", "not_abandoned"),
    ]
    assert recovered == [("first_day", 5000), ("input_b", 3000), ("recovered", AMOUNT)]


def _collect(history: History, first: date, last: date, by: str | None = None):
    app = App(load_config(history.config_path))
    try:
        return collect(app, Period(first, last, app.config.tz, by), chunk_size=3)
    finally:
        app.dispose()


NOV20, NOV21, NOV22 = date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22)


def test_every_figure_of_the_confirm_flow_equals_its_rows(history: History) -> None:
    confirm = _collect(history, NOV20, NOV22).flow("confirm")
    # abandoned: first_day two_steps in_doubt | failed retry bought_first late_evening |
    #            boundary fraud recovered visitor_shop last_moment  (not early, not after)
    # targeted:  first_day two_steps in_doubt failed retry boundary recovered
    # sent:      first_day, two_steps x2, boundary, recovered (messages); reminded: 4 orders
    # recovered: first_day (5000) and recovered (6160): 2 of 4 reminded orders
    assert confirm.totals == Figures(
        abandoned=12,
        abandoned_amount=12 * AMOUNT,
        targeted=7,
        skipped=4,
        sent=5,
        failed=1,
        in_doubt=1,
        retry=1,
        in_progress=0,
        reminded=4,
        recovered=2,
        revenue=5000 + AMOUNT,
        clicks=4,  # first_day twice (a third look was not recorded), recovered, boundary
        clicked=3,
        clicked_recovered=2,  # first_day and recovered; boundary clicked and did not buy
        recovered_url=2,
    )
    assert confirm.totals.recovery_rate == Fraction(2, 4)
    assert confirm.totals.click_rate == Fraction(3, 4)
    assert confirm.totals.click_to_purchase_rate == Fraction(2, 3)
    assert {r: n for r, n in confirm.skipped_by_reason.items() if n} == {
        "no_consent": 1,  # late_evening
        "fraud_result": 1,  # fraud
        "not_abandoned": 1,  # visitor_shop
        "purchased": 1,  # bought_first (first_day and recovered were reminded first)
    }
    assert confirm.variants == (
        Variant(
            0,
            "email",
            140001,
            Figures(
                targeted=7,
                sent=4,
                failed=1,
                in_doubt=1,
                retry=1,
                reminded=4,
                recovered=2,
                revenue=5000 + AMOUNT,
                clicks=4,
                clicked=3,
                clicked_recovered=2,
                recovered_url=2,
            ),
        ),
        Variant(1, "email", 140003, Figures(targeted=1, sent=1, reminded=1)),
    )


def test_the_input_flow_and_a_bulk_mailing_are_reported_separately(history: History) -> None:
    report = _collect(history, NOV20, NOV22)
    assert [f.flow for f in report.flows] == ["confirm", "input", "bulk:november"]
    input_ = report.flow("input")
    assert input_.totals == Figures(
        abandoned=3,
        abandoned_amount=3 * AMOUNT,
        targeted=2,
        skipped=1,
        sent=2,
        reminded=2,
        recovered=1,
        revenue=3000,
        recovered_url=1,
    )
    assert {r: n for r, n in input_.skipped_by_reason.items() if n} == {"no_consent": 1}
    assert input_.variants == (
        Variant(
            0,
            "email",
            140002,
            Figures(targeted=1, sent=1, reminded=1, recovered=1, revenue=3000, recovered_url=1),
        ),
        Variant(0, "sms", 140002, Figures(targeted=1, sent=1, reminded=1)),
    )
    bulk = report.flow("bulk:november").totals
    assert bulk == Figures(abandoned=None, targeted=1, skipped=0, sent=1, reminded=1)
    assert rate_text(bulk.recovery_rate) == "0.0%"


def test_the_day_series_follows_tokyo_days_and_adds_up_to_the_totals(history: History) -> None:
    report = _collect(history, NOV20, NOV22, by="day")
    confirm, input_ = report.flow("confirm"), report.flow("input")
    assert [b for b, _ in confirm.series] == [
        Bucket("2026-11-20", NOV20, NOV20),
        Bucket("2026-11-21", NOV21, NOV21),
        Bucket("2026-11-22", NOV22, NOV22),
    ]
    # boundary (15:30 UTC on the 21st) is on the 22nd in Tokyo; last_moment (23:59) too
    assert [f for _, f in confirm.series] == [
        Figures(
            3,
            3 * AMOUNT,
            targeted=3,
            skipped=0,
            sent=3,
            in_doubt=1,
            reminded=2,
            recovered=1,
            revenue=5000,
            clicks=2,
            clicked=1,
            clicked_recovered=1,
            recovered_url=1,
        ),
        Figures(4, 4 * AMOUNT, targeted=2, skipped=2, failed=1, retry=1),
        Figures(
            5,
            5 * AMOUNT,
            targeted=2,
            skipped=2,
            sent=2,
            reminded=2,
            recovered=1,
            revenue=AMOUNT,
            clicks=2,
            clicked=2,
            clicked_recovered=1,
            recovered_url=1,
        ),
    ]
    assert [f for _, f in input_.series] == [
        Figures(1, AMOUNT, targeted=1, skipped=0, sent=1, reminded=1),
        Figures(
            2,
            2 * AMOUNT,
            targeted=1,
            skipped=1,
            sent=1,
            reminded=1,
            recovered=1,
            revenue=3000,
            recovered_url=1,
        ),
        Figures(0, 0, skipped=0),
    ]
    # each cart has one abandonment time, so here the days add up to the period's totals
    for flow in (confirm, input_):
        summed = {
            name: sum(getattr(f, name) for _, f in flow.series)
            for name in (
                "abandoned",
                "targeted",
                "skipped",
                "sent",
                "reminded",
                "revenue",
                "clicks",
                "clicked",
            )
        }
        assert summed == {name: getattr(flow.totals, name) for name in summed}


def test_to_is_inclusive_and_a_cart_left_at_00_30_in_tokyo_is_on_that_day(
    history: History,
) -> None:
    only_22nd = _collect(history, NOV22, NOV22).flow("confirm").totals
    until_21st = _collect(history, NOV20, NOV21).flow("confirm").totals
    assert (only_22nd.abandoned, only_22nd.targeted, only_22nd.sent) == (5, 2, 2)
    assert (until_21st.abandoned, until_21st.targeted, until_21st.sent) == (7, 5, 3)


# -- the command line ------------------------------------------------------------------------


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, ["report", *args], catch_exceptions=False)


def period_args(history: History, *extra: str) -> list[str]:
    config = ["--config", str(history.config_path)]
    return [*config, "--from", "2026-11-20", "--to", "2026-11-22", *extra]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--from", "2026-11-23", "--to", "2026-11-22"],
            "Error: Invalid value for --from: 2026-11-23 is after --to 2026-11-22",
        ),
        (
            ["--from", "2026-13-01", "--to", "2026-12-22"],
            "Error: Invalid value for --from: '2026-13-01' is not a date "
            "(write 2026-11-22 or 2026/11/22)",
        ),
        (
            ["--from", "2026-11-01", "--to", "yesterday"],
            "Error: Invalid value for --to: 'yesterday' is not a date "
            "(write 2026-11-22 or 2026/11/22)",
        ),
        (["--from", "2026-11-01"], "Error: Missing option '--to'."),
        (
            ["--from", "2026-11-01", "--to", "2026-11-30", "--by", "hour"],
            "Error: Invalid value for '--by': 'hour' is not one of 'day', 'week', 'month'.",
        ),
    ],
)
def test_bad_dates_are_refused_with_exit_2_and_one_line_naming_them(
    args: list[str], message: str, tmp_path: Path
) -> None:
    result = cli("--config", str(tmp_path / "none.yaml"), *args)
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == message


def test_json_output_has_every_figure_and_names_the_denominator(history: History) -> None:
    result = cli(*period_args(history, "--format", "json", "--by", "day"))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["period"] == {
        "from": "2026-11-20",
        "to": "2026-11-22",
        "timezone": "Asia/Tokyo",
        "by": "day",
    }
    assert data["definitions"]["recovery_rate"] == "recovered ÷ reminded orders"
    confirm = data["flows"][0]
    reasons = confirm.pop("skipped_by_reason")
    assert list(reasons) == list(SKIP_REASONS)  # every reason, 0 included: stable keys
    assert {r: n for r, n in reasons.items() if n} == {
        "not_abandoned": 1,
        "fraud_result": 1,
        "purchased": 1,
        "no_consent": 1,
    }
    breakdowns = ("by_channel", "by_trigger", "by_coupon")
    assert [[b[k.removeprefix("by_")] for b in confirm[k]] for k in breakdowns] == [
        ["email"],
        ["delay"],
        ["without_code"],
    ]
    assert confirm["by_channel"][0]["sent"] == 5 and confirm["by_coupon"][0]["reminded"] == 4
    assert [b["trigger"] for b in data["flows"][2]["by_trigger"]] == ["bulk"]
    shown = {k: v for k, v in confirm.items() if k not in ("by_variant", "series", *breakdowns)}
    assert shown == {
        "flow": "confirm",
        "abandoned": 12,
        "abandoned_amount": 12 * AMOUNT,
        "targeted": 7,
        "skipped": 4,
        "sent": 5,
        "failed": 1,
        "in_doubt": 1,
        "retry": 1,
        "in_progress": 0,
        "reminded": 4,
        "recovered": 2,
        "recovery_rate": 0.5,
        "recovered_revenue": 5000 + AMOUNT,
        "recovered_by": {"url": 2, "click": 0, "window": 0},
        "clicks": 4,
        "clicked": 3,
        "click_rate": 0.75,
        "clicked_recovered": 2,
        "click_to_purchase_rate": 0.6667,
        "coupons_given": 0,  # no coupon step
        "coupons_redeemed": 0,
        "discount_cost": 0,
        "discount_unknown": 0,
        "recovered_revenue_net": 5000 + AMOUNT,
    }
    assert data["definitions"]["click_rate"] == "clicked ÷ reminded orders"
    assert confirm["by_variant"][1] == {
        "step": 1,
        "channel": "email",
        "template_id": 140003,
        "targeted": 1,
        "sent": 1,
        "failed": 0,
        "in_doubt": 0,
        "retry": 0,
        "in_progress": 0,
        "reminded": 1,
        "recovered": 0,
        "recovery_rate": 0.0,
        "recovered_revenue": 0,
        "recovered_by": {"url": 0, "click": 0, "window": 0},
        "clicks": 0,
        "clicked": 0,
        "click_rate": 0.0,
        "clicked_recovered": 0,
        "click_to_purchase_rate": None,
        "coupons_given": 0,
        "coupons_redeemed": 0,
        "discount_cost": 0,
        "discount_unknown": 0,
        "recovered_revenue_net": 0,
    }
    assert [
        (p["bucket"], p["abandoned"], p["sent"], p["recovered"]) for p in confirm["series"]
    ] == [
        ("2026-11-20", 3, 3, 1),
        ("2026-11-21", 4, 0, 0),
        ("2026-11-22", 5, 2, 1),
    ]
    assert [f["flow"] for f in data["flows"]] == ["confirm", "input", "bulk:november"]
    assert data["flows"][2]["abandoned"] is None  # not applicable to a bulk mailing
    assert data["flows"][1]["recovery_rate"] == 0.5


def test_csv_output_is_one_flat_row_per_total_variant_and_day(history: History) -> None:
    result = cli(*period_args(history, "--format", "csv", "--by", "day"))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    keys = [(r["flow"], r["scope"], r["bucket"], r["step"], r["channel"]) for r in rows]
    assert keys == [
        ("confirm", "total", "", "", ""),
        ("confirm", "variant", "", "0", "email"),
        ("confirm", "variant", "", "1", "email"),
        ("confirm", "channel", "", "", "email"),
        ("confirm", "trigger", "", "", ""),
        ("confirm", "coupon", "", "", ""),
        ("confirm", "day", "2026-11-20", "", ""),
        ("confirm", "day", "2026-11-21", "", ""),
        ("confirm", "day", "2026-11-22", "", ""),
        ("input", "total", "", "", ""),
        ("input", "variant", "", "0", "email"),
        ("input", "variant", "", "0", "sms"),
        ("input", "channel", "", "", "email"),
        ("input", "channel", "", "", "sms"),
        ("input", "trigger", "", "", ""),
        ("input", "coupon", "", "", ""),
        ("input", "day", "2026-11-20", "", ""),
        ("input", "day", "2026-11-21", "", ""),
        ("input", "day", "2026-11-22", "", ""),
        ("bulk:november", "total", "", "", ""),
        ("bulk:november", "variant", "", "0", "email"),
        ("bulk:november", "channel", "", "", "email"),
        ("bulk:november", "trigger", "", "", ""),
        ("bulk:november", "coupon", "", "", ""),
        ("bulk:november", "day", "2026-11-20", "", ""),
        ("bulk:november", "day", "2026-11-21", "", ""),
        ("bulk:november", "day", "2026-11-22", "", ""),
    ]
    total = rows[0]
    rate = "recovery_rate (recovered ÷ reminded orders)"
    click_rate = "click_rate (clicked ÷ reminded orders)"
    click_to_purchase = "click_to_purchase_rate (clicked_recovered ÷ clicked orders)"
    assert {
        k: total[k]
        for k in (
            "abandoned",
            "targeted",
            "skipped",
            "skipped:no_consent",
            "skipped:purchased",
            "sent",
            "failed",
            "in_doubt",
            "retry",
            "reminded",
            "recovered",
            rate,
            "recovered_revenue",
            "recovered_by:url",
            "recovered_by:click",
            "clicks",
            "clicked",
            click_rate,
            "clicked_recovered",
            click_to_purchase,
        )
    } == {
        "abandoned": "12",
        "targeted": "7",
        "skipped": "4",
        "skipped:no_consent": "1",
        "skipped:purchased": "1",
        "sent": "5",
        "failed": "1",
        "in_doubt": "1",
        "retry": "1",
        "reminded": "4",
        "recovered": "2",
        rate: "50.0%",
        "recovered_revenue": str(5000 + AMOUNT),
        "recovered_by:url": "2",
        "recovered_by:click": "0",
        "clicks": "4",
        "clicked": "3",
        click_rate: "75.0%",
        "clicked_recovered": "2",
        click_to_purchase: "66.7%",
    }
    assert (rows[1]["abandoned"], rows[1]["skipped"]) == ("", "")  # not applicable to a step


def test_the_table_shows_the_figures_the_denominator_and_a_sparkline(history: History) -> None:
    result = cli(*period_args(history, "--format", "table", "--by", "day"))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()

    def value(label: str, after: str) -> str:
        start = next(i for i, line in enumerate(lines) if line.strip().startswith(after))
        row = next(line for line in lines[start:] if f"│ {label} " in line)
        return row.split("│")[2].strip()

    assert value("abandoned orders", "confirm flow") == "12"
    assert value("targeted (orders with a delivery)", "confirm flow") == "7"
    assert value("  skipped: purchased", "confirm flow") == "1"
    assert value("in doubt", "confirm flow") == "1"
    assert value("recovery rate (recovered ÷ reminded orders)", "confirm flow") == "50.0%"
    assert value("recovered revenue", "confirm flow") == f"¥{5000 + AMOUNT:,}"
    assert value("clicks", "confirm flow") == "4"
    assert value("  recovered by url", "confirm flow") == "2"
    assert value("click rate (clicked ÷ reminded orders)", "confirm flow") == "75.0%"
    assert (
        value("click-to-purchase rate (clicked and recovered ÷ clicked orders)", "confirm flow")
        == "66.7%"
    )
    assert value("abandoned orders", "input flow") == "3"
    assert value("abandoned orders", "bulk:november flow") == "n/a"
    trend = [line.split() for line in lines if line.startswith("  abandoned ")]
    assert trend[0][:2] == ["abandoned", "▅▇█"]  # 3, 4, 5 carts on the 20th, 21st, 22nd
    assert "cartnudge report: carts abandoned 2026-11-20 to 2026-11-22 inclusive" in lines[0]


class PageParser(HTMLParser):
    """The page's tables (as rows of cell texts, per flow section) and every src/href."""

    def __init__(self) -> None:
        super().__init__()
        self.section = ""
        self.tables: dict[str, list[list[list[str]]]] = {}
        self.links: list[str] = []
        self.cell: list[str] | None = None
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.add(tag)
        attributes = dict(attrs)
        self.links += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href")]
        if tag == "section":
            self.section = attributes.get("id") or ""
        elif tag == "table":
            self.tables.setdefault(self.section, []).append([])
        elif tag == "tr":
            self.tables[self.section][-1].append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None:
            self.tables[self.section][-1][-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def test_the_html_page_is_self_contained_with_the_figures_and_an_svg_chart(
    history: History, tmp_path: Path
) -> None:
    page_path = tmp_path / "report.html"
    result = cli(*period_args(history, "--html", str(page_path), "--lang", "en"))
    assert (result.exit_code, result.output) == (0, "")  # only the page was asked for
    page = page_path.read_text(encoding="utf-8")
    parser = PageParser()
    parser.feed(page)
    assert "svg" in parser.tags and "script" not in parser.tags
    assert not [link for link in parser.links if link.startswith(("http://", "https://", "//"))]
    assert "http://" not in page and "https://" not in page
    totals, variants, series = parser.tables["flow-confirm"]
    figures = {row[0]: row[1] for row in totals[1:]}
    assert figures == {
        "abandoned orders": "12",
        "abandoned amount": f"¥{12 * AMOUNT:,}",
        "targeted (orders with a delivery)": "7",
        "skipped (orders never reminded)": "4",
        "skipped: not_abandoned": "1",
        "skipped: fraud_result": "1",
        "skipped: purchased": "1",
        "skipped: no_consent": "1",
        "sent (messages)": "5",
        "failed": "1",
        "in doubt": "1",
        "retry pending": "1",
        "in progress": "0",
        "reminded orders (at least one sent)": "4",
        "recovered orders": "2",
        "recovered by url": "2",
        "recovery rate (recovered ÷ reminded orders)": "50.0%",
        "recovered revenue": f"¥{5000 + AMOUNT:,}",
        "clicks": "4",
        "clicked orders": "3",
        "click rate (clicked ÷ reminded orders)": "75.0%",
        "click-to-purchase rate (clicked and recovered ÷ clicked orders)": "66.7%",
    }
    assert variants[2][:10] == ["1", "email", "140003", "1", "1", "0", "0", "0", "1", "0"]
    # no --by: the page's series is by day, the period being three days
    assert [row[:3] for row in series] == [
        ["day", "abandoned", "skipped"],
        ["2026-11-20", "3", "0"],
        ["2026-11-21", "4", "2"],
        ["2026-11-22", "5", "2"],
    ]
    svg_text = page[page.index("<svg") : page.index("</svg>") + len("</svg>")]
    svg = ET.fromstring(svg_text)
    bars = [t.text for t in svg.iter("title")][1:]
    assert bars[:3] == [
        "2026-11-20: abandoned 3",
        "2026-11-20: reminded 2",
        "2026-11-20: recovered 1",
    ]


def test_an_html_file_that_cannot_be_written_is_one_line_and_exit_9(
    history: History, tmp_path: Path
) -> None:
    target = tmp_path / "missing-dir" / "report.html"
    result = CliRunner().invoke(main, ["report", *period_args(history, "--html", str(target))])
    assert result.exit_code == 9
    assert result.output.startswith(f"cartnudge: error: --html {target}: cannot write there")
    assert len(result.output.strip().splitlines()) == 1


def test_the_html_report_never_writes_through_a_symlink_or_over_a_fifo(
    history: History, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    link = tmp_path / "report.html"
    link.symlink_to(victim)
    fifo = tmp_path / "pipe.html"
    os.mkfifo(fifo)
    for target, kind in ((link, "a symbolic link"), (fifo, "a FIFO")):
        args = ["report", *period_args(history, "--html", str(target))]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 9, result.output
        assert result.output == (
            f"cartnudge: error: --html {target}: refusing to write over {kind}; "
            "give the path of a regular file or a new one\n"
        )
    assert victim.read_text(encoding="utf-8") == "precious" and link.is_symlink()
    assert fifo.is_fifo()
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
