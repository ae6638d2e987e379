"""The sweep through a real SMTP server (aiosmtpd in this process): delivered once, 451 left for
the next sweep, a hard bounce suppressed for good."""

from __future__ import annotations

import email
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from cartnudge.app import App
from cartnudge.config import load_config
from cartnudge.state.schema import deliveries, suppressions
from cartnudge.sweep import Sweep
from tests.conftest import write_config
from tests.shop import ShopBuilder
from tests.smtp_server import FOREVER, TEMPFAIL, USER_UNKNOWN, running_server

NOW = datetime(2026, 11, 22, 12, 0)


def smtp_app(config_data: dict, tmp_path: Path, port: int) -> App:
    config_data["email"] = {"transport": "smtp", "smtp": {"host": "127.0.0.1", "port": port}}
    return App(load_config(write_config(tmp_path, config_data)))


def statuses(shop: ShopBuilder) -> dict[str, str]:
    with shop.engine.connect() as conn:
        return {r.recipient: r.status for r in conn.execute(select(deliveries))}


def test_a_sweep_delivers_each_reminder_once_over_smtp(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    from tests.conftest import base_config

    for hours in (4, 5, 6):
        sqlite_shop.abandoned(NOW - timedelta(hours=hours))
    with running_server() as server:
        app = smtp_app(base_config(sqlite_shop.url, tmp_path), tmp_path, server.port)
        first = Sweep(app, app.email_channel(), now=NOW).run()
        second = Sweep(app, app.email_channel(), now=NOW + timedelta(hours=1)).run()
        app.dispose()
    assert (first.sent, second.sent) == (3, 0)
    assert server.handler.connections == 1  # the second sweep had nothing to send
    subjects = [email.message_from_bytes(m.content)["Subject"] for m in server.handler.messages]
    assert len(subjects) == 3


def test_a_temporary_refusal_is_left_for_the_next_sweep_and_then_sent_once(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    from tests.conftest import base_config

    sqlite_shop.abandoned(NOW - timedelta(hours=4))
    with running_server() as server:
        server.script.tempfail_rcpt = FOREVER
        app = smtp_app(base_config(sqlite_shop.url, tmp_path), tmp_path, server.port)
        first = Sweep(app, app.email_channel(), now=NOW).run()
        assert list(statuses(sqlite_shop).values()) == ["retry"]
        server.script.tempfail_rcpt = 0
        second = Sweep(app, app.email_channel(), now=NOW + timedelta(hours=1)).run()
        third = Sweep(app, app.email_channel(), now=NOW + timedelta(hours=2)).run()
        app.dispose()
    assert (first.retry_later, second.sent, third.sent) == (1, 1, 0)
    assert len(server.handler.messages) == 1
    assert list(statuses(sqlite_shop).values()) == ["sent"]


def test_a_hard_bounce_fails_the_delivery_and_suppresses_the_address(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    from tests.conftest import base_config

    sqlite_shop.abandoned(NOW - timedelta(hours=4), email="gone@example.jp")
    sqlite_shop.abandoned(NOW - timedelta(hours=5), email="here@example.jp")
    with running_server() as server:
        server.script.rcpt_replies["gone@example.jp"] = USER_UNKNOWN
        app = smtp_app(base_config(sqlite_shop.url, tmp_path), tmp_path, server.port)
        summary = Sweep(app, app.email_channel(), now=NOW).run()
        app.dispose()
    with sqlite_shop.engine.connect() as conn:
        suppressed = [(r.address, r.reason) for r in conn.execute(select(suppressions))]
    assert (summary.sent, summary.failed, summary.exit_code) == (1, 1, 1)
    assert statuses(sqlite_shop) == {"gone@example.jp": "failed", "here@example.jp": "sent"}
    assert suppressed == [("gone@example.jp", "hard_bounce")]
    assert TEMPFAIL not in "".join(statuses(sqlite_shop).values())


def test_an_unreachable_server_exits_5_and_loses_nothing(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    from cartnudge.errors import EXIT_CHANNEL
    from tests.conftest import base_config
    from tests.smtp_server import free_port

    sqlite_shop.abandoned(NOW - timedelta(hours=4))
    app = smtp_app(base_config(sqlite_shop.url, tmp_path), tmp_path, free_port())
    down = Sweep(app, app.email_channel(), now=NOW).run()
    app.dispose()
    assert (down.exit_code, down.sent, down.retry_later) == (EXIT_CHANNEL, 0, 1)
    assert "cannot connect" in down.unusable_channels["email"]
    assert list(statuses(sqlite_shop).values()) == ["retry"]  # not tried, nothing in doubt
    with running_server() as server:  # the server is back an hour later
        app = smtp_app(base_config(sqlite_shop.url, tmp_path), tmp_path, server.port)
        later = Sweep(app, app.email_channel(), now=NOW + timedelta(hours=1)).run()
        app.dispose()
    assert (later.sent, later.in_doubt_found) == (1, 0)
    assert len(server.handler.messages) == 1
