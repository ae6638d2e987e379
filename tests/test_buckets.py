"""Several sweepers divide the work (issue 14, point 6; README, "Several sweepers").

The candidates are split into ``sweep.buckets`` buckets by a hash of the order id, computed by
the shop's database in the page queries and equal to cartnudge.core.buckets.bucket_hash in
Python; sweepers sharing one state take the buckets one at a time with a conditional UPDATE.
Proven here on SQLite, PostgreSQL and MariaDB with sweepers as real OS processes
(tests/sweeper_process.py): every due reminder sent exactly once, every bucket swept once per
round, a killed sweeper's bucket taken over once its lease is over.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from cartnudge import bundled
from cartnudge.app import App
from cartnudge.config import load_config
from cartnudge.core.buckets import (
    RECOVERIES_JOB,
    bucket_free,
    bucket_hash,
    bucket_of,
    buckets_left,
    round_start,
    try_order,
)
from cartnudge.shop.contract import BUCKET_HASH
from cartnudge.shop.reader import RowProblem
from cartnudge.state.schema import runs, sweep_buckets
from cartnudge.sweep import Sweep
from tests.conftest import write_config
from tests.shop import ShopBuilder
from tests.test_idempotency import (
    AFTER_LEASE,
    assert_no_duplicate_rows,
    due_carts,
    finish,
    outbox,
    rows,
    spawn,
)

NOW = datetime(2026, 11, 22, 12, 0)
BUCKETS = 8

# -- the pure part ------------------------------------------------------------------------------


def test_the_hash_is_the_first_32_bits_of_the_md5_of_the_ids_text() -> None:
    # md5("123") = 202cb962ac59075b964b07152d234b70
    assert bucket_hash(123) == bucket_hash("123") == 0x202CB962
    assert bucket_hash(b"123") == 0x202CB962
    assert bucket_hash(None) is None
    assert bucket_of(123, 7) == 0x202CB962 % 7
    assert bucket_of("注文-1", 1) == 0
    with pytest.raises(ValueError):
        bucket_of(1, 0)


def test_ids_spread_over_every_bucket_about_evenly() -> None:
    counts = Counter(bucket_of(i, 16) for i in range(1, 16_001))
    assert sorted(counts) == list(range(16))
    assert min(counts.values()) > 800 and max(counts.values()) < 1200


def test_rounds_are_the_same_on_every_host_and_cut_at_the_interval() -> None:
    hour = timedelta(hours=1)
    assert round_start(datetime(2026, 11, 22, 12, 0), hour) == datetime(2026, 11, 22, 12, 0)
    assert round_start(datetime(2026, 11, 22, 12, 59, 59), hour) == datetime(2026, 11, 22, 12)
    assert round_start(datetime(2026, 11, 22, 12, 14), timedelta(minutes=10)) == datetime(
        2026, 11, 22, 12, 10
    )
    with pytest.raises(ValueError):
        round_start(NOW, timedelta(0))


def test_a_bucket_is_free_when_not_swept_this_round_and_held_by_nobody() -> None:
    r, clock = datetime(2026, 11, 22, 12), datetime(2026, 11, 22, 12, 30)
    assert bucket_free(None, None, False, round_=r, clock=clock)
    assert not bucket_free(r, None, False, round_=r, clock=clock)  # swept this round
    earlier = r - timedelta(hours=1)
    assert not bucket_free(earlier, clock + timedelta(minutes=1), True, round_=r, clock=clock)
    assert bucket_free(earlier, clock - timedelta(minutes=1), True, round_=r, clock=clock)
    assert bucket_free(earlier, clock + timedelta(minutes=1), False, round_=r, clock=clock)
    assert buckets_left(4, {0: r, 1: earlier, 3: None}, r) == [1, 2, 3]
    assert try_order(4, 6) == [2, 3, 0, 1]


# -- the hash on every database -------------------------------------------------------------------


def text_id_sql(dialect: str) -> str:
    """abandoned.sql with text order ids ('注文-<id>'), in ``dialect``'s SQL."""
    body = (bundled.sql_dir() / "abandoned.sql").read_text(encoding="utf-8")
    cast = {
        "postgresql": "'注文-' || CAST(o.id AS TEXT)",
        "sqlite": "'注文-' || o.id",
        "mysql": "CONCAT('注文-', o.id)",
    }[dialect]
    out = body.replace("o.id               AS order_id", f"{cast} AS order_id")
    assert out != body
    return out


