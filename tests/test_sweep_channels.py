"""The input flow, SMS and push through the sweep, with quiet hours and the frequency cap
(SPEC 2.6-2.8), on every backend; SMS also through a real HTTP gateway on this machine."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from cartnudge.app import App
from cartnudge.channels.base import Envelope, Result, SendResult
from cartnudge.channels.memory import MemoryChannel
from cartnudge.config import load_config
from cartnudge.errors import ConfigError
from cartnudge.state.schema import deliveries, suppressions
from cartnudge.sweep import Sweep
from tests.conftest import write_config
from tests.http_server import HttpServer, Reply
from tests.shop import AD_INPUT_OFF, AD_INPUT_ON, ShopBuilder

NOON_JST = datetime(2026, 11, 22, 3, 0)  # 12:00 in Tokyo: inside every channel's hours
PHONE = "090-1234-5678"
E164 = "+819012345678"


def app_with(config_data: dict, tmp_path: Path, **changes: dict) -> App:
    for key, value in changes.items():
        config_data[key] = value
    return App(load_config(write_config(tmp_path, config_data)))


def input_flow(channels: list[str]) -> dict:
    return {"input": {"enabled": True, "delay": "1h", "channels": channels}}


def sms_gateway(url: str = "http://127.0.0.1:9/sms") -> dict:
    return {"enabled": True, "provider": "webhook", "url": url, "sender": "MIDORIYA"}


def left_lp_form(shop: ShopBuilder, at: datetime, **changes: object) -> int:
    """A visitor who typed phone and e-mail into the LP form (from an enabled ad) and left."""
    values: dict = dict(
        status="visitor", storefront="lp", step="input", ad_url_id=AD_INPUT_ON,
        phone=PHONE, sms_optin=True,
    )  # fmt: skip
    values.update(changes)
    return shop.abandoned(at, **values)


def run(app: App, now: datetime, **channels: MemoryChannel):
    email = channels.pop("email", MemoryChannel())
    summary = Sweep(app, email, now=now, channels=channels).run()
    return summary, email


def test_the_input_flow_sends_email_and_sms_with_the_legal_footer(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    left_lp_form(shop, NOON_JST - timedelta(hours=2))
    left_lp_form(shop, NOON_JST - timedelta(hours=2), ad_url_id=AD_INPUT_OFF)  # not a candidate
    config_data["flows"].update(input_flow(["email", "sms"]))
    app = app_with(config_data, tmp_path, sms=sms_gateway())
    sms = MemoryChannel()
    summary, email = run(app, NOON_JST, sms=sms)
    app.dispose()
    assert (len(email.sent), len(sms.sent)) == (1, 1)
    text = sms.sent[0].data.decode("utf-8")
    assert sms.sent[0].recipient == E164
    assert "テスト商店" in text and "配信停止:https://shop.example.jp/unsubscribe?token=" in text
    assert summary.flows["input"]["sent"] == 2
    assert "confirm" not in summary.flows  # the confirm flow has no candidates here


def test_an_sms_reaches_a_real_http_gateway_once(sqlite_shop: ShopBuilder, tmp_path: Path) -> None:
    from tests.conftest import base_config

    left_lp_form(sqlite_shop, NOON_JST - timedelta(hours=2))
    data = base_config(sqlite_shop.url, tmp_path)
    data["flows"].update(input_flow(["sms"]))
    with HttpServer(default=Reply.json(201, {"id": "SM1"})) as gateway:
        app = app_with(data, tmp_path, sms=sms_gateway(gateway.url + "/v1/messages"))
        first = Sweep(app, MemoryChannel(), now=NOON_JST).run()
        second = Sweep(app, MemoryChannel(), now=NOON_JST + timedelta(hours=1)).run()
        app.dispose()
        bodies = [r.json() for r in gateway.requests]
    assert (first.sent, second.sent) == (1, 0)
    assert [(b["to"], b["from"]) for b in bodies] == [(E164, "MIDORIYA")]
    assert "配信停止:" in bodies[0]["text"]


def test_an_sms_due_at_night_waits_for_the_morning(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    # left 21:30 JST (12:30 UTC); due 22:30 JST; SMS allowed 09:00-21:00 JST
    left = datetime(2026, 11, 22, 12, 30)
    left_lp_form(shop, left)
    config_data["flows"].update(input_flow(["sms"]))
    config_data["shop"]["cart_ttl"] = 2880  # two days: still valid in the morning
    app = app_with(config_data, tmp_path, sms=sms_gateway())
    sms = MemoryChannel()
    night, _ = run(app, left + timedelta(hours=1), sms=sms)
    morning, _ = run(app, datetime(2026, 11, 23, 0, 0), sms=sms)  # 09:00 JST
    app.dispose()
    assert (night.sent, night.deferred) == (0, {"quiet_hours": 1})
    assert (morning.sent, len(sms.sent)) == (1, 1)


def test_the_frequency_cap_holds_a_second_reminder_for_the_same_customer(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    customer = shop.customer()
    shop.abandoned(NOON_JST - timedelta(hours=4), customer_id=customer)
    shop.abandoned(NOON_JST - timedelta(hours=5), customer_id=customer)
    config_data["shop"]["cart_ttl"] = "unlimited"
    app = app_with(config_data, tmp_path)
    first, email = run(app, NOON_JST)
    # 16h after the first reminder the cap releases the second
    later, _ = run(app, NOON_JST + timedelta(hours=16), email=email)
    app.dispose()
    assert (first.sent, first.deferred) == (1, {"frequency_cap": 1})
    assert later.sent == 1 and len(email.sent) == 2


def test_a_capped_reminder_whose_cart_expires_first_is_skipped_with_its_reason(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    customer = shop.customer()
    shop.abandoned(NOON_JST - timedelta(hours=4), customer_id=customer)
    # Abandoned 20h ago (expires in 4h, long before the cap releases 16h after the first
    # reminder), but active an hour ago: the sweep reads it after the other cart.
    shop.abandoned(
        NOON_JST - timedelta(hours=20), customer_id=customer,
        last_activity_at=NOON_JST - timedelta(hours=1),
    )  # fmt: skip
    app = app_with(config_data, tmp_path)
    summary, email = run(app, NOON_JST)
    app.dispose()
    assert (summary.sent, summary.skipped["frequency_cap"], len(email.sent)) == (1, 1, 1)


def test_a_push_step_of_minutes_is_sent_and_an_unregistered_token_is_suppressed(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    shop.abandoned(NOON_JST - timedelta(minutes=40), push_token="tok-ok", push_optin=True)
    gone = "dXs9Kq:APA91bGone"  # FCM tokens are case-sensitive
    shop.abandoned(NOON_JST - timedelta(minutes=45), push_token=gone, push_optin=True)
    config_data["flows"]["confirm"] = {
        "enabled": True, "steps": [{"delay": "30m", "channel": "push"}],
    }  # fmt: skip
    config_data["frequency_cap"] = {"enabled": False}

    def fcm(envelope: Envelope) -> SendResult:
        if envelope.recipient == gone:
            return SendResult(envelope.delivery_id, Result.PERMANENT, "404 UNREGISTERED", True)
        return SendResult(envelope.delivery_id, Result.SENT, "projects/p/messages/1")

    app = app_with(config_data, tmp_path, push={"enabled": True, "service_account_env": "HOME"})
    push = MemoryChannel(fcm)
    summary, _ = run(app, NOON_JST, push=push)
    # The same device abandons another cart: its token stays suppressed.
    shop.abandoned(NOON_JST, push_token=gone, push_optin=True)
    later, _ = run(app, NOON_JST + timedelta(hours=1), push=push)
    app.dispose()
    payload = json.loads(push.sent[0].data)
    with shop.engine.connect() as conn:
        listed = [(r.channel, r.address) for r in conn.execute(select(suppressions))]
    assert (summary.sent, summary.failed) == (1, 1)
    assert payload["link"].startswith("https://shop.example.jp/cart/restore?token=")
    assert listed == [("push", gone)]
    assert (later.sent, later.skipped["suppressed"], len(push.sent)) == (0, 1, 1)


def test_sms_without_an_enabled_gateway_is_a_configuration_error(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    from tests.conftest import base_config

    data = base_config(sqlite_shop.url, tmp_path)
    data["flows"].update(input_flow(["email", "sms"]))
    with pytest.raises(ConfigError, match="no SMS gateway is configured and enabled"):
        load_config(write_config(tmp_path, data))


def test_a_too_long_sms_template_is_refused_before_anything_is_sent(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    from tests.conftest import base_config

    data = base_config(sqlite_shop.url, tmp_path)
    data["flows"].update(input_flow(["sms"]))
    data["sms"] = dict(sms_gateway(), max_segments=1)  # the 140002 SMS needs more than one
    from cartnudge.errors import TemplateError

    with pytest.raises(TemplateError, match="template 140002: the SMS text needs"):
        App(load_config(write_config(tmp_path, data)))


def test_input_flow_deliveries_are_recorded_per_channel(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    left_lp_form(shop, NOON_JST - timedelta(hours=2))
    config_data["flows"].update(input_flow(["email", "sms"]))
    app = app_with(config_data, tmp_path, sms=sms_gateway())
    run(app, NOON_JST, sms=MemoryChannel())
    app.dispose()
    with shop.engine.connect() as conn:
        rows = sorted(
            (r.flow, r.channel, r.recipient, r.status) for r in conn.execute(select(deliveries))
        )
    assert rows == [
        ("input", "email", rows[0][2], "sent"),
        ("input", "sms", E164, "sent"),
    ]


def test_the_cap_counts_this_runs_own_sends_once_across_pages(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    customer = shop.customer()
    for hours in (4, 5, 6):
        shop.abandoned(NOON_JST - timedelta(hours=hours), customer_id=customer)
    config_data["sweep"]["chunk_size"] = 1  # one cart per page: the first send is stored by then
    config_data["frequency_cap"] = {"max_sends": 2, "window": "16h"}
    app = app_with(config_data, tmp_path)
    summary, email = run(app, NOON_JST)
    app.dispose()
    assert (summary.sent, summary.deferred, len(email.sent)) == (2, {"frequency_cap": 1}, 2)


def test_a_channel_that_cannot_open_does_not_stop_the_others(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    from cartnudge.channels.base import Channel
    from cartnudge.errors import ChannelError

    class Down(Channel):
        name = "push"

        def open(self) -> None:
            raise ChannelError("push: token endpoint refused the service account")

    left_lp_form(shop, NOON_JST - timedelta(hours=2))  # e-mail and SMS
    shop.abandoned(NOON_JST - timedelta(minutes=40), push_token="tok", push_optin=True)
    config_data["flows"]["confirm"] = {
        "enabled": True, "steps": [{"delay": "30m", "channel": "push"}],
    }  # fmt: skip
    config_data["flows"].update(input_flow(["email", "sms"]))
    app = app_with(
        config_data, tmp_path, sms=sms_gateway(),
        push={"enabled": True, "service_account_env": "HOME"},
    )  # fmt: skip
    sms = MemoryChannel()
    summary, email = run(app, NOON_JST, sms=sms, push=Down())
    app.dispose()
    with shop.engine.connect() as conn:
        push_rows = [
            r.status for r in conn.execute(select(deliveries).where(deliveries.c.channel == "push"))
        ]
    assert (len(email.sent), len(sms.sent), summary.exit_code) == (1, 1, 5)
    assert push_rows == ["retry"]
    assert summary.unusable_channels == {"push": "push: token endpoint refused the service account"}


def test_each_step_of_a_sequence_is_a_reminder_for_the_cap(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    left = NOON_JST - timedelta(hours=1)
    shop.abandoned(left)
    config_data["shop"]["cart_ttl"] = "unlimited"
    config_data["flows"]["confirm"] = {
        "enabled": True, "steps": [{"delay": "1h"}, {"delay": "3h"}],
    }  # fmt: skip
    app = app_with(config_data, tmp_path)
    first, email = run(app, NOON_JST)  # step 0 at +1h
    second, _ = run(app, left + timedelta(hours=3), email=email)  # step 1 due, capped
    # released 16h after the first reminder: +17h
    third, _ = run(app, NOON_JST + timedelta(hours=16), email=email)
    app.dispose()
    assert (first.sent, second.sent, second.deferred, third.sent) == (
        1, 0, {"frequency_cap": 1}, 1,
    )  # fmt: skip
