"""Server answers in the sweep, against a real SMTP server on the three databases (issue 10,
points 1 and 8): an account-level refusal throttles the channel for the run without failing or
charging anyone; a bare 550 never suppresses; a hard bounce and its suppression are one
transaction; a server that dies mid-run exits 5, like one that is down at the start."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from cartnudge.app import App
from cartnudge.channels.base import Retries
from cartnudge.config import load_config
from cartnudge.errors import EXIT_CHANNEL, EXIT_THROTTLED, DatabaseError
from cartnudge.state.schema import deliveries, suppressions
from cartnudge.sweep import Sweep
from tests.conftest import base_config, write_config
from tests.shop import ShopBuilder
from tests.smtp_server import running_server

NOW = datetime(2026, 11, 22, 12, 0)
QUOTA = "550 5.4.5 Daily user sending quota exceeded."


def smtp_app(shop: ShopBuilder, tmp_path: Path, port: int, batch: int = 2) -> App:
    data = base_config(shop.url, tmp_path)
    data["email"] = {"transport": "smtp", "smtp": {"host": "127.0.0.1", "port": port}}
    data["sweep"]["send_batch"] = batch
    return App(load_config(write_config(tmp_path, data)))


def rows(shop: ShopBuilder) -> dict[str, tuple[str, int]]:
    with shop.engine.connect() as conn:
        return {r.recipient: (r.status, r.attempts) for r in conn.execute(select(deliveries))}


def suppressed(shop: ShopBuilder) -> list[str]:
    with shop.engine.connect() as conn:
        return sorted(r.address for r in conn.execute(select(suppressions)))


def carts(shop: ShopBuilder, n: int) -> list[str]:
    addresses = [f"c{i}@example.jp" for i in range(n)]
    for i, address in enumerate(addresses):
        shop.abandoned(NOW - timedelta(hours=4, minutes=i), email=address)
    return addresses


def test_a_daily_quota_throttles_the_channel_and_loses_no_one(
    shop: ShopBuilder, tmp_path: Path
) -> None:
    addresses = carts(shop, 6)
    with running_server() as server:
        server.script.data_reply_after = 2
        server.script.data_reply = QUOTA
        app = smtp_app(shop, tmp_path, server.port)
        first = Sweep(app, app.email_channel(), now=NOW).run()
        app.dispose()
        # nothing failed, nothing charged: four reminders wait for the next sweep
        assert (first.sent, first.failed, first.retry_later) == (2, 0, 4)
        assert first.exit_code == EXIT_THROTTLED == 8
        assert "5.4.5 Daily user sending quota exceeded" in first.throttled_channels["email"]
        state = rows(shop)
        assert sorted(s for s, _ in state.values()) == ["retry"] * 4 + ["sent"] * 2
        assert {a for s, a in state.values() if s == "retry"} == {0}
        assert len(server.handler.arrived) == 3  # the channel stopped at the first refusal
        # an hour later the quota is back: the other four go, each once
        server.script.data_reply_after = None
        app = smtp_app(shop, tmp_path, server.port)
        second = Sweep(app, app.email_channel(), now=NOW + timedelta(hours=1)).run()
        app.dispose()
    assert (second.sent, second.failed, second.exit_code) == (4, 0, 0)
    assert sorted(r.rcpt_tos[0] for r in server.handler.messages) == sorted(addresses)
    assert suppressed(shop) == []


def test_five_throttled_sweeps_never_give_anyone_up(shop: ShopBuilder, tmp_path: Path) -> None:
    carts(shop, 3)
    with running_server() as server:
        server.script.data_reply_after = 0
        server.script.data_reply = "451 4.7.0 Rate limited, try again later"
        for hour in range(6):
            app = smtp_app(shop, tmp_path, server.port, batch=3)
            summary = Sweep(app, app.email_channel(), now=NOW + timedelta(hours=hour)).run()
            app.dispose()
            assert summary.exit_code == EXIT_THROTTLED, hour
        assert sorted(s for s, _ in rows(shop).values()) == ["retry"] * 3
        assert summary.failed == 0


def test_a_bare_550_at_rcpt_fails_the_message_but_never_suppresses(
    shop: ShopBuilder, tmp_path: Path
) -> None:
    shop.abandoned(NOW - timedelta(hours=4), email="listed@example.jp")
    with running_server() as server:
        server.script.rcpt_replies["listed@example.jp"] = "550 Rejected"
        app = smtp_app(shop, tmp_path, server.port)
        summary = Sweep(app, app.email_channel(), now=NOW).run()
        app.dispose()
    assert (summary.failed, summary.exit_code) == (1, 1)
    assert suppressed(shop) == []


def test_a_hard_bounce_and_its_suppression_are_written_in_one_transaction(
    shop: ShopBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If writing the suppression fails, the bounce is not recorded either: the delivery stays
    ``sending`` (in doubt for the next sweep), never ``failed`` with its address unsuppressed."""
    shop.abandoned(NOW - timedelta(hours=4), email="gone@example.jp")
    from cartnudge.state import deliveries as module

    def broken_insert(conn, table):  # noqa: ANN001, ANN202 - the shape of the real one
        if table is module.suppressions:
            raise module.DatabaseError("state database, record results: disk full")
        return original(conn, table)

    original = module._insert_ignoring_conflicts
    with running_server() as server:
        server.script.rcpt_replies["gone@example.jp"] = "550 5.1.1 The email account does not exist"
        app = smtp_app(shop, tmp_path, server.port)
        monkeypatch.setattr(module, "_insert_ignoring_conflicts", broken_insert)
        with pytest.raises(DatabaseError):
            Sweep(app, app.email_channel(), now=NOW).run()
        monkeypatch.setattr(module, "_insert_ignoring_conflicts", original)
        assert rows(shop)["gone@example.jp"][0] == "sending"
        assert suppressed(shop) == []
        # the normal case: both, together
        shop.abandoned(NOW - timedelta(hours=4), email="gone2@example.jp")
        server.script.rcpt_replies["gone2@example.jp"] = "550 5.1.1 user unknown"
        summary = Sweep(app, app.email_channel(), now=NOW + timedelta(minutes=1)).run()
        app.dispose()
    assert summary.failed == 1
    assert rows(shop)["gone2@example.jp"][0] == "failed"
    assert suppressed(shop) == ["gone2@example.jp"]


