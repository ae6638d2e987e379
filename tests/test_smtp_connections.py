"""SMTP over several connections, under a rate limit (issue 14, point 5), against a real SMTP
server in this process (aiosmtpd): every message once, results in envelope order, a dropped
connection costs at most its own message (in doubt), a server that says "too fast" slows the
channel down instead of stopping it, and a sweep killed with messages in flight on four
connections sends nothing twice."""

from __future__ import annotations

import email
import os
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from cartnudge.channels.base import Envelope, Result, Retries
from cartnudge.channels.ratelimit import Limiter
from cartnudge.channels.smtp import SmtpChannel
from cartnudge.config import SmtpSettings
from cartnudge.core.ratelimit import RateLimit
from tests.conftest import write_config
from tests.shop import ShopBuilder
from tests.smtp_server import SmtpServer, running_server
from tests.test_idempotency import (
    AFTER_LEASE,
    NOW,
    due_carts,
    finish,
    rows,
    spawn,
    statuses,
    sweep_in_a_new_process,
)


@pytest.fixture(params=[False, True], ids=["one-command-a-time", "pipelining"])
def server(request: pytest.FixtureRequest) -> Iterator[SmtpServer]:
    """The server with and without RFC 2920 PIPELINING: the channel sends MAIL, RCPT and DATA
    in one write when it is offered, and every guarantee must hold both ways."""
    with running_server() as smtp:
        smtp.script.pipelining = request.param
        yield smtp


def envelopes(n: int) -> list[Envelope]:
    return [
        Envelope(
            delivery_id=100 + i,
            recipient=f"c{i}@example.jp",
            sender="shop@example.jp",
            message_id=f"<m{i}@example.jp>",
            data=f"Subject: {i}\r\nTo: c{i}@example.jp\r\n\r\nbody {i}\r\n".encode(),
        )
        for i in range(n)
    ]


def channel(
    server: SmtpServer, connections: int, limiter: Limiter | None = None, **more: object
) -> SmtpChannel:
    settings = SmtpSettings(host=server.host, port=server.port, timeout=2, **more)
    return SmtpChannel(
        settings, None, retries=Retries(3, 0.01), connections=connections, limiter=limiter
    )


def received(server: SmtpServer) -> Counter[str]:
    return Counter(r for m in server.handler.messages for r in m.rcpt_tos)


class SlotClock:
    """A clock standing still at 100 s, whose sleep records the slot asked for: the limiter's
    schedule can be read back without any real waiting."""

    def __init__(self) -> None:
        self.slots: list[float] = []

    def __call__(self) -> float:
        return 100.0

    def sleep(self, seconds: float) -> None:
        self.slots.append(100.0 + seconds)


def test_four_connections_deliver_a_batch_once_each_with_results_in_envelope_order(
    server: SmtpServer,
) -> None:
    batch = envelopes(40)
    with channel(server, 4) as smtp:
        results = smtp.send(batch)
        again = smtp.send(envelopes(8))  # the next batch reuses the same connections
    assert [r.delivery_id for r in results] == [e.delivery_id for e in batch]
    assert {r.result for r in results} | {r.result for r in again} == {Result.SENT}
    assert received(server) == Counter({f"c{i}@example.jp": 1 for i in range(40)}) + Counter(
        {f"c{i}@example.jp": 1 for i in range(8)}
    )
    # At most one connection per lane, kept for the next batch (a lane that found no envelope
    # left when its thread started never connects), each closed with QUIT.
    assert 1 <= server.handler.connections <= 4
    assert server.handler.quits == server.handler.connections
    with channel(server, 1) as smtp:
        assert smtp._conn is not None
        assert smtp._conn.has_extn("pipelining") is server.script.pipelining


def test_a_refused_recipient_in_a_pipelined_transaction_is_that_messages_failure_only(
    server: SmtpServer,
) -> None:
    server.script.rcpt_replies["c1@example.jp"] = "550 5.1.1 user unknown"
    server.script.tempfail_rcpt = 0
    with channel(server, 1) as smtp:
        results = smtp.send(envelopes(3))
    assert [r.result for r in results] == [Result.SENT, Result.PERMANENT, Result.SENT]
    assert results[1].hard_bounce
    assert received(server) == Counter({"c0@example.jp": 1, "c2@example.jp": 1})


