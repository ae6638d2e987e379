"""Holdout groups (SPEC 2.9): a stable, per-person share of shoppers gets nothing from a flow (or
one step), every other rule still applies to them, their would-be reminder is recorded, and the
report compares the two groups the same way (any purchase within the attribution window)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cartnudge.app import App
from cartnudge.channels.memory import MemoryChannel
from cartnudge.cli import main
from cartnudge.config import load_config
from cartnudge.core.persons import person_key
from cartnudge.core.stats import GroupCounts, compare_holdout, in_holdout
from cartnudge.errors import ConfigError
from cartnudge.operator.report import Period, collect
from cartnudge.state.schema import deliveries
from cartnudge.sweep import Sweep
from tests.conftest import write_config
from tests.shop import ShopBuilder

NOW = datetime(2026, 11, 22, 3, 0)  # 12:00 in Tokyo
SALT = "holdout:confirm:1"


def key(cid: int) -> str:
    return person_key("email", f"customer{cid}@example.jp", cid)


def sweep(config_path: Path, now: datetime) -> tuple:
    app = App(load_config(config_path))
    channel = MemoryChannel()
    try:
        summary = Sweep(app, channel, now=now).run()
    finally:
        app.dispose()
    return summary, {e.recipient for e in channel.sent}


def rows(shop: ShopBuilder) -> list[tuple]:
    d = deliveries.c
    with shop.engine.connect() as conn:
        stmt = select(d.customer_id, d.step, d.status, d.sent_at, d.error).order_by(d.id)
        return [tuple(r) for r in conn.execute(stmt)]


def test_holdout_shoppers_get_nothing_and_are_recorded_when_they_would_have_been_reminded(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    """40 shoppers, a 30 % holdout: exactly those in_holdout says are held out, the others get
    one message; a shopper without consent is skipped whatever their group; a later sweep
    sends and records nothing again (a held-out step is done for good)."""
    config_data["flows"]["confirm"]["holdout"] = "30%"
    customers = [shop.customer() for _ in range(40)]
    for cid in customers:
        shop.abandoned(NOW - timedelta(hours=4), customer_id=cid)
    no_consent = shop.customer(email_optin=False)
    shop.abandoned(NOW - timedelta(hours=4), customer_id=no_consent)
    path = write_config(tmp_path, config_data)

    summary, sent = sweep(path, NOW)
    held = {c for c in customers if in_holdout(key(c), SALT, 0.3)}
    assert 0 < len(held) < 40
    assert sent == {f"customer{c}@example.jp" for c in customers if c not in held}
    assert (summary.sent, summary.held_out, summary.skipped["no_consent"]) == (
        40 - len(held),
        len(held),
        1,
    )
    recorded = rows(shop)
    assert sorted(int(r[0]) for r in recorded if r[2] == "held_out") == sorted(held)
    assert {(r[1], r[3], r[4]) for r in recorded if r[2] == "held_out"} == {
        (0, NOW, "holdout: flow")
    }

    again, sent_again = sweep(path, NOW + timedelta(hours=1))
    assert (again.sent, again.held_out, sent_again) == (0, 0, set())
    assert len(rows(shop)) == 40


def test_a_step_holdout_skips_only_that_step_and_a_flow_holdout_every_step(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    config_data["flows"]["confirm"] = {
        "enabled": True,
        "target": "all",
        "holdout": "20%",
        "steps": [{"delay": "1h"}, {"delay": "3h", "holdout": "50%"}],
    }
    customers = [shop.customer() for _ in range(30)]
    for cid in customers:
        shop.abandoned(NOW - timedelta(hours=2), customer_id=cid)
    path = write_config(tmp_path, config_data)
    config_data["frequency_cap"] = {"enabled": False}
    path = write_config(tmp_path, config_data)
    sweep(path, NOW)  # step 0 due
    sweep(path, NOW + timedelta(hours=1, minutes=30))  # step 1 due
    flow_held = {c for c in customers if in_holdout(key(c), SALT, 0.2)}
    step_held = {
        c for c in customers if c not in flow_held and in_holdout(key(c), SALT + ":step1", 0.5)
    }
    assert flow_held and step_held
    expected = set()
    for c in customers:
        for step in (0, 1):
            if c in flow_held:
                expected.add((c, step, "held_out", "holdout: flow"))
            elif step == 1 and c in step_held:
                expected.add((c, step, "held_out", "holdout: step"))
            else:
                expected.add((c, step, "sent", None))
    found = {(int(r[0]), r[1], r[2], r[4] if r[2] == "held_out" else None) for r in rows(shop)}
    assert found == expected


def test_the_assignment_is_stable_and_a_new_name_draws_a_new_holdout(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    config_data["flows"]["confirm"].update(holdout="50%", holdout_name="2026-12")
    app = App(load_config(write_config(tmp_path, config_data)))
    plan = app.config.holdouts["confirm"]
    assert plan.salt == "holdout:confirm:2026-12"
    keys = [key(c) for c in range(200)]
    first = [plan.level(k, 0) for k in keys]
    assert first == [plan.level(k, 0) for k in keys]  # the same answer every time
    assert first != [in_holdout(k, SALT, 0.5) and "flow" or None for k in keys]
    assert 70 < first.count("flow") < 130


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("100%", "flows.confirm.holdout: must be from 0% to below 100% (got '100%')"),
        ("ten", "flows.confirm.holdout: write a share as 10% or 0.1 (got 'ten')"),
    ],
)
def test_a_bad_holdout_share_is_a_configuration_error(
    value: str, message: str, config_data: dict, tmp_path: Path
) -> None:
    config_data["flows"]["confirm"]["holdout"] = value
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, config_data))
    assert str(caught.value).endswith(message)


@pytest.fixture
def lift_history(shop: ShopBuilder, config_data: dict, tmp_path: Path) -> tuple:
    """60 shoppers abandon on 2026-11-22 (Tokyo), a 40 % holdout, a sweep at 12:00 Tokyo. Then
    purchases without any link: every third reminded shopper within a day, every fourth
    holdout shopper within a day; one reminded shopper buys 5 days later (outside the 3-day
    window) and one holdout shopper bought before the reminder would have gone (not counted:
    the re-check before sending keeps such shoppers out of both groups)."""
    config_data["flows"]["confirm"]["holdout"] = "40%"
    config_data["recovery"]["attribution_window"] = "3d"
    customers = [shop.customer() for _ in range(60)]
    for cid in customers:
        shop.abandoned(NOW - timedelta(hours=4), customer_id=cid)
    path = write_config(tmp_path, config_data)
    sweep(path, NOW)
    held = [c for c in customers if in_holdout(key(c), SALT, 0.4)]
    reminded = [c for c in customers if c not in held]
    bought_r = reminded[::3]
    bought_h = held[::4]
    for c in bought_r:
        shop.complete_purchase(c, NOW + timedelta(hours=5), amount=5000)
    for c in bought_h:
        shop.complete_purchase(c, NOW + timedelta(hours=20), amount=3000)
    late = next(c for c in reminded if c not in bought_r)
    shop.complete_purchase(late, NOW + timedelta(days=5), amount=9999)
    return path, reminded, held, bought_r, bought_h


def test_the_report_compares_reminded_and_holdout_shoppers_the_same_way(
    lift_history: tuple,
) -> None:
    path, reminded, held, bought_r, bought_h = lift_history
    app = App(load_config(path))
    try:
        report = collect(app, Period(date(2026, 11, 22), date(2026, 11, 22), app.config.tz))
    finally:
        app.dispose()
    (lift,) = report.holdouts
    expected_r = GroupCounts(
        len(reminded), len(bought_r), 5000 * len(bought_r), 5000**2 * len(bought_r)
    )
    expected_h = GroupCounts(
        len(held), len(bought_h), 3000 * len(bought_h), 3000**2 * len(bought_h)
    )
    assert (lift.flow, lift.step, lift.share) == ("confirm", None, 0.4)
    assert (lift.reminded, lift.holdout) == (expected_r, expected_h)
    assert lift.comparison == compare_holdout(
        expected_r, expected_h, min_effect=0.02, holdout_share=0.4
    )
    c = lift.comparison
    assert c.verdict.value == "not_enough_data" and c.still_needed.control > 0
    assert c.lift == pytest.approx(len(bought_r) / len(reminded) - len(bought_h) / len(held))
    # the ordinary figures leave the holdout out: targeted and reminded are the reminded only
    totals = report.flow("confirm").totals
    assert (totals.targeted, totals.reminded, totals.sent) == (len(reminded),) * 3


def test_the_holdout_appears_in_every_output_with_a_chart_of_both_rates(
    lift_history: tuple, tmp_path: Path
) -> None:
    path, reminded, held, bought_r, bought_h = lift_history
    base = ["report", "--config", str(path), "--from", "2026-11-22", "--to", "2026-11-22"]
    runner = CliRunner()
    data = json.loads(runner.invoke(main, [*base, "--format", "json"]).stdout)
    (item,) = data["holdouts"]
    assert item["reminded"]["persons"] == len(reminded)
    assert item["holdout"] == {
        "persons": len(held),
        "recovered": len(bought_h),
        "revenue": 3000 * len(bought_h),
    }
    assert item["verdict"] == "not_enough_data" and item["needed"]["control"] > len(held)
    assert set(item["lift_ci"]) == {"low", "high"}

    table = runner.invoke(main, [*base, "--format", "table"]).stdout
    assert "confirm flow: reminded vs holdout (40% held out)" in table
    assert "not enough data yet" in table and "still needed" in table

    rows = list(csv.DictReader(io.StringIO(runner.invoke(main, [*base, "--format", "csv"]).stdout)))
    holdout_row = next(r for r in rows if r["scope"] == "holdout")
    assert holdout_row["holdout_persons"] == str(len(held))
    assert holdout_row["verdict"] == "not_enough_data"

    page = tmp_path / "report.html"
    assert runner.invoke(main, [*base, "--html", str(page), "--lang", "en"]).exit_code == 0
    html = page.read_text(encoding="utf-8")
    section = html[html.index('id="holdout-confirm"') :]
    assert "<polyline" in section or "<circle" in section
    assert "reminded rate" in section and "holdout rate" in section
    assert f"2026-11-22: holdout {len(bought_h) / len(held) * 100:.1f}%" in section
