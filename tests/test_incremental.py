"""Incremental sweeps (issue 14, point 1): a sweep reads only what can have changed since the
last one, and sends exactly what a full sweep would have sent, at the same sweep.

The core is a differential property test: one random shop (carts abandoned, shoppers coming
back, purchases arriving, rows committed up to ``sweep.overlap`` after the time they carry),
random sweep times (seconds apart, hourly, missed runs, days apart) and configuration changes
(delays shortened or lengthened, steps added); at each sweep time an incremental sweep on one
state database and a full sweep (``--full``) on another must send the same (order, flow,
step, episode, channel) set, each at most once. Then an example per read reason.
"""

from __future__ import annotations

import copy
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from cartnudge import bundled
from cartnudge.app import App
from cartnudge.channels.memory import MemoryChannel
from cartnudge.config import load_config
from cartnudge.core import incremental as inc
from cartnudge.core.rules import Decision, Kind
from cartnudge.demo.schema import customers, orders
from cartnudge.engines import build_engine
from cartnudge.state.schema import deliveries, revisits
from cartnudge.state.store import migrate
from cartnudge.sweep import Sweep
from tests.conftest import base_config, clean_database, write_config
from tests.shop import ShopBuilder

T0 = datetime(2026, 11, 22, 0, 0)
H = timedelta(hours=1)
M = timedelta(minutes=1)
OVERLAP = 10 * M


# -- the pure plan ------------------------------------------------------------------------------


def past(now: datetime, status: str = "ok", full: bool = True, fp: str | None = "f") -> Any:
    return inc.PastSweep(now, status, full, fp)


def plan(now: datetime, history: list, **kw: Any) -> inc.ReadPlan:
    args: dict[str, Any] = dict(
        delays=[3 * H, 5 * H],
        window=24 * H,
        history=history,
        fingerprint="f",
        full_every=6 * H,
        overlap=OVERLAP,
    )
    args.update(kw)
    return inc.plan_reads(now, **args)


def test_the_plan_is_incremental_after_a_completed_sweep_with_the_same_flows() -> None:
    p = plan(T0 + H, [past(T0)])
    assert (p.full, p.reason, p.previous_now) == (False, inc.INCREMENTAL, T0)
    since = T0 - OVERLAP
    # (a) per delay: abandoned in (prev - d - overlap, now - d]; (b), (c) after prev - overlap.
    assert p.due_ranges == ((since - 5 * H, T0 + H - 5 * H), (since - 3 * H, T0 + H - 3 * H))
    assert (p.active_after, p.updated_after, p.revisit_until) == (since, since, T0 + H)
    assert (p.due_before, p.active_since) == (T0 + H - 3 * H, T0 + H - 24 * H)


@pytest.mark.parametrize(
    ("history", "kw", "reason"),
    [
        ([past(T0)], {"force_full": True}, inc.FORCED),
        ([], {}, inc.FIRST),
        ([past(T0, status="error")], {}, inc.FIRST),  # never completed
        ([past(T0, full=False)], {}, inc.FIRST),  # no full sweep on record
        ([past(T0 + 2 * H)], {}, inc.CLOCK),  # a replay of the past
        ([past(T0, fp="g")], {}, inc.CHANGED),
        ([past(T0, status="died", fp="g"), past(T0 - H)], {}, inc.INTERRUPTED),
        ([past(T0, full=False), past(T0 - 5 * H)], {}, inc.PERIODIC),  # 6h since the full one
        ([past(T0)], {"has_triggers": True}, inc.TRIGGERS),
        ([past(T0)], {"buckets": True}, inc.BUCKETS),  # several sweepers: each bucket in full
    ],
)
def test_the_plan_is_full_when_it_must_be(history: list, kw: dict, reason: str) -> None:
    p = plan(T0 + H, history, **kw)
    assert (p.full, p.reason, p.due_ranges, p.revisit_until) == (True, reason, (), None)


def test_an_interrupted_sweep_with_the_same_flows_keeps_the_sweep_incremental() -> None:
    p = plan(T0 + H, [past(T0 + 30 * M, status="died", full=False), past(T0)])
    assert (p.full, p.previous_now) == (False, T0)  # read from the last completed one


