"""Bookkeeping that survives crashes (issue 10, point 8): a run left "running" by a dead
process is closed as died by the next sweep, on the three databases."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from cartnudge.app import App
from cartnudge.config import load_config
from cartnudge.state.schema import runs
from cartnudge.sweep import Sweep
from tests.conftest import base_config, write_config
from tests.shop import ShopBuilder

NOW = datetime(2026, 11, 22, 12, 0)


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_run_left_running_by_a_dead_process_is_closed_as_died(
    shop: ShopBuilder, tmp_path: Path
) -> None:
    app = App(load_config(write_config(tmp_path, base_config(shop.url, tmp_path))))
    wall = datetime.now(UTC).replace(tzinfo=None)
    here = socket.gethostname()
    try:
        app.runs.start_run(
            "killed", "sweep", NOW, host=here, pid=dead_pid(), dry_run=False, started_at=wall
        )
        app.runs.start_run(  # another host, two days ago: dead whatever its pid
            "old", "sweep", NOW, host="elsewhere", pid=1, dry_run=False,
            started_at=wall - timedelta(days=2),
        )  # fmt: skip
        app.runs.start_run(  # another host, just now: maybe still sending, left alone
            "busy", "sweep", NOW, host="elsewhere", pid=1, dry_run=False, started_at=wall
        )
        Sweep(app, now=NOW).run()
        with app.state_engine.connect() as conn:
            status = {r.id: r.status for r in conn.execute(select(runs))}
    finally:
        app.dispose()
    assert (status["killed"], status["old"], status["busy"]) == ("died", "died", "running")
    assert sorted(status.values()).count("ok") == 1  # the sweep's own run


def test_a_host_whose_clock_runs_ahead_never_puts_another_hosts_batch_in_doubt(
    shop: ShopBuilder, tmp_path: Path, monkeypatch
) -> None:
    """Another host claimed and is sending a batch now, with a 15-minute lease. This host's
    clock runs 16 minutes ahead: counted on its own clock the lease is over and the batch would
    be marked in doubt (and never sent); counted on the database's clock it is not."""
    import cartnudge.sweep as sweep_module
    from cartnudge.core.rules import DeliveryStatus
    from cartnudge.state.deliveries import ClaimRequest
    from cartnudge.state.schema import deliveries

    app = App(load_config(write_config(tmp_path, base_config(shop.url, tmp_path))))
    try:
        true_now = app.deliveries.database_clock()
        request = ClaimRequest(
            order_id="1", flow="confirm", step=0, episode=0, channel="email",
            customer_id="1", recipient="hanako@example.jp", template_id=140001, amount=100,
            abandoned_at=true_now - timedelta(hours=4),
            episode_started_at=true_now - timedelta(hours=4), due_at=true_now,
        )  # fmt: skip
        (claimed,) = app.deliveries.claim([request], true_now, app.config.lease)
        app.deliveries.mark_sending([claimed.id], true_now, app.config.lease)
        ahead = true_now + timedelta(minutes=16)
        monkeypatch.setattr(sweep_module, "host_clock", lambda: ahead)
        summary = Sweep(app, now=ahead).run()
        with app.state_engine.connect() as conn:
            (status,) = [r.status for r in conn.execute(select(deliveries))]
    finally:
        app.dispose()
    assert summary.in_doubt_found == 0
    assert status == DeliveryStatus.SENDING.value
