"""``suppressions add|remove|list --channel``: each channel's addresses (phone numbers kept as
E.164, push tokens and LINE user ids as they are), values of another kind refused, people's
numbers and tokens masked in the table, and the sweep honouring every channel's list."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cartnudge.app import App
from cartnudge.channels.memory import MemoryChannel
from cartnudge.cli import main
from cartnudge.config import load_config
from cartnudge.sweep import Sweep
from tests.conftest import base_config, write_config
from tests.shop import AD_INPUT_ON, ShopBuilder

NOW = datetime(2026, 11, 22, 3, 0)  # naive UTC: 12:00 in Tokyo, inside every channel's hours
TOKEN = "dXs9Kq:APA91bHcaseMatters_x-1"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cartnudge.cli.common.utcnow", lambda: NOW)


@pytest.fixture
def config_path(sqlite_shop: ShopBuilder, tmp_path: Path) -> Path:
    return write_config(tmp_path, base_config(sqlite_shop.url, tmp_path))


def cli(config_path: Path, command: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["suppressions", command, "--config", str(config_path), *args])


def listed(config_path: Path, *args: str) -> list[tuple[str, str]]:
    rows = json.loads(cli(config_path, "list", "--format", "json", *args).stdout)
    return [(r["channel"], r["address"]) for r in rows]


def test_a_phone_number_is_added_as_e164_however_it_is_written_and_shown_masked(
    config_path: Path,
) -> None:
    added = cli(config_path, "add", "--channel", "sms", "090-1234-5678")
    again = cli(config_path, "add", "--channel", "sms", "+81 90 1234 5678")
    full_width = cli(config_path, "add", "--channel", "sms", "０９０（１２３４）５６７８")
    assert (added.exit_code, added.stdout) == (0, "added: ***5678\n")
    assert (again.exit_code, again.stdout) == (0, "already there: ***5678\n")
    assert (full_width.exit_code, full_width.stdout) == (0, "already there: ***5678\n")
    assert listed(config_path) == [("sms", "+819012345678")]  # the export: whole
    table = cli(config_path, "list")
    assert table.stdout == "sms\t***5678\tmanual\t2026-11-22 03:00\n"
    assert "1234" not in table.stdout


def test_a_phone_number_is_removed_however_it_is_written(config_path: Path) -> None:
    cli(config_path, "add", "--channel", "sms", "090-1234-5678")
    removed = cli(config_path, "remove", "--channel", "sms", "09012345678")
    missing = cli(config_path, "remove", "--channel", "sms", "090-1234-5678")
    assert (removed.exit_code, removed.stdout) == (0, "removed: ***5678\n")
    assert (missing.exit_code, missing.stderr) == (
        1,
        "cartnudge: error: ***5678 is not on the suppression list\n",
    )
    assert listed(config_path) == []


def test_a_push_token_keeps_its_case_and_is_shown_by_its_first_characters(
    config_path: Path,
) -> None:
    added = cli(config_path, "add", "--channel", "push", TOKEN, "--reason", "opt_out")
    other_case = cli(config_path, "add", "--channel", "push", TOKEN.lower())
    assert (added.exit_code, added.stdout) == (0, "added: dXs9Kq…\n")
    assert (other_case.exit_code, other_case.stdout) == (0, "added: dxs9kq…\n")  # another token
    assert listed(config_path, "--channel", "push") == [("push", TOKEN), ("push", TOKEN.lower())]
    table = cli(config_path, "list", "--channel", "push")
    assert table.stdout.splitlines() == [
        "push\tdXs9Kq…\topt_out\t2026-11-22 03:00",
        "push\tdxs9kq…\tmanual\t2026-11-22 03:00",
    ]
    removed = cli(config_path, "remove", "--channel", "push", TOKEN)
    assert (removed.exit_code, removed.stdout) == (0, "removed: dXs9Kq…\n")
    assert listed(config_path) == [("push", TOKEN.lower())]


def test_list_by_channel_shows_only_that_channels_addresses(config_path: Path) -> None:
    cli(config_path, "add", "hanako@example.jp")
    cli(config_path, "add", "--channel", "sms", "090-1234-5678")
    cli(config_path, "add", "--channel", "push", TOKEN)
    assert listed(config_path, "--channel", "email") == [("email", "hanako@example.jp")]
    assert listed(config_path, "--channel", "sms") == [("sms", "+819012345678")]
    assert sorted(c for c, _ in listed(config_path)) == ["email", "push", "sms"]


@pytest.mark.parametrize(
    ("channel", "value", "problem"),
    [
        ("sms", "hanako@example.jp", "'h***@example.jp': not a phone number"),
        ("sms", "0312", "'0312': not a phone number"),
        ("sms", "090-1234-567X", "not a phone number"),
        ("push", "hanako@example.jp", "'h***@example.jp': not a push token"),
        ("push", "090-1234-5678", "'***5678': not a push token"),
        ("push", "two words token", "not a push token"),
        ("push", "short", "not a push token"),
        ("email", "+819012345678", "not an e-mail address"),
        ("line", "Ubad", "not a LINE user id"),
    ],
    ids=lambda v: str(v),
)
def test_a_value_that_is_not_an_address_of_the_channel_is_refused_with_exit_2(
    config_path: Path, channel: str, value: str, problem: str
) -> None:
    result = cli(config_path, "add", "--channel", channel, value)
    assert (result.exit_code, result.stdout) == (2, "")
    assert problem in result.stderr
    assert listed(config_path) == []


# -- the sweep honours every channel's list -----------------------------------------------------


def sweep_app(sqlite_shop: ShopBuilder, tmp_path: Path, flows: dict, **sections: dict) -> App:
    data = base_config(sqlite_shop.url, tmp_path)
    data["flows"] = flows
    data["frequency_cap"] = {"enabled": False}
    data.update(sections)
    return App(load_config(write_config(tmp_path, data)))


def test_an_sms_suppressed_by_the_command_is_not_sent_while_the_email_still_is(
    sqlite_shop: ShopBuilder, config_path: Path, tmp_path: Path
) -> None:
    sqlite_shop.abandoned(
        NOW - timedelta(hours=2), status="visitor", storefront="lp", step="input",
        ad_url_id=AD_INPUT_ON, phone="09012345678", sms_optin=True,
    )  # fmt: skip
    assert cli(config_path, "add", "--channel", "sms", "090-1234-5678").exit_code == 0
    app = sweep_app(
        sqlite_shop, tmp_path,
        {"input": {"enabled": True, "delay": "1h", "channels": ["email", "sms"]}},
        sms={"enabled": True, "provider": "webhook", "url": "http://127.0.0.1:9/sms",
             "sender": "MIDORIYA"},
    )  # fmt: skip
    email, sms = MemoryChannel(), MemoryChannel()
    summary = Sweep(app, email, now=NOW, channels={"sms": sms}).run()
    app.dispose()
    assert (len(email.sent), sms.sent) == (1, [])
    assert summary.skipped["suppressed"] == 1


def test_a_push_token_suppressed_by_the_command_gets_no_push(
    sqlite_shop: ShopBuilder, config_path: Path, tmp_path: Path
) -> None:
    sqlite_shop.abandoned(NOW - timedelta(minutes=40), push_token=TOKEN, push_optin=True)
    sqlite_shop.abandoned(NOW - timedelta(minutes=40), push_token="other-token-1", push_optin=True)
    assert cli(config_path, "add", "--channel", "push", TOKEN).exit_code == 0
    app = sweep_app(
        sqlite_shop, tmp_path,
        {"confirm": {"enabled": True, "steps": [{"delay": "30m", "channel": "push"}]}},
        push={"enabled": True, "service_account_env": "HOME"},
    )  # fmt: skip
    push = MemoryChannel()
    summary = Sweep(app, MemoryChannel(), now=NOW, channels={"push": push}).run()
    app.dispose()
    assert [e.recipient for e in push.sent] == ["other-token-1"]
    assert (summary.sent, summary.skipped["suppressed"]) == (1, 1)