def test_ranges_of_delays_that_overlap_are_merged_and_empty_ones_dropped() -> None:
    a, b = T0, T0 + H
    assert inc.merge_ranges([(a, b), (a + 30 * M, b + H), (b + 2 * H, b + 3 * H), (b, b)]) == (
        (a, b + H),
        (b + 2 * H, b + 3 * H),
    )


def test_the_revisit_is_the_earliest_wait_or_the_next_sweep_for_a_send() -> None:
    wait = Decision(Kind.WAIT, step=1, due_at=T0 + 5 * H)
    quiet = Decision(Kind.WAIT, step=0, due_at=T0 + 2 * H)
    trigger = Decision(Kind.WAIT, step=2, due_at=None)
    assert inc.revisit_time([wait, quiet, trigger], T0) == T0 + 2 * H
    assert inc.revisit_time([wait, Decision(Kind.SEND, step=0)], T0) == T0
    assert inc.revisit_time([trigger, Decision(Kind.SKIP)], T0) is None


def test_the_fingerprint_is_the_same_for_equal_parts_in_any_order() -> None:
    one = inc.fingerprint({"a": [1, 2], "b": {"x": 1, "y": "3h"}})
    assert one == inc.fingerprint({"b": {"y": "3h", "x": 1}, "a": [1, 2]})
    assert one != inc.fingerprint({"a": [1, 2], "b": {"x": 1, "y": "4h"}})


# -- the differential property --------------------------------------------------------------


class Pair:
    """One shop, two state databases: ``inc`` sweeps as cron would (incremental when it can),
    ``full`` always reads everything. Apps are rebuilt whenever the configuration changes."""

    def __init__(self, shop: ShopBuilder, tmp_path: Path, inc_state: str, full_state: str):
        self.shop, self.tmp_path = shop, tmp_path
        self.states = {"inc": inc_state, "full": full_state}
        self.apps: dict[str, App] = {}
        self.channels = {"inc": MemoryChannel(), "full": MemoryChannel()}
        self.version = 0

    def configure(self, data: dict, full_every: str) -> None:
        self.close()
        self.version += 1
        for name, url in self.states.items():
            own = copy.deepcopy(data)
            own["state"] = {"url": url}
            own["sweep"] = dict(own.get("sweep", {}), full_every=full_every, overlap="10m")
            path = write_config(self.tmp_path, own, name=f"{name}{self.version}.yaml")
            self.apps[name] = App(load_config(path))

    def sweep(self, name: str, now: datetime) -> Any:
        return Sweep(self.apps[name], self.channels[name], now=now, full=name == "full").run()

    def sent(self, name: str) -> set[tuple]:
        d = deliveries.c
        stmt = select(d.order_id, d.flow, d.step, d.episode, d.channel).where(d.status == "sent")
        with self.apps[name].state_engine.connect() as conn:
            return {tuple(r) for r in conn.execute(stmt)}

    def close(self) -> None:
        for app in self.apps.values():
            app.dispose()
        self.apps = {}


GAPS = st.sampled_from(
    [timedelta(seconds=5), 10 * M, 50 * M, H, H, H, 3 * H, 7 * H, 26 * H, 3 * 24 * H]
)
DELAYS = st.lists(st.integers(1, 20), min_size=1, max_size=3, unique=True).map(sorted)


