"""Rendering in worker processes (``sweep.render_workers``): the messages are byte for byte the
ones rendered in the sweep's own process, a worker that dies fails its batches cleanly (never a
hang, nothing marked sending, taken up again by the next sweep), and the setting is validated."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

import cartnudge.messages.render_pool as render_pool
import cartnudge.sweep as sweep_module
from cartnudge.app import App
from cartnudge.channels.memory import MemoryChannel
from cartnudge.config import load_config
from cartnudge.errors import ConfigError, TemplateError
from cartnudge.messages.render_pool import RenderJob, RenderPool
from cartnudge.state.schema import deliveries
from cartnudge.sweep import Sweep
from tests.conftest import write_config
from tests.shop import ShopBuilder

NOW = datetime(2026, 11, 22, 12, 0)
CARTS = 7


def app_with(config_data: dict, tmp_path: Path, workers: int, send_batch: int = 3) -> App:
    data = dict(config_data, sweep={"render_workers": workers, "send_batch": send_batch})
    return App(load_config(write_config(tmp_path, data)))


def carts(shop: ShopBuilder) -> None:
    for n in range(CARTS):
        shop.abandoned(NOW - timedelta(hours=4 + n), items=((1, n + 1), (2, 1)))


@pytest.fixture
def workers_for_every_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests' pages are small: let the workers take them all the same."""
    monkeypatch.setattr(sweep_module, "MIN_MESSAGES_FOR_WORKERS", 1)


def test_workers_render_the_same_bytes_as_the_sweep_process(
    shop: ShopBuilder,
    config_data: dict,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    workers_for_every_page: None,
) -> None:
    carts(shop)
    handed: list[RenderJob] = []
    real_submit = RenderPool.submit

    def submit(self: RenderPool, jobs: list[RenderJob]):  # what the workers were given
        handed.extend(jobs)
        return real_submit(self, jobs)

    in_parent: list[int] = []
    real_batch = render_pool.render_batch

    def counted_batch(*args, **kwargs):  # calls in the sweep's own process only
        in_parent.append(os.getpid())
        return real_batch(*args, **kwargs)

    monkeypatch.setattr(RenderPool, "submit", submit)
    monkeypatch.setattr(sweep_module, "render_batch", counted_batch)
    app = app_with(config_data, tmp_path, workers=2)
    channel = MemoryChannel()
    summary = Sweep(app, channel, now=NOW).run()
    try:
        assert summary.sent == CARTS and len(channel.sent) == CARTS
        assert in_parent == []  # nothing was rendered in the sweep's process
        assert sorted(j.delivery_id for j in handed) == sorted(e.delivery_id for e in channel.sent)
        # The same jobs rendered here, in this process: the same envelopes, byte for byte.
        here = {e.delivery_id: e for e in real_batch(app.config, app.catalogue, NOW, handed)}
        for sent in channel.sent:
            assert sent == here[sent.delivery_id]
            assert sent.data == here[sent.delivery_id].data
    finally:
        app.dispose()


def test_the_sweep_renders_in_process_with_zero_workers(
    shop: ShopBuilder,
    config_data: dict,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    workers_for_every_page: None,
) -> None:
    carts(shop)

    def no_pool(*_args, **_kwargs):
        raise AssertionError("render_workers 0 started workers")

    monkeypatch.setattr(RenderPool, "submit", no_pool)
    app = app_with(config_data, tmp_path, workers=0)
    summary = Sweep(app, MemoryChannel(), now=NOW).run()
    app.dispose()
    assert summary.sent == CARTS


def _dies_in_a_worker(parent: int):
    real = render_pool.render_envelope

    def render(*args, **kwargs):
        if os.getpid() != parent:  # a worker: die as a crash or the OOM killer would
            os._exit(9)
        return real(*args, **kwargs)

    return render