@pytest.mark.parametrize("ids", ["integer", "text"])
def test_the_databases_put_each_order_in_the_bucket_python_computes(
    shop: ShopBuilder, config_data: dict, tmp_path: Path, ids: str
) -> None:
    made = [shop.abandoned(NOW - timedelta(hours=4, minutes=i)) for i in range(60)]
    dialect = shop.engine.dialect.name
    if ids == "text":
        sql_dir = tmp_path / "sql"
        shutil.copytree(bundled.sql_dir(), sql_dir)
        (sql_dir / "abandoned.sql").write_text(text_id_sql(dialect), encoding="utf-8")
        config_data["shop"]["sql_dir"] = str(sql_dir)
        expected = {f"注文-{i}" for i in made}
    else:
        expected = {str(i) for i in made}
    app = App(load_config(write_config(tmp_path, config_data)))
    try:
        bounds = dict(due_before=NOW, active_since=NOW - timedelta(days=1), chunk_size=7)
        found: dict[str, int] = {}
        for b in range(BUCKETS):
            for page in app.reader.abandoned_orders(**bounds, bucket=(b, BUCKETS)):
                for row in page:
                    assert not isinstance(row, RowProblem), row
                    oid = row.candidate.order_id
                    assert oid not in found, f"{oid} in buckets {found[oid]} and {b}"
                    found[oid] = b
        assert set(found) == expected  # every order in exactly one bucket
        assert {oid: bucket_of(oid, BUCKETS) for oid in found} == found
        assert len(set(found.values())) == BUCKETS
        # The raw SQL hash equals Python's for the same text, non-ASCII included.
        expr = BUCKET_HASH[dialect].format(id="w.order_id")
        sql = f"SELECT w.order_id, {expr} FROM ({app.contract.bodies['abandoned']}) w"
        with app.shop_engine.connect() as conn:
            pairs = conn.execute(text(sql)).all()
        assert pairs and all(int(h) == bucket_hash(str(oid)) for oid, h in pairs)
    finally:
        app.dispose()


# -- sweepers as processes ----------------------------------------------------------------------


def bucket_rows(shop: ShopBuilder) -> dict[int, tuple]:
    b = sweep_buckets.c
    with shop.engine.connect() as conn:
        return {
            r.bucket: (r.owner, r.swept_for, r.swept_by)
            for r in conn.execute(select(b.bucket, b.owner, b.swept_for, b.swept_by))
        }


def start_together(config: Path, names: list[str], gate: Path, *extra: str) -> dict:
    gate.mkdir()
    procs = {n: spawn(config, NOW, "--gate", str(gate), "--name", n, *extra) for n in names}
    deadline = time.monotonic() + 90
    while not all((gate / f"{n}.ready").exists() for n in procs):
        for n, proc in procs.items():
            assert proc.poll() is None, f"sweeper {n} exited early: {proc.communicate()}"
        assert time.monotonic() < deadline, "the sweepers never got ready"
        time.sleep(0.01)
    (gate / "go").touch()
    return procs