def test_a_server_that_dies_mid_run_exits_5_and_leaves_the_rest_untried(
    shop: ShopBuilder, tmp_path: Path
) -> None:
    carts(shop, 6)
    with running_server() as server:
        server.script.dead_after = 2
        app = smtp_app(shop, tmp_path, server.port)
        channel = app.email_channel()
        channel.retries = Retries(backoff=0.01)  # type: ignore[attr-defined]
        summary = Sweep(app, channel, now=NOW).run()
        app.dispose()
    assert summary.exit_code == EXIT_CHANNEL == 5
    assert "server lost mid-run" in summary.unusable_channels["email"]
    assert summary.sent == 2
    state = rows(shop)
    assert sum(1 for s, _ in state.values() if s == "retry") + summary.in_doubt_found == 4
    # only the message handed over when the server died was charged a try
    assert sorted(a for s, a in state.values() if s == "retry") == [0, 0, 1]


def test_a_write_that_fails_before_the_end_of_data_dot_is_retried_not_in_doubt(
    sqlite_shop: ShopBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dot never left cartnudge: no server can have accepted the message, so it is a
    temporary failure (retried at once on a new connection), never "in doubt"."""
    import smtplib

    sqlite_shop.abandoned(NOW - timedelta(hours=4), email="hanako@example.jp")
    real_send = smtplib.SMTP.send
    failures = []

    def send(self: smtplib.SMTP, data: bytes | str) -> None:
        if isinstance(data, bytes) and data.endswith(b"\r\n.\r\n") and not failures:
            failures.append(data)
            real_send(self, data[: len(data) // 2])  # half the message, then the line drops
            self.close()
            raise smtplib.SMTPServerDisconnected("Connection reset by peer")
        real_send(self, data)

    monkeypatch.setattr(smtplib.SMTP, "send", send)
    with running_server() as server:
        app = smtp_app(sqlite_shop, tmp_path, server.port)
        channel = app.email_channel()
        channel.retries = Retries(backoff=0.01)  # type: ignore[attr-defined]
        summary = Sweep(app, channel, now=NOW).run()
        app.dispose()
    assert failures  # the write really failed once, before the dot
    assert (summary.sent, summary.in_doubt_found) == (1, 0)
    assert len(server.handler.messages) == 1
    assert rows(sqlite_shop)["hanako@example.jp"] == ("sent", 1)
