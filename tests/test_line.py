"""LINE (issue 13, point 5): the Messaging API's push message against a real local HTTP server
that answers as LINE documents, the configuration, and the sweep on every backend (consent,
suppression, quiet hours, the frequency cap, the monthly quota)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from cartnudge.app import App
from cartnudge.channels.base import Envelope, Result, Retries
from cartnudge.channels.line import LineChannel, LineSettings, retry_key
from cartnudge.channels.memory import MemoryChannel
from cartnudge.config import load_config
from cartnudge.errors import ConfigError
from cartnudge.state.schema import deliveries, suppressions
from cartnudge.sweep import Sweep
from tests.conftest import base_config, write_config
from tests.http_server import HttpServer, Reply
from tests.shop import ShopBuilder

TOKEN = "line-channel-access-token-SECRET/abc+="
USER = "U" + "4af4980629" * 3 + "ab"
OTHER = "U" + "0123456789" * 3 + "cd"
NOON_JST = datetime(2026, 11, 22, 3, 0)

INVALID_TO = Reply.json(
    400,
    {
        "message": "The property, 'to', in the request body is invalid (line: -, column: -)",
    },
)
MONTHLY = Reply.json(429, {"message": "You have reached your monthly limit."})
RATE = Reply.json(429, {"message": "The API rate limit has been exceeded. Try again later."})
UNAUTHORIZED = Reply.json(
    401, {"message": "Authentication failed due to the following reason: invalid token."}
)
FORBIDDEN = Reply.json(403, {"message": "Access to this API is not available for your account"})
INTERNAL = Reply.json(500, {"message": "An error occurred in the internal server."})
ACCEPTED_BEFORE = Reply.json(409, {"message": "The retry key is already accepted"})
OK = Reply.json(200, {"sentMessages": [{"id": "461230966842064897", "quoteToken": "q"}]})


def envelope(i: int, user: str = USER) -> Envelope:
    messages = [{"type": "text", "text": f"message {i}"}]
    return Envelope(i, user, "テスト商店", f"cartnudge.{i}", json.dumps(messages).encode())


def channel(url: str, *, timeout: float = 5.0, max_tries: int = 3) -> LineChannel:
    settings = LineSettings(enabled=True, base_url=url, timeout=timeout)
    return LineChannel(settings, TOKEN, retries=Retries(max_tries, sleep=lambda _s: None))


# -- the channel against a local server ----------------------------------------------------------


def test_a_push_is_posted_as_the_api_documents_with_a_retry_key() -> None:
    with HttpServer(default=OK) as server, channel(server.url) as line:
        results = line.send([envelope(1), envelope(2, OTHER)])
    first, second = server.requests
    assert [r.result for r in results] == [Result.SENT, Result.SENT]
    assert first.path == "/v2/bot/message/push" and first.method == "POST"
    assert first.header("Authorization") == f"Bearer {TOKEN}"
    assert first.json() == {"to": USER, "messages": [{"type": "text", "text": "message 1"}]}
    key = first.header("X-Line-Retry-Key")
    assert str(uuid.UUID(key)) == key == retry_key("cartnudge.1", USER)
    assert second.header("X-Line-Retry-Key") != key
    assert server.connections == 1  # one client per sweep


def test_a_500_is_retried_under_the_same_key_and_sent_once() -> None:
    with HttpServer(default=OK) as server, channel(server.url) as line:
        server.script(INTERNAL, INTERNAL)
        [result] = line.send([envelope(1)])
    keys = {r.header("X-Line-Retry-Key") for r in server.requests}
    assert result.result is Result.SENT and len(server.requests) == 3 and len(keys) == 1


def test_a_repeat_that_line_had_already_accepted_counts_as_sent() -> None:
    # The first try's answer was lost (a timeout); the repeat under the same key gets 409.
    with HttpServer(default=ACCEPTED_BEFORE) as server, channel(server.url, timeout=0.3) as line:
        server.script(Reply.json(200, {}, delay=2.0))
        [result] = line.send([envelope(1)])
    assert result.result is Result.SENT
    assert len({r.header("X-Line-Retry-Key") for r in server.requests}) == 1


def test_no_answer_on_any_try_is_in_doubt() -> None:
    slow = HttpServer(default=Reply(200, delay=2.0))
    with slow as server, channel(server.url, timeout=0.2, max_tries=2) as line:
        [result] = line.send([envelope(1)])
    assert result.result is Result.IN_DOUBT and len(server.requests) == 2


def test_500_forever_is_temporary() -> None:
    with HttpServer(default=INTERNAL) as server, channel(server.url, max_tries=3) as line:
        [result] = line.send([envelope(1)])
    assert result.result is Result.TEMPORARY and len(server.requests) == 3
    assert "500" in result.detail


def test_an_invalid_user_id_is_a_hard_bounce() -> None:
    with HttpServer(default=OK) as server, channel(server.url) as line:
        server.script(INVALID_TO)
        results = line.send([envelope(1), envelope(2, OTHER)])
    assert (results[0].result, results[0].hard_bounce) == (Result.PERMANENT, True)
    assert results[1].result is Result.SENT and line.stopped is None


@pytest.mark.parametrize(
    ("reply", "monthly"),
    [(UNAUTHORIZED, False), (FORBIDDEN, False), (RATE, False), (MONTHLY, True)],
    ids=["401", "403", "429-rate", "429-monthly"],
)
def test_refusals_of_the_channel_stop_it_without_failing_anything(
    reply: Reply, monthly: bool
) -> None:
    with HttpServer(default=OK) as server, channel(server.url) as line:
        server.script(reply)
        results = line.send([envelope(1), envelope(2, OTHER), envelope(3)])
    assert [r.result for r in results] == [Result.TEMPORARY] * 3
    assert len(server.requests) == 1  # the rest were not tried
    assert line.stopped and line.monthly_limit is monthly
    assert all(TOKEN not in r.detail for r in results)


def test_the_token_is_never_in_a_detail_even_when_echoed() -> None:
    echo = Reply.json(400, {"message": f"bad request from Bearer {TOKEN}"})
    with HttpServer(default=echo) as server, channel(server.url) as line:
        [result] = line.send([envelope(1)])
    assert result.result is Result.PERMANENT and TOKEN not in result.detail
    assert "***" in result.detail


def test_no_token_fails_at_open_and_a_bad_recipient_is_never_posted() -> None:
    from cartnudge.errors import ChannelError

    with pytest.raises(ChannelError, match="no channel access token"):
        LineChannel(LineSettings(enabled=True), None).open()
    with HttpServer(default=OK) as server, channel(server.url) as line:
        [result] = line.send([envelope(1, "not-a-user-id")])
    assert result.result is Result.PERMANENT and server.requests == []


# -- configuration --------------------------------------------------------------------------------


def line_config(tmp_path: Path, url: str = "http://127.0.0.1:9", **line: object) -> dict:
    data = base_config("sqlite:///" + str(tmp_path / "shop.db"), tmp_path)
    data["flows"]["confirm"] = {"enabled": True, "steps": [{"delay": "1h", "channel": "line"}]}
    data["line"] = {"enabled": True, "base_url": url, **line}
    return data


def test_the_token_comes_from_a_variable_or_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINE_TOKEN", TOKEN)
    from_env = load_config(write_config(tmp_path, line_config(tmp_path, token_env="LINE_TOKEN")))
    (tmp_path / "line.key").write_text(TOKEN + "\n", encoding="utf-8")
    (tmp_path / "line.key").chmod(0o600)
    from_file = load_config(write_config(tmp_path, line_config(tmp_path, token_file="line.key")))
    assert from_env.line_token == from_file.line_token == TOKEN
    assert TOKEN not in repr(from_env)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({}, "line: name the channel access token's variable"),
        ({"token_env": "NO_SUCH_LINE_VAR"}, "line.token_env: environment variable"),
        ({"token_file": "missing.key"}, "line.token_file: cannot read"),
        ({"token_file": "readable.key"}, "readable by every user"),
        ({"token_env": "X", "token_file": "y"}, "either token_env or token_file"),
        ({"token_env": "X", "enabled": False}, "line.enabled is false"),
        ({"token_env": "X", "monthly_quota": 0}, "line.monthly_quota"),
        ({"token_env": "X", "base_url": "ftp://x"}, "line.base_url"),
        ({"token_env": "X", "message": "sticker"}, "line.message"),
    ],
)
def test_line_settings_are_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: dict, message: str
) -> None:
    monkeypatch.setenv("X", TOKEN)
    (tmp_path / "readable.key").write_text(TOKEN, encoding="utf-8")
    (tmp_path / "readable.key").chmod(0o644)
    with pytest.raises(ConfigError, match=message) as exc:
        load_config(write_config(tmp_path, line_config(tmp_path, **line)))
    assert "\n" not in str(exc.value) and TOKEN not in str(exc.value)


# -- through the sweep ----------------------------------------------------------------------------


@pytest.fixture
def line_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINE_TOKEN", TOKEN)


def line_app(config_data: dict, tmp_path: Path, url: str, cap: bool = False, **line: object) -> App:
    config_data["flows"]["confirm"] = {
        "enabled": True, "steps": [{"delay": "1h", "channel": "line"}],
    }  # fmt: skip
    config_data["frequency_cap"] = {"enabled": cap, "max_sends": 1, "window": "16h"}
    config_data["line"] = {"enabled": True, "base_url": url, "token_env": "LINE_TOKEN", **line}
    return App(load_config(write_config(tmp_path, config_data)))


def left(shop: ShopBuilder, at: datetime, user: str | None = USER, optin: bool = True) -> int:
    return shop.abandoned(at, line_user_id=user, line_optin=optin)


@pytest.mark.usefixtures("line_token")
def test_a_line_reminder_names_items_total_link_sender_and_opt_out(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    left(shop, NOON_JST - timedelta(hours=2))
    left(shop, NOON_JST - timedelta(hours=2), optin=False)  # no LINE consent
    left(shop, NOON_JST - timedelta(hours=2), user=None)  # no LINE user id
    with HttpServer(default=OK) as server:
        app = line_app(config_data, tmp_path, server.url)
        summary = Sweep(app, MemoryChannel(), now=NOON_JST).run()
        again = Sweep(app, MemoryChannel(), now=NOON_JST + timedelta(hours=1)).run()
        app.dispose()
    [request] = server.requests
    [message] = request.json()["messages"]
    text = message["text"]
    assert request.json()["to"] == USER and message["type"] == "text"
    assert "国産有機抹茶 100g" in text and "今治タオル" in text
    assert "6,160円" in text  # 1980 x 2 + 2200
    assert "https://shop.example.jp/cart/restore?token=" in text
    assert "テスト商店" in text and "配信停止" in text
    assert "https://shop.example.jp/unsubscribe?token=" in text
    assert (summary.sent, summary.skipped["no_consent"], summary.skipped["no_address"]) == (1, 1, 1)
    assert again.sent == 0


@pytest.mark.usefixtures("line_token")
def test_a_flex_message_carries_the_text_and_a_button_to_the_cart(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    left(sqlite_shop, NOON_JST - timedelta(hours=2))
    with HttpServer(default=OK) as server:
        data = base_config(sqlite_shop.url, tmp_path)
        app = line_app(data, tmp_path, server.url, message="flex")
        Sweep(app, MemoryChannel(), now=NOON_JST).run()
        app.dispose()
    [message] = server.requests[0].json()["messages"]
    button = message["contents"]["footer"]["contents"][0]["action"]
    assert message["type"] == "flex" and "テスト商店" in message["altText"]
    assert button["uri"].startswith("https://shop.example.jp/cart/restore?token=")


@pytest.mark.usefixtures("line_token")
def test_an_invalid_user_id_is_suppressed_on_line(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    left(shop, NOON_JST - timedelta(hours=2), user=OTHER)
    with HttpServer(default=INVALID_TO) as server:
        app = line_app(config_data, tmp_path, server.url)
        first = Sweep(app, MemoryChannel(), now=NOON_JST).run()
        left(shop, NOON_JST - timedelta(hours=1), user=OTHER)
        later = Sweep(app, MemoryChannel(), now=NOON_JST + timedelta(hours=1)).run()
        app.dispose()
    with shop.engine.connect() as conn:
        listed = [(r.channel, r.address) for r in conn.execute(select(suppressions))]
    assert first.failed == 1 and listed == [("line", OTHER)]
    assert (later.sent, later.skipped["suppressed"], len(server.requests)) == (0, 1, 1)


@pytest.mark.usefixtures("line_token")
def test_line_waits_for_its_quiet_hours_and_counts_in_the_frequency_cap(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    night = datetime(2026, 11, 22, 13, 0)  # 22:00 JST; LINE allowed 09:00-21:00 by default
    customer = shop.customer(line_user_id=USER, line_optin=True)
    shop.abandoned(night - timedelta(hours=2), customer_id=customer)
    shop.abandoned(night - timedelta(hours=3), customer_id=customer)
    config_data["shop"]["cart_ttl"] = 2880
    with HttpServer(default=OK) as server:
        app = line_app(config_data, tmp_path, server.url, cap=True)
        at_night = Sweep(app, MemoryChannel(), now=night).run()
        morning = Sweep(app, MemoryChannel(), now=datetime(2026, 11, 23, 0, 0)).run()
        app.dispose()
    assert (at_night.sent, at_night.deferred) == (0, {"quiet_hours": 2})
    assert (morning.sent, morning.deferred) == (1, {"frequency_cap": 1})
    assert len(server.requests) == 1


@pytest.mark.usefixtures("line_token")
def test_the_monthly_quota_is_never_exceeded_and_the_summary_says_so(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    users = [f"U{i:032x}" for i in range(1, 6)]
    for i, user in enumerate(users[:3]):
        left(shop, NOON_JST - timedelta(hours=2, minutes=i), user=user)
    with HttpServer(default=OK) as server:
        app = line_app(config_data, tmp_path, server.url, monthly_quota=2)
        first = Sweep(app, MemoryChannel(), now=NOON_JST).run()
        for user in users[3:]:
            left(shop, NOON_JST, user=user)
        later = Sweep(app, MemoryChannel(), now=NOON_JST + timedelta(hours=2)).run()
        # 1 December 12:00 JST: a new month, room again
        december = datetime(2026, 12, 1, 3, 0)
        left(shop, december - timedelta(hours=2), user=users[0])
        next_month = Sweep(app, MemoryChannel(), now=december).run()
        app.dispose()
    with shop.engine.connect() as conn:
        rows = conn.execute(select(deliveries.c.status)).all()
    assert (first.sent, first.held["line"]) == (2, 1)
    assert "monthly quota reached" in first.stopped_channels["line"]
    assert first.to_dict()["stopped_channels"]["line"].startswith("monthly quota reached")
    assert (later.sent, later.held["line"]) == (0, 3)
    assert len(rows) == 3  # nothing beyond the quota was even claimed (2 + December's)
    assert next_month.sent == 1 and "line" not in next_month.stopped_channels
    assert len(server.requests) == 3


@pytest.mark.usefixtures("line_token")
def test_line_saying_the_monthly_limit_is_reached_stops_line_for_the_run(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    config_data["sweep"]["send_batch"] = 1
    for i in range(3):
        left(shop, NOON_JST - timedelta(hours=2, minutes=i), user=f"U{i + 1:032x}")
    with HttpServer(default=OK) as server:
        server.script(MONTHLY)
        app = line_app(config_data, tmp_path, server.url)
        summary = Sweep(app, MemoryChannel(), now=NOON_JST).run()
        app.dispose()
    assert len(server.requests) == 1
    assert summary.sent == 0 and summary.failed == 0
    assert "monthly message limit" in summary.stopped_channels["line"]


@pytest.mark.usefixtures("line_token")
def test_a_user_who_blocked_the_account_can_be_suppressed_on_line_by_hand(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    """LINE answers 200 to a blocked user: the operator (or the shop's unfollow webhook
    handler) puts the user id on the LINE suppression list, and no LINE reminder goes to it."""
    from click.testing import CliRunner

    from cartnudge.cli import main

    left(sqlite_shop, NOON_JST - timedelta(hours=2))
    with HttpServer(default=OK) as server:
        data = base_config(sqlite_shop.url, tmp_path)
        app = line_app(data, tmp_path, server.url)
        config = str(tmp_path / "config.yaml")
        runner = CliRunner()
        added = runner.invoke(
            main, ["suppressions", "add", "--config", config, "--channel", "line", USER]
        )
        bad = runner.invoke(
            main, ["suppressions", "add", "--config", config, "--channel", "line", "Ubad"]
        )
        summary = Sweep(app, MemoryChannel(), now=NOON_JST).run()
        app.dispose()
    assert added.exit_code == 0 and bad.exit_code == 2 and "not a LINE user id" in bad.output
    assert (summary.sent, summary.skipped["suppressed"], server.requests) == (0, 1, [])


def test_templates_preview_shows_the_line_text_as_sent(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from cartnudge.cli import main

    config = write_config(tmp_path, base_config(sqlite_shop.url, tmp_path))
    args = ["templates", "preview", "140001", "--config", str(config), "--format", "line"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "国産有機抹茶 100g × 2" in result.output and "6,160円" in result.output
    assert result.output.rstrip().endswith(
        "テスト商店\n配信停止はこちら（またはこのアカウントをブロック）: "
        "https://shop.example.jp/unsubscribe?token=SAMPLE"
    )