@pytest.mark.slow
def test_four_sweepers_split_the_buckets_and_send_every_due_reminder_once(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    due = due_carts(shop, 120)
    config_data["sweep"] = {"chunk_size": 10, "send_batch": 5, "buckets": BUCKETS}
    config = write_config(tmp_path, config_data)
    procs = start_together(
        config, ["a", "b", "c", "d"], tmp_path / "gate", "--pause-per-batch", "0.02"
    )
    summaries = {n: finish(p) for n, p in procs.items()}
    assert all(s is not None for s in summaries.values())

    # Every due cart sent once, by exactly one sweeper; nobody sent anything twice.
    assert sum(s["sent"] for s in summaries.values()) == len(due), summaries
    found = rows(shop)
    assert_no_duplicate_rows(found)
    assert {r.order_id: r.status for r in found} == dict.fromkeys(due, "sent")
    per_order = Counter(o for _, o, _ in outbox(Path(config_data["email"]["outbox_dir"])))
    assert per_order == Counter(dict.fromkeys(due, 1))

    # The buckets were divided, not all read by everyone: each swept once, by one sweeper,
    # and each sweeper read only the candidates of its own buckets.
    assert sum(s["buckets"].get("swept", 0) for s in summaries.values()) == BUCKETS
    assert sum(s["candidates"] for s in summaries.values()) == len(due)
    assert sum(s["claimed_elsewhere"] for s in summaries.values()) == 0
    assert sum(s["buckets"].get("recoveries", 0) for s in summaries.values()) == 1
    assert sum(1 for s in summaries.values() if s["buckets"].get("swept")) >= 2, summaries
    state = bucket_rows(shop)
    assert set(state) == {*range(BUCKETS), RECOVERIES_JOB}
    assert {owner for owner, _, _ in state.values()} == {None}
    assert {swept_for for _, swept_for, _ in state.values()} == {NOW}
    by_run = {s["run_id"]: s["buckets"].get("swept", 0) for s in summaries.values()}
    swept_by = Counter(by for bucket, (_, _, by) in state.items() if bucket != RECOVERIES_JOB)
    assert dict(swept_by) == {r: n for r, n in by_run.items() if n}

    # A second round of sweepers in the same hour finds nothing left to read.
    again = finish(spawn(config, NOW + timedelta(minutes=20)))
    assert again is not None
    assert again["candidates"] == 0 and again["sent"] == 0
    assert again["buckets"] == {"of": BUCKETS}


@pytest.mark.slow
def test_a_killed_sweepers_bucket_is_taken_over_by_the_next_sweep(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    due = due_carts(shop, 60)
    config_data["sweep"] = {"chunk_size": 10, "send_batch": 5, "buckets": BUCKETS}
    config = write_config(tmp_path, config_data)
    # One sweeper dies right after its first claim, holding one bucket (not released:
    # os._exit, as kill -9); the other, started at the same time, sweeps every other bucket
    # and leaves that one alone (its owner's lease is not over).
    gate = tmp_path / "gate"
    gate.mkdir()
    killed = spawn(config, NOW, "--gate", str(gate), "--name", "killed", "--crash-after-claim")
    other = spawn(config, NOW, "--gate", str(gate), "--name", "other", "--pause-per-batch", "0.05")
    deadline = time.monotonic() + 90
    while not all((gate / f"{n}.ready").exists() for n in ("killed", "other")):
        assert killed.poll() is None and other.poll() is None, "a sweeper exited early"
        assert time.monotonic() < deadline, "the sweepers never got ready"
        time.sleep(0.01)
    (gate / "go").touch()
    finish(killed, expect_rc=71)
    first = finish(other)
    assert first is not None
    held = {b: owner for b, (owner, _, _) in bucket_rows(shop).items() if owner is not None}
    assert len(held) == 1, held
    [(dead_bucket, dead_run)] = held.items()
    assert first["buckets"]["swept"] == BUCKETS - 1
    in_dead = {o for o in due if bucket_of(o, BUCKETS) == dead_bucket}
    assert first["candidates"] == len(due) - len(in_dead)
    assert first["sent"] == len(due) - len(in_dead)

    # The next sweep (after the claims' lease, in the same round) takes that bucket over and
    # sends what was left there, once: the dead run's claims are retaken, nothing is resent.
    later = finish(spawn(config, NOW + AFTER_LEASE))
    assert later is not None
    assert later["buckets"]["swept"] == 1
    assert later["candidates"] == later["sent"] == len(in_dead)
    assert bucket_rows(shop)[dead_bucket] == (None, NOW, later["run_id"])
    found = rows(shop)
    assert_no_duplicate_rows(found)
    assert {r.order_id: r.status for r in found} == dict.fromkeys(due, "sent")
    per_order = Counter(o for _, o, _ in outbox(Path(config_data["email"]["outbox_dir"])))
    assert per_order == Counter(dict.fromkeys(due, 1))
    with shop.engine.connect() as conn:
        statuses = dict(conn.execute(select(runs.c.id, runs.c.status)).all())
    assert statuses[dead_run] == "died"  # closed by the next sweep on its host


def test_a_sweep_without_buckets_reads_everything_and_touches_no_bucket(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    due = due_carts(shop, 5)
    app = App(load_config(write_config(tmp_path, config_data)))
    try:
        summary = Sweep(app, now=NOW).run()
    finally:
        app.dispose()
    assert summary.sent == len(due) and summary.buckets == {}
    assert bucket_rows(shop) == {}


def test_a_dry_run_with_buckets_previews_everything_and_takes_nothing(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    due = due_carts(shop, 5)
    config_data["sweep"]["buckets"] = BUCKETS
    app = App(load_config(write_config(tmp_path, config_data)))
    try:
        summary = Sweep(app, now=NOW, dry_run=True).run()
    finally:
        app.dispose()
    assert summary.would_send == len(due)
    assert bucket_rows(shop) == {}


def test_check_warns_when_a_bucket_went_a_round_without_a_sweep(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    from click.testing import CliRunner
    from sqlalchemy import update

    from cartnudge.cli import main
    from cartnudge.core.buckets import stale_buckets
    from tests.conftest import base_config

    data = base_config(sqlite_shop.url, tmp_path)
    data["sweep"]["buckets"] = 4
    config = write_config(tmp_path, data)

    def check() -> list[str]:
        result = CliRunner().invoke(main, ["check", "--config", str(config), "--offline"])
        assert result.exit_code == 0, result.output
        return [line for line in result.output.splitlines() if "sweep.buckets" in line]

    assert check() == ["--   sweep.buckets 4: no sweep has taken a bucket yet"]
    app = App(load_config(config))
    try:
        Sweep(app, now=datetime.utcnow().replace(microsecond=0)).run()  # noqa: DTZ003
    finally:
        app.dispose()
    assert check() == ["ok   sweep.buckets 4: every bucket swept in this round or the last"]
    with sqlite_shop.engine.begin() as conn:
        conn.execute(
            update(sweep_buckets)
            .where(sweep_buckets.c.bucket.in_([1, 3]))
            .values(swept_for=datetime(2026, 1, 1, 9))
        )
    [line] = check()
    assert line.startswith("warn sweep.buckets 4: 2 bucket(s) not swept since 2026-01-01T09:00")
    assert "(1, 3)" in line
    hour = timedelta(hours=1)
    assert stale_buckets(3, {0: NOW, 1: NOW - hour, 2: NOW - 2 * hour}, NOW, hour) == [2]


def test_the_sweeps_summary_says_how_many_buckets_it_swept(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from cartnudge.cli import main
    from tests.conftest import base_config

    data = base_config(sqlite_shop.url, tmp_path)
    data["sweep"]["buckets"] = 4
    config = write_config(tmp_path, data)
    now = NOW.isoformat()
    first = CliRunner().invoke(main, ["sweep", "--config", str(config), "--now", now])
    assert first.exit_code == 0, first.output
    assert "buckets swept (of 4; the others by other sweepers)" in first.output
    assert first.output.split("other sweepers)")[1].split()[1] == "4"
    again = CliRunner().invoke(main, ["sweep", "--config", str(config), "--now", now, "--json"])
    assert again.exit_code == 0, again.output
    assert '"buckets": {"of": 4}' in again.output
    # --every-bucket takes them all again (after fixing a channel, say), once.
    later = (NOW + timedelta(minutes=10)).isoformat()
    cmd = ["sweep", "--config", str(config), "--now", later, "--json", "--every-bucket"]
    forced = CliRunner().invoke(main, cmd)
    assert forced.exit_code == 0, forced.output
    assert '"buckets": {"of": 4, "recoveries": 1, "swept": 4}' in forced.output
    after = CliRunner().invoke(main, ["sweep", "--config", str(config), "--now", later, "--json"])
    assert '"buckets": {"of": 4}' in after.output


def test_a_buckets_pages_still_seek_the_sweeps_index_on_every_database(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    from cartnudge.shop.explain import _scans
    from cartnudge.shop.plans import Scan

    shop.abandoned(NOW - timedelta(hours=4))
    app = App(load_config(write_config(tmp_path, config_data)))
    try:
        dialect = app.shop_engine.dialect.name
        contract = app.contract
        window = dict(dt_due_before=NOW, dt_active_since=NOW - timedelta(days=1))
        bucket = dict(bucket=3, bucket_count=BUCKETS, chunk_size=500)
        page = contract.sweep_page("last_activity_at", first=True, bucket=dialect)
        assert _scans(app.reader, "abandoned", page, {**window, **bucket}) == []
        # The same query without the indexes on orders reads orders whole: the check can fail.
        on = " ON orders" if dialect == "mysql" else ""
        names = [
            "ix_orders_state_activity",
            "ix_orders_state_abandoned",
            "ix_orders_state_completed",
        ]
        if dialect != "mysql":  # MariaDB keeps the one its foreign key needs
            names.append("ix_orders_customer_state_completed")
        with app.shop_engine.begin() as conn:
            for name in names:
                conn.execute(text(f"DROP INDEX {name}{on}"))
        app.shop_engine.dispose()  # no statement prepared before the change
        assert Scan("orders", True) in _scans(app.reader, "abandoned", page, {**window, **bucket})
    finally:
        app.dispose()


def test_with_buckets_every_sweep_reads_its_buckets_in_full(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    """Incremental sweeps plan from the runs on record; with buckets, a bucket's previous
    sweep may have been another host's or missing (its sweeper died), so each is read whole."""
    from cartnudge.core.incremental import BUCKETS as READ_IN_FULL

    due = due_carts(shop, 5)
    config_data["sweep"]["buckets"] = 4
    config = write_config(tmp_path, config_data)
    summaries = []
    for now in (NOW, NOW + timedelta(hours=1)):  # two rounds: both sweep every bucket
        app = App(load_config(config))
        try:
            summaries.append(Sweep(app, now=now).run())
        finally:
            app.dispose()
    first, second = summaries
    assert first.sent == len(due)
    assert (second.mode, second.mode_reason) == ("full", READ_IN_FULL)
    assert second.buckets["swept"] == 4
    assert second.shop_rows_read >= len(due)  # every cart of the window read again