@st.composite
def scenarios(draw: Any) -> dict:
    n_sweeps = draw(st.integers(2, 7))
    gaps = [draw(GAPS) for _ in range(n_sweeps - 1)]
    times = [T0]
    for g in gaps:
        times.append(times[-1] + g)
    end = times[-1]
    span = max(1, int((end - (T0 - 30 * H)).total_seconds() // 60))
    events = []
    for _ in range(draw(st.integers(1, 12))):
        at = T0 - 30 * H + draw(st.integers(0, span)) * M
        lag = draw(st.sampled_from([timedelta(0), 2 * M, 9 * M]))  # committed late by this
        kind = draw(st.sampled_from(["cart", "cart", "cart", "touch", "purchase"]))
        events.append((at, kind, lag, draw(st.booleans()), draw(st.integers(0, 100))))
    configs = {0: draw(DELAYS)}
    if draw(st.booleans()):  # the operator edits the delays before some sweep
        configs[draw(st.integers(1, n_sweeps - 1))] = draw(DELAYS)
    return dict(
        times=times,
        events=sorted(events, key=lambda e: e[0]),
        configs=configs,
        ttl=draw(st.sampled_from([1440, "unlimited"])),
        quiet=draw(st.sampled_from([None, "09:00-21:00"])),
        full_every=draw(st.sampled_from(["30d", "30d", "6h"])),
    )


def config_for(shop: ShopBuilder, tmp_path: Path, s: dict, delays: list[int]) -> dict:
    data = base_config(shop.url, tmp_path)
    data["shop"]["cart_ttl"] = s["ttl"]
    data["flows"]["confirm"] = {
        "enabled": True,
        "target": "all",
        "resend_after": "5h",
        "steps": [{"delay": f"{d}h"} for d in delays],
    }
    data["quiet_hours"] = {"email": s["quiet"]}
    return data


def apply_event(shop: ShopBuilder, carts: list[int], event: tuple) -> None:
    at, kind, lag, flag, pick = event
    row_time = at - lag
    if kind == "cart" or not carts:
        carts.append(shop.abandoned(row_time, email_optin=flag or pick % 3 != 0))
    elif kind == "touch":
        order = carts[pick % len(carts)]
        with shop.engine.begin() as conn:
            conn.execute(
                update(orders)
                .where(orders.c.id == order, orders.c.last_activity_at < row_time)
                .values(last_activity_at=row_time)
            )
    else:
        shop.complete_purchase(shop.customer_of(carts[pick % len(carts)]), row_time)


def run_differential(shop: ShopBuilder, tmp_path: Path, full_state: str, s: dict) -> None:
    """The property: at every sweep, the incremental sweep sends what the full one sends."""
    pair = Pair(shop, tmp_path, shop.url, full_state)
    carts: list[int] = []
    events = list(s["events"])
    before = {"inc": set(), "full": set()}
    previous: datetime | None = None
    last_full: datetime | None = None
    try:
        delays = None
        for i, now in enumerate(s["times"]):
            changed = i in s["configs"] and s["configs"][i] != delays
            if i in s["configs"]:
                delays = s["configs"][i]
                pair.configure(config_for(shop, tmp_path, s, s["configs"][i]), s["full_every"])
            while events and events[0][0] <= now:
                apply_event(shop, carts, events.pop(0))
            got = {name: pair.sweep(name, now) for name in ("inc", "full")}
            sent = {name: pair.sent(name) for name in ("inc", "full")}
            new = {name: sent[name] - before[name] for name in sent}
            assert new["inc"] == new["full"], (i, now, got["inc"].mode, got["inc"].mode_reason)
            # Never twice: one message per delivery row, each row sent once.
            for name in sent:
                assert len(pair.channels[name].sent) == len(sent[name])
            # Never more read than the full sweep's window holds.
            assert got["inc"].candidates <= got["full"].candidates
            # Not vacuous: the sweep is incremental whenever nothing calls for a full one.
            every = timedelta(days=30) if s["full_every"] == "30d" else 6 * H
            expect_full = previous is None or (i > 0 and changed) or now - last_full >= every
            assert got["inc"].mode == ("full" if expect_full else "incremental")
            if expect_full:
                last_full = now
            previous = now
            before = sent
    finally:
        pair.close()


def differential(shop_url: str, tmp_path: Path, s: dict) -> None:
    """The shop (and the incremental sweep's state) at ``shop_url``, the full sweep's state in
    a SQLite file of its own; then :func:`run_differential`."""
    shop = ShopBuilder.create(shop_url)
    full_state = f"sqlite:///{tmp_path / 'full.db'}"
    engine = build_engine(full_state, writer=True)
    migrate(engine)
    engine.dispose()
    try:
        run_differential(shop, tmp_path, full_state, s)
    finally:
        shop.dispose()


# Each example is a dozen sweeps on two state databases: the CI profile (25 examples) would
# take minutes, so CI runs fewer here; `HYPOTHESIS_PROFILE=deep` runs the profile's count.
_PROFILE_EXAMPLES = settings.default.max_examples
SQLITE_EXAMPLES = 15 if _PROFILE_EXAMPLES <= 100 else _PROFILE_EXAMPLES
SERVER_EXAMPLES = 4 if _PROFILE_EXAMPLES <= 100 else _PROFILE_EXAMPLES // 10


@settings(
    max_examples=SQLITE_EXAMPLES,
    deadline=None,  # an example is a dozen sweeps: far over Hypothesis's default 200 ms
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(s=scenarios())
def test_incremental_sweeps_send_exactly_what_full_sweeps_send_on_sqlite(
    tmp_path_factory: pytest.TempPathFactory, s: dict
) -> None:
    tmp_path = tmp_path_factory.mktemp("diff")
    differential(f"sqlite:///{tmp_path / 'shop.db'}", tmp_path, s)


@pytest.mark.parametrize(
    "backend",
    [
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ],
)
@settings(
    max_examples=SERVER_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(s=scenarios())
def test_incremental_sweeps_send_exactly_what_full_sweeps_send_on_a_server(
    backend: str, tmp_path_factory: pytest.TempPathFactory, s: dict
) -> None:
    """The shop and the incremental sweep's state on the server (its SQL wrappers, its
    revisits table), the full sweep's state in SQLite."""
    tmp_path = tmp_path_factory.mktemp("diff")
    differential(clean_database(backend, tmp_path), tmp_path, s)


# -- examples: each read reason ---------------------------------------------------------------


def app_for(shop: ShopBuilder, tmp_path: Path, **flow: Any) -> App:
    data = base_config(shop.url, tmp_path)
    data["flows"]["confirm"].update(flow)
    data.setdefault("sweep", {})["full_every"] = "30d"
    return App(load_config(write_config(tmp_path, data)))


def run(app: App, now: datetime, full: bool = False) -> Any:
    return Sweep(app, MemoryChannel(), now=now, full=full).run()


def test_a_cart_newly_due_is_read_and_sent_and_the_old_ones_are_not_read(
    shop: ShopBuilder, tmp_path: Path
) -> None:
    old = [shop.abandoned(T0 - 10 * H) for _ in range(3)]
    app = app_for(shop, tmp_path)
    first = run(app, T0)
    due = shop.abandoned(T0 - 150 * M)  # due for the 3h step at T0 + 30 min
    second = run(app, T0 + H)
    app.dispose()
    assert (first.mode, first.sent, len(old)) == ("full", 3, 3)
    assert (second.mode, second.mode_reason) == ("incremental", inc.INCREMENTAL)
    assert (second.candidates, second.sent, second.shop_rows_read) == (1, 1, 1)
    assert due


def test_a_changed_delay_is_a_full_sweep_that_neither_loses_nor_doubles_anyone(
    shop: ShopBuilder, tmp_path: Path
) -> None:
    shop.abandoned(T0 - 4 * H)  # due under 3h, sent at T0
    late = shop.abandoned(T0 - 150 * M)  # 3h after it: due at T0 + 30 min; under 2h, now
    app = app_for(shop, tmp_path)
    first = run(app, T0)
    app.dispose()
    app = app_for(shop, tmp_path, delay="2h")
    second = run(app, T0 + 5 * M)
    third = run(app, T0 + 10 * M)
    app.dispose()
    assert (first.sent, second.sent, third.sent) == (1, 1, 0)
    assert (second.mode, second.mode_reason) == ("full", inc.CHANGED)
    assert third.mode == "incremental"
    assert late


def test_new_activity_is_read(shop: ShopBuilder, tmp_path: Path) -> None:
    """(b): unlimited validity, a shopper back 5h after the reminder: a new episode."""
    data = base_config(shop.url, tmp_path)
    data["shop"]["cart_ttl"] = "unlimited"
    data["flows"]["confirm"].update(resend_after="5h")
    data["sweep"]["full_every"] = "30d"
    data["frequency_cap"] = {"enabled": False}
    app = App(load_config(write_config(tmp_path, data)))
    order = shop.abandoned(T0 - 4 * H)
    assert run(app, T0).sent == 1
    shop.touch(order, T0 + 6 * H)
    back = run(app, T0 + 7 * H)  # read (active since), waits for the new episode's 3h
    quiet = run(app, T0 + 8 * H)  # nothing new: reads nothing
    again = run(app, T0 + 9 * H + 5 * M)  # the episode's step is due: read by its revisit
    app.dispose()
    assert (back.mode, back.candidates, back.sent, back.waiting) == ("incremental", 1, 0, 1)
    assert (quiet.candidates, again.candidates, again.sent) == (0, 1, 1)


def test_an_updated_at_column_reads_a_row_changed_without_a_new_activity_time(
    shop: ShopBuilder, tmp_path: Path
) -> None:
    """(c): consent given in place; with updated_at in abandoned.sql the next sweep sees it,
    without it only the next full sweep does."""
    sql = tmp_path / "sql"
    shutil.copytree(bundled.sql_dir(), sql)
    body = (sql / "abandoned.sql").read_text("utf-8")
    with_updated = body.replace(
        "o.last_activity_at AS last_activity_at,",
        "o.last_activity_at AS last_activity_at,\n  c.created_at AS updated_at,",
    )
    assert with_updated != body
    order = shop.abandoned(T0 - 10 * H, email_optin=False)
    customer = shop.customer_of(order)
    results = {}
    for name, text in (("with", with_updated), ("without", body)):
        (sql / "abandoned.sql").write_text(text, encoding="utf-8")
        data = base_config(shop.url, tmp_path)
        data["shop"]["sql_dir"] = str(sql)
        data["state"] = {"url": f"sqlite:///{tmp_path / (name + '.db')}"}
        data["sweep"]["full_every"] = "30d"
        engine = build_engine(data["state"]["url"], writer=True)
        migrate(engine)
        engine.dispose()
        with shop.engine.begin() as conn:
            conn.execute(
                update(customers)
                .where(customers.c.id == customer)
                .values(email_optin=False, created_at=datetime(2026, 1, 1))
            )
        app = App(load_config(write_config(tmp_path, data, name=f"{name}.yaml")))
        first = run(app, T0)
        with shop.engine.begin() as conn:
            conn.execute(
                update(customers)
                .where(customers.c.id == customer)
                .values(email_optin=True, created_at=T0 + 30 * M)
            )
        second = run(app, T0 + H)
        third = run(app, T0 + 2 * H, full=True)
        app.dispose()
        results[name] = (first.sent, second.sent, third.sent)
    assert results == {"with": (0, 1, 0), "without": (0, 0, 1)}


def test_a_reminder_deferred_by_quiet_hours_is_read_again_when_they_end(
    shop: ShopBuilder, tmp_path: Path
) -> None:
    """(d): 22:00 in Tokyo is outside 09:00-21:00: the revisit is at 09:00 the next day."""
    data = base_config(shop.url, tmp_path)
    data["quiet_hours"] = {"email": "09:00-21:00"}
    data["sweep"]["full_every"] = "30d"
    app = App(load_config(write_config(tmp_path, data)))
    night = datetime(2026, 11, 22, 13, 0)  # 22:00 JST
    shop.abandoned(night - 4 * H)
    first = run(app, night)
    with app.state_engine.connect() as conn:
        stored = conn.execute(select(revisits.c.revisit_at)).scalars().all()
    between = run(app, night + 5 * H)
    morning = run(app, night + 11 * H)  # 09:00 JST
    app.dispose()
    assert (first.sent, first.deferred) == (0, {"quiet_hours": 1})
    assert stored == [datetime(2026, 11, 23, 0, 0)]
    assert (between.mode, between.candidates, morning.candidates, morning.sent) == (
        "incremental",
        0,
        1,
        1,
    )


def test_a_temporary_failure_is_read_again_by_the_next_sweep(
    shop: ShopBuilder, tmp_path: Path
) -> None:
    """(d): a retry is revisited at the next sweep, whatever its times."""
    from cartnudge.channels.base import Result, SendResult

    class Flaky(MemoryChannel):
        fail = True

        def send(self, batch: Any) -> list[SendResult]:
            if self.fail:
                return [SendResult(e.delivery_id, Result.TEMPORARY, "421 try later") for e in batch]
            return super().send(batch)

    shop.abandoned(T0 - 4 * H)
    app = app_for(shop, tmp_path)
    channel = Flaky()
    first = Sweep(app, channel, now=T0).run()
    channel.fail = False
    second = Sweep(app, channel, now=T0 + H).run()
    third = Sweep(app, channel, now=T0 + 2 * H).run()
    app.dispose()
    assert (first.retry_later, second.mode, second.candidates, second.sent) == (
        1,
        "incremental",
        1,
        1,
    )
    assert (third.candidates, len(channel.sent)) == (0, 1)


def test_a_revisited_order_gone_from_the_window_is_forgotten(
    shop: ShopBuilder, tmp_path: Path
) -> None:
    data = base_config(shop.url, tmp_path)
    data["quiet_hours"] = {"email": "09:00-21:00"}
    data["sweep"]["full_every"] = "30d"
    app = App(load_config(write_config(tmp_path, data)))
    night = datetime(2026, 11, 22, 13, 0)
    order = shop.abandoned(night - 4 * H)
    run(app, night)
    with shop.engine.begin() as conn:  # bought: no longer in abandoned state
        conn.execute(update(orders).where(orders.c.id == order).values(state="completed"))
    morning = run(app, night + 11 * H)
    with app.state_engine.connect() as conn:
        left = conn.execute(select(revisits.c.order_id)).scalars().all()
    app.dispose()
    assert (morning.candidates, morning.sent, left) == (0, 0, [])


def test_a_row_committed_late_within_the_overlap_is_still_reminded(
    shop: ShopBuilder, tmp_path: Path
) -> None:
    app = app_for(shop, tmp_path)
    shop.abandoned(T0 - 10 * H)
    run(app, T0)
    # Committed after the T0 sweep, but its times say T0 - 3h - 8 min: due then already.
    late = shop.abandoned(T0 - 3 * H - 8 * M)
    # And one committed later than the overlap allows: only a full sweep finds it.
    too_late = shop.abandoned(T0 - 3 * H - 20 * M)
    second = run(app, T0 + 5 * M)
    third = run(app, T0 + 10 * M, full=True)
    app.dispose()
    assert (second.mode, second.sent, third.sent) == ("incremental", 1, 1)
    assert late and too_late


def test_full_every_makes_a_full_sweep_and_full_forces_one(
    shop: ShopBuilder, tmp_path: Path
) -> None:
    data = base_config(shop.url, tmp_path)
    data["sweep"]["full_every"] = "6h"
    app = App(load_config(write_config(tmp_path, data)))
    shop.abandoned(T0 - 10 * H)
    modes = [(s.mode, s.mode_reason) for s in (run(app, T0 + h * H) for h in range(8))]
    forced = run(app, T0 + 8 * H, full=True)
    app.dispose()
    assert modes == [("full", inc.FIRST)] + [("incremental", inc.INCREMENTAL)] * 5 + [
        ("full", inc.PERIODIC),
        ("incremental", inc.INCREMENTAL),
    ]
    assert (forced.mode, forced.mode_reason) == ("full", inc.FORCED)


def test_trigger_steps_make_every_sweep_full(shop: ShopBuilder, tmp_path: Path) -> None:
    app = app_for(
        shop,
        tmp_path,
        delay=None,
        steps=[{"delay": "1h"}, {"trigger": {"price_drop": "10%"}}],
    )
    if not app.contract.has("product_status"):
        app.dispose()
        pytest.skip("the bundled contract has no product_status.sql")
    shop.abandoned(T0 - 10 * H)
    first, second = run(app, T0), run(app, T0 + H)
    app.dispose()
    assert (first.mode, second.mode, second.mode_reason) == ("full", "full", inc.TRIGGERS)


def test_strays_are_read_by_full_sweeps_only(shop: ShopBuilder, tmp_path: Path) -> None:
    """(e): a row with a NULL abandoned_at is a skip (invalid_time), never a reminder: full
    sweeps count it, incremental ones do not read it."""
    app = app_for(shop, tmp_path)
    order = shop.abandoned(T0 - 10 * H)
    with shop.engine.begin() as conn:
        conn.execute(update(orders).where(orders.c.id == order).values(abandoned_at=None))
    first, second = run(app, T0), run(app, T0 + H)
    app.dispose()
    assert first.skipped == {"invalid_time": 1}
    assert (second.mode, second.candidates, second.skipped) == ("incremental", 0, {})


def test_the_summary_says_the_mode_why_and_the_rows_read(shop: ShopBuilder, tmp_path: Path) -> None:
    app = app_for(shop, tmp_path)
    shop.abandoned(T0 - 10 * H)
    first, second = run(app, T0).to_dict(), run(app, T0 + H).to_dict()
    with app.state_engine.connect() as conn:
        from cartnudge.state.schema import runs

        # by the sweep's time: MariaDB keeps started_at to the second, so two quick runs tie
        recorded = conn.execute(select(runs.c.mode).order_by(runs.c.now)).scalars().all()
    app.dispose()
    assert (first["mode"], first["mode_reason"], first["shop_rows_read"]) == (
        "full",
        inc.FIRST,
        1,
    )
    assert (second["mode"], second["mode_reason"], second["shop_rows_read"]) == (
        "incremental",
        inc.INCREMENTAL,
        0,
    )
    assert recorded == ["full", "incremental"]
