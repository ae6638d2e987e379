"""The claim protocol under overlap, crashes and failures (DESIGN.md, "Own state and
idempotency"), on a real database of each backend.

Sweeps that must run as separate OS processes (two at once; one killed mid-batch) are driven
through tests/sweeper_process.py; the file outbox is the channel, so what was "delivered" is
what is on disk: one ``.eml`` file per delivery, named by delivery id.
"""

from __future__ import annotations

import email
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from email.utils import getaddresses
from pathlib import Path

import pytest
from sqlalchemy import select

from cartnudge.app import App
from cartnudge.channels.base import Envelope, Result, SendResult
from cartnudge.channels.memory import MemoryChannel
from cartnudge.config import load_config
from cartnudge.errors import DatabaseError
from cartnudge.state.deliveries import MAX_ATTEMPTS, ClaimRequest
from cartnudge.state.schema import deliveries, runs
from cartnudge.sweep import Sweep
from tests.conftest import TOKEN_ENV, TOKEN_KEYS, write_config
from tests.shop import ShopBuilder

NOW = datetime(2026, 11, 22, 12, 0)
LEASE = timedelta(minutes=15)  # state.lease's default
# A run's leases count from when it made each claim (its now plus the seconds it had run), so
# "once the lease is over" is a little after NOW + LEASE; cron's next run is an hour later.
AFTER_LEASE = LEASE + timedelta(minutes=1)
ROOT = Path(__file__).resolve().parent.parent
MESSAGE_ID = re.compile(r"<cartnudge\.(\d+)\.(\w+)@")


# -- helpers ----------------------------------------------------------------------------------


def due_carts(shop: ShopBuilder, n: int) -> dict[str, str]:
    """``n`` carts due at NOW (abandoned 4h..~21h ago, each at a different minute), plus a few
    that must never be reminded (too recent, expired); returns {order id: recipient}."""
    due = {}
    for i in range(n):
        oid = shop.abandoned(NOW - timedelta(hours=4, minutes=7 * i))
        due[str(oid)] = f"customer{shop.customer_of(oid)}@example.jp"
    shop.abandoned(NOW - timedelta(hours=1))  # not due yet
    shop.abandoned(NOW - timedelta(hours=2, minutes=30))  # due at NOW + 30m, after the lease
    shop.abandoned(NOW - timedelta(hours=30))  # expired
    return due