def test_a_temporary_refusal_in_a_pipelined_transaction_is_retried_and_sent_once(
    server: SmtpServer,
) -> None:
    server.script.tempfail_rcpt = 2
    with channel(server, 1) as smtp:
        results = smtp.send(envelopes(2))
    assert [r.result for r in results] == [Result.SENT, Result.SENT]
    assert received(server) == Counter({"c0@example.jp": 1, "c1@example.jp": 1})


def test_a_connection_dropped_after_a_whole_message_leaves_only_that_message_in_doubt(
    server: SmtpServer,
) -> None:
    server.script.drop_after_data = 1
    batch = envelopes(20)
    with channel(server, 4) as smtp:
        results = smtp.send(batch)
    kinds = Counter(r.result for r in results)
    assert kinds == Counter({Result.SENT: 19, Result.IN_DOUBT: 1})
    [doubt] = [r for r in results if r.result is Result.IN_DOUBT]
    assert "never sent twice" in doubt.detail
    # The message in doubt arrived (the server hung up before answering) and nothing arrived
    # twice: the other connections went on; the dropped one reconnected if work was left for
    # it when it came back. How many lanes connect at all is a race (a lane whose thread starts
    # after the others took every envelope never connects): never more than 4 plus that one.
    arrived = Counter(email.message_from_bytes(m)["To"] for m in server.handler.arrived)
    assert set(arrived.values()) == {1} and len(arrived) == 20
    assert received(server)[f"c{doubt.delivery_id - 100}@example.jp"] == 0
    assert 1 <= server.handler.connections <= 5


def test_drops_before_the_end_of_data_are_retried_and_sent_exactly_once(
    server: SmtpServer,
) -> None:
    server.script.drop_at_rcpt = 3
    batch = envelopes(20)
    with channel(server, 4) as smtp:
        results = smtp.send(batch)
    assert {r.result for r in results} == {Result.SENT}
    assert set(received(server).values()) == {1} and len(received(server)) == 20


def test_a_dead_server_stops_every_connection_and_leaves_the_rest_untried(
    server: SmtpServer,
) -> None:
    server.script.dead_after = 5
    with channel(server, 4) as smtp:
        results = smtp.send(envelopes(30))
        assert smtp.lost is not None
    kinds = Counter(r.result for r in results)
    assert kinds[Result.SENT] == 5
    assert kinds[Result.SENT] + kinds[Result.TEMPORARY] + kinds[Result.IN_DOUBT] == 30
    # Each connection finds the server gone on its own: the message it was writing (in doubt
    # or temporary), perhaps one more while reconnecting; every later one is not tried.
    failed_tries = [r for r in results if r.tried and r.result is not Result.SENT]
    assert 1 <= len(failed_tries) <= 2 * 4
    assert sum(1 for r in results if not r.tried) == 30 - 5 - len(failed_tries)
    assert len(received(server)) == 5


def test_every_message_waits_for_its_slot_of_the_rate_limit_over_all_connections(
    server: SmtpServer,
) -> None:
    clock = SlotClock()
    limiter = Limiter(RateLimit(per_second=10), clock=clock, sleep=clock.sleep)
    with channel(server, 4, limiter) as smtp:
        results = smtp.send(envelopes(30))
    assert {r.result for r in results} == {Result.SENT}
    # 10 at once (one second's burst), then 20 slots 0.1 s apart, each taken once.
    assert sorted(clock.slots) == pytest.approx([100 + 0.1 * k for k in range(1, 21)])


def test_the_rate_limit_comes_from_the_configuration() -> None:
    settings = SmtpSettings(connections=4, rate_limit={"per_second": 50, "per_hour": 20000})
    smtp = SmtpChannel(settings, None)
    assert smtp.connections == 4
    assert smtp.limiter.limit == RateLimit(per_second=50, per_hour=20000)


def test_a_server_asking_to_slow_down_pauses_the_channel_and_the_message_is_sent(
    server: SmtpServer,
) -> None:
    server.script.throttle_rcpt = 1
    clock = SlotClock()
    limiter = Limiter(RateLimit(per_second=1000), clock=clock, sleep=clock.sleep)
    with channel(server, 2, limiter) as smtp:
        results = smtp.send(envelopes(6))
    assert {r.result for r in results} == {Result.SENT}  # slowed down, nothing given up
    assert set(received(server).values()) == {1} and len(received(server)) == 6
    assert max(clock.slots) >= 100.01  # every connection waited for the pause (the backoff)


