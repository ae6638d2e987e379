"""A/B tests of a step's template and delay (SPEC 2.8): deterministic assignment per person,
every variant under every rule, a delay variant that never loses or doubles anyone, figures per
variant counted from when each shopper entered the test, a winner only when the sequential test
says so (recorded once), and ``cartnudge experiments`` / ``experiments stop NAME --keep``."""

from __future__ import annotations

import email
import json
import shutil
from datetime import datetime, timedelta
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cartnudge.app import App
from cartnudge.channels.memory import MemoryChannel
from cartnudge.cli import main
from cartnudge.config import load_config
from cartnudge.core.persons import person_key
from cartnudge.core.stats import assign
from cartnudge.errors import ConfigError
from cartnudge.operator.experiments import collect_experiments
from cartnudge.state.schema import assignments, deliveries, experiments
from cartnudge.sweep import Sweep
from tests.conftest import write_config
from tests.shop import ShopBuilder

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 22, 3, 0)  # 12:00 in Tokyo
WEIGHTS = [("A", 1.0), ("B", 1.0), ("C", 1.0)]


def key(cid: int) -> str:
    return person_key("email", f"customer{cid}@example.jp", cid)


@pytest.fixture
def ab_config(config_data: dict, tmp_path: Path) -> dict:
    """Step 0 tested three ways: A (the step: template 140001, 3h), B (template 140003, whose
    subject starts with 【B案】), C (140001 after 6h)."""
    templates = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", templates)
    b = templates / "140003"
    shutil.copytree(templates / "140001", b)
    meta = (b / "template.yaml").read_text(encoding="utf-8").replace("140001", "140003")
    (b / "template.yaml").write_text(meta, encoding="utf-8")
    subject = (b / "subject.txt.j2").read_text(encoding="utf-8")
    (b / "subject.txt.j2").write_text("【B案】" + subject, encoding="utf-8")
    config_data["templates_dir"] = str(templates)
    config_data["frequency_cap"] = {"enabled": False}
    config_data["flows"]["confirm"] = {
        "enabled": True,
        "target": "all",
        "steps": [
            {
                "delay": "3h",
                "experiment": "subject",
                "variants": [
                    {"name": "A"},
                    {"name": "B", "template": 140003},
                    {"name": "C", "delay": "6h"},
                ],
            }
        ],
    }
    return config_data


def sweep(path: Path, now: datetime) -> dict[str, str]:
    """One sweep; {recipient: subject} of what it sent."""
    app = App(load_config(path))
    channel = MemoryChannel()
    try:
        Sweep(app, channel, now=now).run()
    finally:
        app.dispose()
    return {
        e.recipient: str(make_header(decode_header(email.message_from_bytes(e.data)["Subject"])))
        for e in channel.sent
    }


def test_every_variant_follows_its_template_and_delay_and_every_rule(
    shop: ShopBuilder, ab_config: dict, tmp_path: Path
) -> None:
    customers = [shop.customer() for _ in range(45)]
    for cid in customers:
        shop.abandoned(NOW - timedelta(hours=4), customer_id=cid)
    no_consent = shop.customer(email_optin=False)
    shop.abandoned(NOW - timedelta(hours=4), customer_id=no_consent)
    path = write_config(tmp_path, ab_config)
    arm = {c: assign(key(c), "ab:confirm:subject", WEIGHTS) for c in customers}
    assert set(arm.values()) == {"A", "B", "C"}

    first = sweep(path, NOW)  # 4h after abandonment: A and B are due, C waits for 6h
    address = {c: f"customer{c}@example.jp" for c in customers}
    assert set(first) == {address[c] for c in customers if arm[c] in "AB"}
    for c in customers:
        if arm[c] == "B":
            assert first[address[c]].startswith("【B案】")
        elif arm[c] == "A":
            assert not first[address[c]].startswith("【B案】")
    # Everyone eligible entered the test now, C included (intention to treat); not the shopper
    # without consent.
    with shop.engine.connect() as conn:
        entered = {
            (int(r.customer_id), r.variant, r.assigned_at)
            for r in conn.execute(select(assignments))
        }
    assert entered == {(c, arm[c], NOW) for c in customers}

    assert sweep(path, NOW + timedelta(hours=1)) == {}  # 5h: nothing new
    late = sweep(path, NOW + timedelta(hours=2))  # 6h: C now
    assert set(late) == {address[c] for c in customers if arm[c] == "C"}
    assert sweep(path, NOW + timedelta(hours=3)) == {}  # never twice
    with shop.engine.connect() as conn:
        rows = conn.execute(select(deliveries.c.customer_id, deliveries.c.variant)).all()
    assert sorted((int(c), v) for c, v in rows) == sorted((c, arm[c]) for c in customers)


def test_variant_delays_must_keep_the_steps_in_order(ab_config: dict, tmp_path: Path) -> None:
    ab_config["flows"]["confirm"]["steps"].append({"delay": "5h"})
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, ab_config))
    assert str(caught.value).endswith(
        "flows.confirm.steps[0].variants[2].delay: must stay between the delays of the steps "
        "before and after (got 6h)"
    )