def spawn(config: Path, now: datetime, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, **{TOKEN_ENV: TOKEN_KEYS})
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.sweeper_process",
            "--config",
            str(config),
            "--now",
            now.isoformat(),
            *args,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], expect_rc: int = 0) -> dict | None:
    """Wait for ``proc``; check its exit status; its JSON summary (None when it died)."""
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == expect_rc, f"exit {proc.returncode}\n{out}\n{err}"
    lines = [line for line in out.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else None


def sweep_in_a_new_process(config: Path, now: datetime) -> dict:
    proc = spawn(config, now)
    summary = finish(proc)
    assert summary is not None
    return summary


def outbox(directory: Path) -> list[tuple[int, str, str]]:
    """Every message on disk as (delivery id, order id, To), checking each file is whole and
    carries the delivery id of its name in its Message-ID."""
    assert not list(directory.glob("*.tmp")), "half-written messages left behind"
    found = []
    for path in sorted(directory.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes())
        match = MESSAGE_ID.search(message["Message-ID"] or "")
        assert match, f"{path.name}: no cartnudge Message-ID"
        delivery_id = int(match.group(1))
        assert int(path.stem) == delivery_id, f"{path.name} holds delivery {delivery_id}"
        [(_, to)] = getaddresses([str(message["To"])])
        found.append((delivery_id, match.group(2), to))
    return found


def rows(shop: ShopBuilder) -> list:
    d = deliveries.c
    with shop.engine.connect() as conn:
        return list(
            conn.execute(
                select(d.id, d.order_id, d.flow, d.step, d.episode, d.channel, d.status, d.attempts)
            )
        )


def run_statuses(shop: ShopBuilder) -> Counter[str]:
    with shop.engine.connect() as conn:
        return Counter(r.status for r in conn.execute(select(runs.c.status)))


def statuses(shop: ShopBuilder) -> Counter[str]:
    return Counter(r.status for r in rows(shop))


def assert_no_duplicate_rows(found: list) -> None:
    keys = Counter((r.order_id, r.flow, r.step, r.episode, r.channel) for r in found)
    assert [k for k, n in keys.items() if n > 1] == []
    per_order = Counter(r.order_id for r in found)
    assert [o for o, n in per_order.items() if n > 1] == []


# -- two sweeps at once -----------------------------------------------------------------------


@pytest.mark.slow
def test_two_overlapping_sweeps_send_every_due_cart_exactly_once(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    due = due_carts(shop, 150)
    config_data["sweep"] = {"chunk_size": 10, "send_batch": 5}
    config = write_config(tmp_path, config_data)
    gate = tmp_path / "gate"
    gate.mkdir()

    procs = {
        name: spawn(config, NOW, "--pause-per-batch", "0.03", "--gate", str(gate), "--name", name)
        for name in ("a", "b")
    }
    deadline = time.monotonic() + 60
    while not all((gate / f"{name}.ready").exists() for name in procs):
        for name, proc in procs.items():
            assert proc.poll() is None, f"sweeper {name} exited early: {proc.communicate()}"
        assert time.monotonic() < deadline, "the sweepers never got ready"
        time.sleep(0.01)
    (gate / "go").touch()
    summaries = {name: finish(proc) for name, proc in procs.items()}
    a, b = summaries["a"], summaries["b"]
    assert a is not None and b is not None

    # The summaries add up, and both really worked (the overlap was real).
    assert a["sent"] + b["sent"] == len(due), summaries
    assert a["sent"] > 0 and b["sent"] > 0, summaries
    assert a["failed"] == b["failed"] == 0
    assert a["in_doubt_found"] == b["in_doubt_found"] == 0

    # One delivery row per due cart, sent; nothing for the others.
    found = rows(shop)
    assert_no_duplicate_rows(found)
    assert {r.order_id: r.status for r in found} == dict.fromkeys(due, "sent")

    # One file per due cart, to that cart's shopper, named by its own delivery row.
    messages = outbox(Path(config_data["email"]["outbox_dir"]))
    per_order = Counter(order for _, order, _ in messages)
    assert per_order == Counter(dict.fromkeys(due, 1))
    row_id = {r.order_id: r.id for r in found}
    for delivery_id, order, to in messages:
        assert delivery_id == row_id[order]
        assert to == due[order]


# -- a sweep that dies ------------------------------------------------------------------------


@pytest.mark.slow
def test_a_sweep_killed_mid_batch_leaves_only_that_batch_in_doubt(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    due = due_carts(shop, 60)
    send_batch = config_data["sweep"]["send_batch"]
    config = write_config(tmp_path, config_data)
    out = Path(config_data["email"]["outbox_dir"])

    assert finish(spawn(config, NOW, "--crash-after", "7"), expect_rc=70) is None
    after_crash = statuses(shop)
    left_sending = after_crash["sending"]
    assert 0 < left_sending <= send_batch, after_crash  # only the batch in the channel's hands
    assert len(outbox(out)) == 7

    rerun = sweep_in_a_new_process(config, NOW + AFTER_LEASE)  # the next run, the lease over
    assert rerun["in_doubt_found"] == left_sending
    assert rerun["sent"] == len(due) - after_crash["sent"] - left_sending
    assert rerun["failed"] == 0 and rerun["claimed_elsewhere"] == 0

    found = rows(shop)
    assert_no_duplicate_rows(found)
    in_doubt = {r.order_id for r in found if r.status == "in_doubt"}
    assert len(in_doubt) == left_sending
    assert {r.order_id for r in found if r.status == "sent"} == set(due) - in_doubt
    assert statuses(shop) == Counter(sent=len(due) - left_sending, in_doubt=left_sending)

    messages = outbox(out)
    per_order = Counter(order for _, order, _ in messages)
    assert max(per_order.values()) == 1  # nothing delivered twice
    assert set(per_order) <= set(due)
    assert set(due) - set(per_order) <= in_doubt  # every loss is reported in doubt

    # And later runs never send the in-doubt ones again, nor report them twice.
    later = sweep_in_a_new_process(config, NOW + LEASE + timedelta(minutes=5))
    assert (later["sent"], later["in_doubt_found"]) == (0, 0)
    assert len(outbox(out)) == len(messages)

    # The killed run is not left "running" for ever: the next sweep closed it as died.
    assert run_statuses(shop) == Counter(died=1, ok=1, problems=1)
    # And no try was charged to a delivery that never got an answer (issue 10).
    assert {r.attempts for r in found if r.status == "in_doubt"} == {0}


@pytest.mark.slow
def test_a_sweep_killed_after_claiming_is_sent_exactly_once_after_the_lease(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    due = due_carts(shop, 60)
    chunk = config_data["sweep"]["chunk_size"]
    config = write_config(tmp_path, config_data)
    out = Path(config_data["email"]["outbox_dir"])

    assert finish(spawn(config, NOW, "--crash-after-claim"), expect_rc=71) is None
    assert statuses(shop) == Counter(claimed=chunk)  # the first page, claimed, never handed over
    assert outbox(out) == []

    # While the dead run's lease lasts, its claims are respected; the rest is sent.
    early = sweep_in_a_new_process(config, NOW + LEASE - timedelta(minutes=1))
    assert early["claimed_elsewhere"] == chunk
    assert (early["sent"], early["in_doubt_found"]) == (len(due) - chunk, 0)

    # Once it is over, the claims are taken over and sent, once, none in doubt.
    rerun = sweep_in_a_new_process(config, NOW + AFTER_LEASE)
    assert (rerun["sent"], rerun["in_doubt_found"], rerun["claimed_elsewhere"]) == (chunk, 0, 0)

    found = rows(shop)
    assert_no_duplicate_rows(found)
    assert {r.order_id: r.status for r in found} == dict.fromkeys(due, "sent")
    messages = outbox(out)
    assert Counter(order for _, order, _ in messages) == Counter(dict.fromkeys(due, 1))


@pytest.mark.slow
def test_sweeps_killed_at_random_points_lose_no_one_and_leave_no_run_running(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    """kill -9 at random moments (seeded), three times, then the sweeps of the next hours:
    no cart is reminded twice, every due cart is sent or reported in doubt, at most one batch
    is in doubt per kill, no try is charged without an answer, no run stays "running"."""
    import random
    import signal

    due = due_carts(shop, 40)
    config_data["sweep"] = {"chunk_size": 10, "send_batch": 5}
    config = write_config(tmp_path, config_data)
    out = Path(config_data["email"]["outbox_dir"])
    rng = random.Random(10)
    for kill in range(3):
        proc = spawn(config, NOW + timedelta(minutes=kill), "--pause-per-batch", "0.05")
        time.sleep(rng.uniform(1.0, 3.0))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    # the last killed run started at NOW + 2m: its leases are over at NOW + 2m + AFTER_LEASE
    later = [
        sweep_in_a_new_process(config, NOW + AFTER_LEASE + timedelta(minutes=m)) for m in (3, 8)
    ]
    assert later[1]["sent"] == 0 and later[1]["in_doubt_found"] == 0, later

    found = rows(shop)
    assert_no_duplicate_rows(found)
    state = Counter(r.status for r in found)
    assert set(state) <= {"sent", "in_doubt"}, state
    assert state["in_doubt"] <= 3 * config_data["sweep"]["send_batch"]
    assert {r.order_id for r in found} == set(due)  # no one lost
    assert {r.attempts for r in found if r.status == "in_doubt"} <= {0}
    # A kill -9 in the middle of writing a message leaves its temporary file, never renamed:
    # no reader ever sees it as a message (and that delivery is in doubt).
    for temporary in out.glob(".*.tmp"):
        temporary.unlink()
    messages = outbox(out)
    assert max(Counter(order for _, order, _ in messages).values()) == 1
    assert "running" not in run_statuses(shop)


# -- temporary and permanent failures (in process) --------------------------------------------


def order_of(envelope: Envelope) -> str:
    match = MESSAGE_ID.search(envelope.message_id)
    assert match
    return match.group(2)


def test_temporary_failures_are_retried_once_and_permanent_ones_never(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    due = list(due_carts(shop, 30))
    temporary, permanent = set(due[0::3]), set(due[1::6])
    assert temporary and permanent and not temporary & permanent
    app = App(load_config(write_config(tmp_path, config_data)))

    def flaky(envelope: Envelope) -> SendResult:
        order = order_of(envelope)
        if order in temporary:
            return SendResult(envelope.delivery_id, Result.TEMPORARY, "421 try again later")
        if order in permanent:
            return SendResult(envelope.delivery_id, Result.PERMANENT, "550 no such user")
        return SendResult(envelope.delivery_id, Result.SENT, "250 ok")

    first_channel = MemoryChannel(flaky)
    first = Sweep(app, first_channel, now=NOW).run()
    ok = len(due) - len(temporary) - len(permanent)
    assert (first.sent, first.retry_later, first.failed) == (ok, len(temporary), len(permanent))
    after_first = {r.order_id: r for r in rows(shop)}
    assert {o for o, r in after_first.items() if r.status == "retry"} == temporary
    assert {o for o, r in after_first.items() if r.status == "failed"} == permanent

    second_channel = MemoryChannel()
    second = Sweep(app, second_channel, now=NOW + timedelta(minutes=10)).run()
    assert (second.sent, second.retry_later, second.failed) == (len(temporary), 0, 0)
    assert sorted(order_of(e) for e in second_channel.sent) == sorted(temporary)
    # The same delivery rows were taken again (same ids, so the same Message-IDs).
    assert {e.delivery_id for e in second_channel.sent} == {after_first[o].id for o in temporary}

    third_channel = MemoryChannel()
    third = Sweep(app, third_channel, now=NOW + timedelta(minutes=20)).run()
    app.dispose()
    assert (third.sent, third_channel.sent) == (0, [])

    final = {r.order_id: r for r in rows(shop)}
    assert_no_duplicate_rows(list(final.values()))
    assert {o for o, r in final.items() if r.status == "failed"} == permanent
    assert {o for o, r in final.items() if r.status == "sent"} == set(due) - permanent
    assert all(final[o].attempts == 2 for o in temporary)
    assert all(final[o].attempts == 1 for o in permanent)
    # Delivered exactly once overall: first and second sweeps together, no overlap.
    delivered = [order_of(e) for e in first_channel.sent + second_channel.sent]
    assert Counter(delivered) == Counter(dict.fromkeys(set(due) - permanent, 1))


def test_a_delivery_that_keeps_failing_temporarily_gives_up_after_max_attempts(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    shop.abandoned(NOW - timedelta(hours=4))
    app = App(load_config(write_config(tmp_path, config_data)))
    tries: list[int] = []

    def always_busy(envelope: Envelope) -> SendResult:
        tries.append(envelope.delivery_id)
        return SendResult(envelope.delivery_id, Result.TEMPORARY, "451 busy")

    summaries = [
        Sweep(app, MemoryChannel(always_busy), now=NOW + timedelta(hours=h)).run()
        for h in range(MAX_ATTEMPTS + 2)
    ]
    app.dispose()
    assert len(tries) == MAX_ATTEMPTS and len(set(tries)) == 1
    assert [s.retry_later for s in summaries] == [1] * MAX_ATTEMPTS + [0, 0]
    assert [s.failed for s in summaries] == [0] * MAX_ATTEMPTS + [1, 0]
    assert [(r.status, r.attempts) for r in rows(shop)] == [("failed", MAX_ATTEMPTS)]


# -- a claim whose lease ran out (the store's side of the protocol) --------------------------


def claim_request(order_id: str) -> ClaimRequest:
    return ClaimRequest(
        order_id=order_id,
        flow="confirm",
        step=0,
        episode=0,
        channel="email",
        customer_id="1",
        recipient="customer1@example.jp",
        template_id=140001,
        amount=6160,
        abandoned_at=NOW - timedelta(hours=4),
        episode_started_at=NOW - timedelta(hours=4),
        due_at=NOW - timedelta(hours=1),
    )


def test_a_claim_taken_over_after_its_lease_is_never_handed_over_by_both_runs(
    shop: ShopBuilder,
) -> None:
    """A run slower than its lease (claims made at its start ``now``, handed over later) must
    not send what another run has taken over meanwhile: its mark_sending refuses, marking
    nothing, and its release does not delete the other run's claim."""
    slow, other = shop.deliveries(), shop.deliveries()
    try:
        mine = slow.claim([claim_request("1"), claim_request("2")], NOW, LEASE)
        assert slow.claim([claim_request("1")], NOW + LEASE - timedelta(seconds=1), LEASE) == []
        taken = other.claim([claim_request("1")], NOW + LEASE, LEASE)  # the lease is over
        assert [c.key for c in taken] == [c.key for c in mine[:1]]

        with pytest.raises(DatabaseError, match="no longer this run's claims"):
            slow.mark_sending([c.id for c in mine], NOW, LEASE)
        assert statuses(shop) == Counter(claimed=2)  # nothing marked, not even order 2

        slow.release([mine[0].id])  # not the slow run's to give back any more
        assert statuses(shop) == Counter(claimed=2)
        other.mark_sending([c.id for c in taken], NOW + LEASE, LEASE)
        slow.mark_sending([mine[1].id], NOW, LEASE)  # still its own
        assert statuses(shop) == Counter(sending=2)
        # a try is counted when the server's answer is recorded, never at mark_sending
        assert sorted((r.order_id, r.attempts) for r in rows(shop)) == [("1", 0), ("2", 0)]
    finally:
        slow.engine.dispose()
        other.engine.dispose()
