"""Addresses are validated where they enter (issue 10, point 5): the sender's addresses when the
configuration loads, every address when a header is written; preview takes the sweep's path."""

from __future__ import annotations

import email
import email.policy
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from cartnudge.cli import main
from cartnudge.messages.mime import build_email
from tests.conftest import base_config, write_config
from tests.shop import ShopBuilder

NOW = datetime(2026, 11, 22, 12, 0)


@pytest.fixture(autouse=True)
def restore_cartnudge_logger() -> Iterator[None]:
    logger = logging.getLogger("cartnudge")
    handlers, level, propagate = logger.handlers[:], logger.level, logger.propagate
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
    logger.propagate = propagate


@pytest.mark.parametrize(
    "key,value,expected",
    [
        ("email", "shop@example.jp\nBcc: evil@example.com", "sender.email: must be one line"),
        ("email", "shop@example.jp\r\n", "sender.email: must be one line"),
        ("email", "店舗@example.jp", "sender.email: not a plain ASCII e-mail address"),
        ("email", "shop@例え.jp", "sender.email: not a plain ASCII e-mail address"),
        ("name", "テスト商店\r\nBcc: evil@example.com", "sender.name: must be one line"),
        ("reply_to", "support@example.jp\nBcc: x@y.jp", "sender.reply_to: must be one line"),
        ("reply_to", "サポート <サポート@example.jp>", "sender.reply_to: write an ASCII address"),
        ("reply_to", "not an address", "sender.reply_to: write an ASCII address"),
    ],
)
def test_check_refuses_a_sender_address_that_would_break_or_inject_headers(
    tmp_path: Path, key: str, value: str, expected: str
) -> None:
    data = base_config(f"sqlite:///{tmp_path / 'shop.db'}", tmp_path)
    data["sender"][key] = value
    result = CliRunner().invoke(main, ["check", "--config", str(write_config(tmp_path, data))])
    assert result.exit_code == 3, result.output
    assert expected in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_japanese_reply_to_name_is_encoded_and_reads_back(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    sqlite_shop.abandoned(NOW - timedelta(hours=4), email="hanako@example.jp")
    data = base_config(sqlite_shop.url, tmp_path)
    data["sender"]["reply_to"] = "みどり屋 サポート <support@example.jp>"
    path = write_config(tmp_path, data)
    result = CliRunner().invoke(
        main, ["sweep", "--config", str(path), "--now", "2026-11-22T12:00Z", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    (message,) = (tmp_path / "outbox").glob("*.eml")
    raw = message.read_bytes()
    assert raw.isascii()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(parsed["Reply-To"]) == "みどり屋 サポート <support@example.jp>"
    assert parsed["Reply-To"].addresses[0].addr_spec == "support@example.jp"


@pytest.mark.parametrize(
    "address",
    ["hanako@example.jp\r\nBcc: evil@example.com", "hanako@example.jp>, evil@example.com"],
)
def test_preview_refuses_a_customer_address_that_would_add_a_recipient(
    sqlite_shop: ShopBuilder, tmp_path: Path, address: str
) -> None:
    order_id = sqlite_shop.abandoned(NOW - timedelta(hours=4), email=address)
    path = write_config(tmp_path, base_config(sqlite_shop.url, tmp_path))
    result = CliRunner().invoke(
        main,
        ["templates", "preview", "140001", "--config", str(path), "--order", str(order_id),
         "--format", "eml"],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "Bcc" not in result.stdout and "evil" not in result.output
    assert result.stderr == (
        f"cartnudge: error: order {order_id}: the To address is not a plain ASCII e-mail address\n"
    )


@pytest.mark.parametrize(
    "field,value",
    [
        ("to_address", "a@example.jp\nBcc: b@example.jp"),
        ("to_address", "a@example.jp>, b@example.jp"),
        ("to_address", "山田@example.jp"),
        ("from_address", "shop@example.jp\r\nX-Evil: 1"),
    ],
)
def test_no_header_is_ever_written_with_an_address_that_is_not_one_address(
    field: str, value: str
) -> None:
    fields = dict(
        subject="s",
        text="t",
        html="h",
        from_name="店",
        from_address="shop@example.jp",
        to_name="花子 様",
        to_address="hanako@example.jp",
        message_id="<1@example.jp>",
        date=NOW,
        unsubscribe=["https://example.jp/u"],
    )
    fields[field] = value
    with pytest.raises(ValueError, match="address is not a plain ASCII e-mail address"):
        build_email(**fields)