def test_without_a_rate_limit_a_slow_down_answer_still_stops_the_channel_for_the_run(
    server: SmtpServer,
) -> None:
    server.script.throttle_rcpt = 1
    with channel(server, 1) as smtp:
        results = smtp.send(envelopes(3))
    assert [r.result for r in results] == [Result.THROTTLED] * 3
    assert [r.tried for r in results] == [True, False, False]


# -- the sweep: records and crashes with four connections ---------------------------------------


def smtp_config(config_data: dict, server: SmtpServer, send_batch: int) -> dict:
    config_data["email"] = {
        "transport": "smtp",
        "smtp": {"host": server.host, "port": server.port, "connections": 4, "timeout": 5},
    }
    config_data["sweep"]["send_batch"] = send_batch
    return config_data


def recipients(server: SmtpServer) -> Counter[str]:
    return received(server)


@pytest.mark.slow
def test_a_sweep_on_four_connections_records_a_dropped_message_in_doubt_and_the_rest_sent(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    from tests.conftest import base_config

    due = due_carts(sqlite_shop, 24)
    with running_server() as server:
        server.script.drop_after_data = 2
        config = write_config(
            tmp_path, smtp_config(base_config(sqlite_shop.url, tmp_path), server, 12)
        )
        first = sweep_in_a_new_process(config, NOW)
        second = sweep_in_a_new_process(config, NOW + AFTER_LEASE)
    assert (first["sent"], first["failed"]) == (22, 0)
    assert statuses(sqlite_shop) == Counter(sent=22, in_doubt=2)
    assert second["sent"] == 0
    got = recipients(server)
    assert set(got.values()) == {1} and len(got) == 22  # nothing twice
    in_doubt = {r.order_id for r in rows(sqlite_shop) if r.status == "in_doubt"}
    assert len(in_doubt) == 2 and in_doubt <= set(due)


@pytest.mark.slow
def test_a_sweep_killed_with_messages_in_flight_on_four_connections_sends_nothing_twice(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    """kill -9 of the sweeping process from the server, when the 7th message has arrived and
    before it is answered: several connections are mid-message. The killed batch is left in
    doubt, every other due cart is sent exactly once by the next run."""
    from tests.conftest import base_config

    due = due_carts(sqlite_shop, 40)
    with running_server() as server:
        server.script.pipelining = True  # MAIL, RCPT and DATA in flight together too
        config = write_config(
            tmp_path, smtp_config(base_config(sqlite_shop.url, tmp_path), server, 10)
        )
        proc: list[subprocess.Popen[str]] = []

        def kill_at_seventh(arrived: int) -> None:
            if arrived == 7 and proc:
                os.kill(proc[0].pid, signal.SIGKILL)

        server.script.on_data = kill_at_seventh
        proc.append(spawn(config, NOW))
        finish(proc[0], expect_rc=-signal.SIGKILL)
        server.script.on_data = None
        after_crash = statuses(sqlite_shop)
        left_sending = after_crash["sending"]
        assert 0 < left_sending <= 10, after_crash  # only the batch in the channel's hands
        rerun = sweep_in_a_new_process(config, NOW + AFTER_LEASE)
        later = sweep_in_a_new_process(config, NOW + AFTER_LEASE + timedelta(minutes=4))
    assert rerun["in_doubt_found"] == left_sending
    assert later["sent"] == 0
    assert statuses(sqlite_shop) == Counter(sent=len(due) - left_sending, in_doubt=left_sending)
    got = recipients(server)
    assert max(got.values()) == 1  # nothing delivered twice
    sent_to = {f"customer{sqlite_shop.customer_of(int(o))}@example.jp" for o in due}
    in_doubt = {r.order_id for r in rows(sqlite_shop) if r.status == "in_doubt"}
    doubtful = {f"customer{sqlite_shop.customer_of(int(o))}@example.jp" for o in in_doubt}
    assert sent_to - set(got) <= doubtful  # every loss is reported in doubt