def test_figures_per_variant_count_everyone_who_entered_it(
    shop: ShopBuilder, ab_config: dict, tmp_path: Path
) -> None:
    """A C shopper who bought an hour after entering (before their 6h reminder) counts as
    recovered in C: a later reminder cannot hide the shoppers who came back before it."""
    customers = [shop.customer() for _ in range(30)]
    for cid in customers:
        shop.abandoned(NOW - timedelta(hours=4), customer_id=cid)
    path = write_config(tmp_path, ab_config)
    arm = {c: assign(key(c), "ab:confirm:subject", WEIGHTS) for c in customers}
    sweep(path, NOW)
    buyers = [c for c in customers if arm[c] == "C"][:2] + [c for c in customers if arm[c] == "B"][
        :3
    ]
    for c in buyers:
        shop.complete_purchase(c, NOW + timedelta(hours=1), amount=4000)
    sweep(path, NOW + timedelta(hours=2))  # C's buyers are skipped as purchased now
    app = App(load_config(path))
    try:
        (report,) = collect_experiments(app, NOW + timedelta(hours=3))
    finally:
        app.dispose()
    figures = {a.name: (a.persons, a.sent, a.recovered, a.revenue) for a in report.arms}
    count = {v: sum(1 for c in customers if arm[c] == v) for v in "ABC"}
    assert figures == {
        "A": (count["A"], count["A"], 0, 0),
        "B": (count["B"], count["B"], 3, 12000),
        "C": (count["C"], count["C"] - 2, 2, 8000),
    }
    assert report.state == "collecting" and report.result.still_needed > 0


def test_a_winner_is_named_once_and_stop_keeps_a_variant_for_everyone(
    sqlite_shop: ShopBuilder, ab_config: dict, tmp_path: Path
) -> None:
    """Two variants and a large planned effect (so a small sample suffices): B's shoppers all
    buy, A's do not; the sequential test names B, the decision is recorded, and stopping the
    test with --keep A sends A's template to everyone from then on."""
    shop = sqlite_shop
    ab_config["shop"]["url"] = shop.url
    ab_config["measure"] = {"baseline": "10%", "min_effect": "40%"}
    ab_config["flows"]["confirm"]["steps"][0]["variants"] = [
        {"name": "A"},
        {"name": "B", "template": 140003},
    ]
    path = write_config(tmp_path, ab_config)
    customers = [shop.customer() for _ in range(80)]
    for cid in customers:
        shop.abandoned(NOW - timedelta(hours=4), customer_id=cid)
    sweep(path, NOW)
    arm = {c: assign(key(c), "ab:confirm:subject", [("A", 1.0), ("B", 1.0)]) for c in customers}
    for c in customers:
        if arm[c] == "B":
            shop.complete_purchase(c, NOW + timedelta(hours=2), amount=3000)
    runner = CliRunner()
    listed = runner.invoke(
        main, ["experiments", "--config", str(path), "--format", "json"], catch_exceptions=False
    )
    assert listed.exit_code == 0, listed.output
    (item,) = json.loads(listed.stdout)
    assert (item["state"], item["variant"]) == ("winner", "B")
    assert [a["persons"] for a in item["arms"]] == [
        sum(1 for c in customers if arm[c] == v) for v in "AB"
    ]
    table = runner.invoke(main, ["experiments", "--config", str(path)]).stdout
    assert "subject: confirm flow, step 0: winner: B" in table
    period = ["--config", str(path), "--from", "2026-11-22", "--to", "2026-11-22"]
    data = json.loads(runner.invoke(main, ["report", *period, "--format", "json"]).stdout)
    assert [(e["experiment"], e["state"]) for e in data["experiments"]] == [("subject", "winner")]
    page = tmp_path / "report.html"
    html = ["report", *period, "--html", str(page), "--lang", "en"]
    assert runner.invoke(main, html).exit_code == 0
    assert "A/B test subject: confirm flow, step 0" in page.read_text(encoding="utf-8")

    wrong = runner.invoke(
        main, ["experiments", "--config", str(path), "stop", "subject", "--keep", "Z"]
    )
    assert wrong.exit_code == 2 and "'Z' is not a variant of subject (A, B)" in wrong.output
    stopped = runner.invoke(
        main, ["experiments", "--config", str(path), "stop", "subject", "--keep", "A"]
    )
    assert (stopped.exit_code, stopped.stdout.strip()) == (
        0,
        "subject: stopped, every shopper now gets A",
    )
    with shop.engine.connect() as conn:
        assert [(r.state, r.variant) for r in conn.execute(select(experiments))] == [
            ("stopped", "A")
        ]
    later = [shop.customer() for _ in range(10)]
    for cid in later:
        shop.abandoned(NOW + timedelta(hours=1), customer_id=cid)
    sent = sweep(path, NOW + timedelta(hours=5))
    assert len(sent) == 10 and not any(s.startswith("【B案】") for s in sent.values())


@pytest.mark.slow
def test_the_demo_shows_a_holdout_and_an_a_b_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    built = runner.invoke(main, ["demo", "--dir", "demo", "--customers", "300", "--days", "2"])
    assert built.exit_code == 0, built.output
    config = ["--config", "demo/config.yaml"]
    command = next(line for line in built.stdout.splitlines() if line.startswith("next:"))
    period = command.split(" report ", 1)[1].split()
    data = json.loads(runner.invoke(main, ["report", *period, "--format", "json"]).stdout)
    (holdout,) = data["holdouts"]
    assert holdout["holdout_share"] == 0.1
    assert holdout["reminded"]["persons"] > holdout["holdout"]["persons"] > 0
    (test,) = data["experiments"]
    assert test["experiment"] == "timing" and [a["variant"] for a in test["arms"]] == ["3h", "1h"]
    assert all(a["persons"] > 0 and a["sent"] > 0 for a in test["arms"])
    listed = runner.invoke(main, ["experiments", *config])
    assert "timing: confirm flow, step 0: collecting" in listed.stdout
    page = (tmp_path / "demo" / "report.html").read_text(encoding="utf-8")
    assert 'id="holdout-confirm"' in page and 'id="experiment-timing"' in page
