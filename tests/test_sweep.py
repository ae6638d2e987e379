"""The sweep end to end on a real database of each backend, through the library API."""

from __future__ import annotations

import email
from datetime import datetime, timedelta
from pathlib import Path

from cartnudge.app import App
from cartnudge.channels.memory import MemoryChannel
from cartnudge.channels.outbox import OutboxChannel
from cartnudge.config import parse_config
from cartnudge.sweep import Sweep
from tests.conftest import write_config
from tests.shop import ShopBuilder

NOW = datetime(2026, 11, 22, 12, 0)


def app_for(config_data: dict, tmp_path: Path) -> App:
    path = write_config(tmp_path, config_data)
    from cartnudge.config import load_config

    return App(load_config(path))


def sweep(app: App, now: datetime, channel=None, dry_run: bool = False):
    channel = channel or MemoryChannel()
    return Sweep(app, channel, now=now, dry_run=dry_run).run(), channel


def test_a_due_cart_is_reminded_once_and_a_second_sweep_sends_nothing(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    shop.abandoned(NOW - timedelta(hours=4))
    app = app_for(config_data, tmp_path)
    first, channel = sweep(app, NOW)
    # A full sweep reads the cart again and finds it delivered; an incremental one (the
    # default an hour later) does not read it at all (README, "Incremental and full sweeps").
    second = Sweep(app, channel, now=NOW + timedelta(hours=1), full=True).run()
    third, _ = sweep(app, NOW + timedelta(hours=2), channel)
    app.dispose()
    assert (first.sent, second.sent, third.sent) == (1, 0, 0)
    assert second.skipped == {"already_delivered": 1}
    assert (third.mode, third.candidates) == ("incremental", 0)
    assert len(channel.sent) == 1


def test_not_yet_due_and_expired_carts_are_not_sent(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    shop.abandoned(NOW - timedelta(hours=2))  # due in an hour
    shop.abandoned(NOW - timedelta(hours=24))  # expired exactly now
    shop.abandoned(NOW - timedelta(hours=23, minutes=59))  # still valid, due
    app = app_for(config_data, tmp_path)
    summary, channel = sweep(app, NOW)
    app.dispose()
    assert summary.sent == 1
    assert summary.skipped.get("cart_expired", 0) <= 1  # the SQL pre-filter may leave it out
    assert len(channel.sent) == 1


def test_the_outbox_gets_one_parseable_eml_per_delivery(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    for hours in (4, 5, 6):
        shop.abandoned(NOW - timedelta(hours=hours))
    app = app_for(config_data, tmp_path)
    summary, _ = sweep(app, NOW, OutboxChannel(app.config.outbox_dir))
    app.dispose()
    files = sorted(app.config.outbox_dir.glob("*.eml"))
    assert summary.sent == 3 and len(files) == 3
    message = email.message_from_bytes(files[0].read_bytes())
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_content_type() == "multipart/alternative"


def test_a_dry_run_renders_but_writes_and_sends_nothing(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    shop.abandoned(NOW - timedelta(hours=4))
    app = app_for(config_data, tmp_path)
    dry, channel = sweep(app, NOW, dry_run=True)
    real, _ = sweep(app, NOW)
    app.dispose()
    assert (dry.would_send, dry.sent, len(channel.sent)) == (1, 0, 0)
    assert real.sent == 1


def test_parse_config_is_usable_without_a_file(sqlite_url: str, tmp_path: Path) -> None:
    from tests.conftest import TOKEN_ENV, TOKEN_KEYS, base_config

    config = parse_config(
        base_config(sqlite_url, tmp_path),
        source="inline",
        base_dir=tmp_path,
        environ={TOKEN_ENV: TOKEN_KEYS},
    )
    assert config.confirm_steps[0].delay == timedelta(hours=3)


def test_a_skipped_order_is_recorded_once_per_reason_however_many_sweeps_see_it(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    from sqlalchemy import select

    from cartnudge.state.schema import skips

    no_consent = shop.abandoned(NOW - timedelta(hours=4), email_optin=False)
    fraud = shop.abandoned(NOW - timedelta(hours=5), fraud_result="NG")
    app = app_for(config_data, tmp_path)
    for hour in range(3):
        sweep(app, NOW + timedelta(hours=hour))
    app.dispose()
    with shop.engine.connect() as conn:
        rows = sorted((r.order_id, r.reason) for r in conn.execute(select(skips)))
    assert rows == sorted([(str(no_consent), "no_consent"), (str(fraud), "fraud_result")])


def test_a_broken_item_row_fails_only_its_order_naming_the_query(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    from sqlalchemy import select, update

    from cartnudge.demo.schema import order_items
    from cartnudge.state.schema import deliveries

    broken = shop.abandoned(NOW - timedelta(hours=4))
    shop.abandoned(NOW - timedelta(hours=5))
    with shop.engine.begin() as conn:
        conn.execute(
            update(order_items).where(order_items.c.order_id == broken).values(product_name="")
        )
    app = app_for(config_data, tmp_path)
    summary, channel = sweep(app, NOW)
    app.dispose()
    with shop.engine.connect() as conn:
        failed = conn.execute(
            select(deliveries.c.order_id, deliveries.c.error).where(deliveries.c.status == "failed")
        ).all()
    assert (summary.sent, summary.failed, summary.exit_code, len(channel.sent)) == (1, 1, 1, 1)
    assert failed[0].order_id == str(broken)
    assert failed[0].error.endswith(f"order_items.sql: order {broken}: product_name is empty")


def test_rows_no_later_sweep_would_send_are_closed_as_failed(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    from sqlalchemy import select

    from cartnudge.channels.base import Result, SendResult
    from cartnudge.state.schema import deliveries

    expiring = shop.abandoned(NOW - timedelta(hours=4), email="expiring@example.jp")
    sequence = shop.abandoned(NOW - timedelta(hours=5))

    def refuse(envelope):
        return SendResult(envelope.delivery_id, Result.TEMPORARY, "451 try later")

    def refuse_expiring(envelope):
        if envelope.recipient == "expiring@example.jp":
            return refuse(envelope)
        return SendResult(envelope.delivery_id, Result.SENT, "250 ok")

    app = app_for(config_data, tmp_path)
    sweep(app, NOW, MemoryChannel(refuse))  # both left as retry
    app.dispose()
    config_data["flows"]["confirm"] = {"enabled": True, "steps": [{"delay": "3h"}, {"delay": "6h"}]}
    app = app_for(config_data, tmp_path)
    # +1h: the second cart's step 2 is due (5h + 1h = 6h), folding in its retried step 1
    sweep(app, NOW + timedelta(hours=1), MemoryChannel(refuse_expiring))
    # +21h: the first cart expired (4h + 21h = 25h > 24h) with its retry row unsent
    sweep(app, NOW + timedelta(hours=21))
    app.dispose()
    with shop.engine.connect() as conn:
        rows = {(r.order_id, r.step): (r.status, r.error) for r in conn.execute(select(deliveries))}
    assert rows[(str(sequence), 0)] == ("failed", "superseded by step 2")
    assert rows[(str(sequence), 1)][0] == "sent"
    assert rows[(str(expiring), 0)] == ("failed", "the cart expired before it could be sent")