def test_a_worker_that_dies_fails_its_batches_cleanly_and_the_next_sweep_sends_them_once(
    shop: ShopBuilder,
    config_data: dict,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    workers_for_every_page: None,
) -> None:
    carts(shop)
    monkeypatch.setattr(render_pool, "render_envelope", _dies_in_a_worker(os.getpid()))
    monkeypatch.setattr(render_pool, "RENDER_TIMEOUT", 30.0)  # a hang fails the test quickly
    app = app_with(config_data, tmp_path, workers=1)
    channel = MemoryChannel()
    first = Sweep(app, channel, now=NOW).run()
    with app.deliveries.engine.connect() as conn:
        rows = conn.execute(select(deliveries.c.status, deliveries.c.attempts)).all()
    # Nothing handed over, nothing marked sending: every claim waits for the next sweep, and no
    # attempt is charged for a message no server saw.
    assert (first.sent, first.retry_later, first.failed, first.in_doubt_found) == (0, CARTS, 0, 0)
    assert channel.sent == []
    assert sorted(r.status for r in rows) == ["retry"] * CARTS
    assert all(r.attempts == 0 for r in rows)
    # The next sweep (its workers healthy) sends each of them exactly once.
    monkeypatch.undo()
    monkeypatch.setattr(sweep_module, "MIN_MESSAGES_FOR_WORKERS", 1)
    second = Sweep(app, channel, now=NOW + timedelta(minutes=30)).run()
    third = Sweep(app, channel, now=NOW + timedelta(hours=1)).run()
    app.dispose()
    assert (second.sent, third.sent) == (CARTS, 0)
    ids = [e.delivery_id for e in channel.sent]
    assert len(ids) == len(set(ids)) == CARTS


def test_after_a_worker_died_the_rest_of_the_run_renders_in_process(
    shop: ShopBuilder,
    config_data: dict,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    workers_for_every_page: None,
) -> None:
    carts(shop)
    monkeypatch.setattr(render_pool, "render_envelope", _dies_in_a_worker(os.getpid()))
    data = dict(config_data, sweep={"render_workers": 1, "send_batch": 2, "chunk_size": 3})
    app = App(load_config(write_config(tmp_path, data)))
    channel = MemoryChannel()
    summary = Sweep(app, channel, now=NOW).run()
    app.dispose()
    # The first page's carts wait for the next sweep; the later pages were rendered here.
    assert summary.retry_later == 3
    assert summary.sent == CARTS - 3 == len(channel.sent)


@pytest.mark.parametrize("value", [-1, 33, "two", 1.5])
def test_render_workers_is_a_small_whole_number(
    sqlite_url: str, tmp_path: Path, value: object
) -> None:
    from tests.conftest import base_config

    data = dict(base_config(sqlite_url, tmp_path), sweep={"render_workers": value})
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, data))
    message = str(caught.value)
    assert "sweep.render_workers" in message and "\n" not in message


@pytest.mark.parametrize("workers", [0, 2])
def test_a_template_problem_fails_only_its_delivery_with_the_same_reason_either_way(
    shop: ShopBuilder,
    config_data: dict,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    workers_for_every_page: None,
    workers: int,
) -> None:
    carts(shop)
    real = render_pool.render_within_limits

    def broken_for_odd_ids(*args, **kwargs):
        if kwargs["delivery_id"] % 2:
            raise TemplateError(f"template 1: no such filter (delivery {kwargs['delivery_id']})")
        return real(*args, **kwargs)

    monkeypatch.setattr(render_pool, "render_within_limits", broken_for_odd_ids)
    app = app_with(config_data, tmp_path, workers=workers)
    channel = MemoryChannel()
    summary = Sweep(app, channel, now=NOW).run()
    with app.deliveries.engine.connect() as conn:
        rows = conn.execute(select(deliveries.c.id, deliveries.c.status, deliveries.c.error)).all()
    app.dispose()
    odd = [r for r in rows if r.id % 2]
    assert odd and summary.failed == len(odd) and summary.sent == CARTS - len(odd)
    for r in rows:
        if r.id % 2:
            assert (r.status, r.error) == (
                "failed",
                f"render: template 1: no such filter (delivery {r.id})",
            )
        else:
            assert r.status == "sent"


KILLED_SWEEP = """
import os, signal, sys
from datetime import datetime
from cartnudge.messages.render_pool import RenderPool
pool = RenderPool(None, None, datetime(2026, 11, 22), 2)
pool.submit([]).result()  # the workers are up
print(" ".join(str(pid) for pid in pool._executor._processes), flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # as kill -9 or the OOM killer ends a sweep
"""


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_the_workers_of_a_killed_sweep_exit_with_it() -> None:
    import subprocess
    import sys
    import time

    done = subprocess.run(
        [sys.executable, "-c", KILLED_SWEEP], capture_output=True, text=True, timeout=60
    )
    workers = [int(pid) for pid in done.stdout.split()]
    assert done.returncode == -9 and len(workers) == 2
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_running(pid) for pid in workers)
