"""The operator commands (templates, token verify, unsubscribe, suppressions) through the real
command line on each backend: exact output and exit codes."""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cartnudge.app import App
from cartnudge.channels.base import Envelope
from cartnudge.channels.memory import MemoryChannel
from cartnudge.cli import main
from cartnudge.config import load_config
from cartnudge.messages.templates import Catalogue, sample_context
from cartnudge.messages.tokens import RECOVERY, verify_token
from cartnudge.sweep import Summary, Sweep
from tests.conftest import TOKEN_KEYS, base_config, write_config
from tests.shop import ShopBuilder

NOW = datetime(2026, 11, 22, 12, 0)  # naive UTC, as inside cartnudge
NOW_ARG = "2026-11-22T12:00:00+00:00"
KEYS = (TOKEN_KEYS.encode(),)
MATCHA = {"product_id": 1, "name": "国産有機抹茶 100g", "quantity": 2, "unit_price": 1980}
TOWEL = {
    "product_id": 2,
    "name": "今治タオル フェイスタオル 2枚組",
    "quantity": 1,
    "unit_price": 2200,
}
BAD_SIGNATURE = (
    "cartnudge: error: token signature is not valid (tampered, or signed with an unknown key)\n"
)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command reads the clock through cartnudge.cli.common.utcnow: pin it to NOW."""
    monkeypatch.setattr("cartnudge.cli.common.utcnow", lambda: NOW)


@pytest.fixture
def config_path(shop: ShopBuilder, tmp_path: Path) -> Path:
    return write_config(tmp_path, base_config(shop.url, tmp_path))


@pytest.fixture
def app(config_path: Path) -> Iterator[App]:
    application = App(load_config(config_path))
    yield application
    application.dispose()


def cli(config_path: Path, *args: str) -> Result:
    """``cartnudge <command> --config PATH <args>``; unexpected exceptions propagate."""
    command, rest = args[0], list(args[1:])
    if command in ("templates", "token", "suppressions"):
        command, rest = f"{command} {rest[0]}", rest[1:]
    return CliRunner().invoke(
        main, [*command.split(), "--config", str(config_path), *rest], catch_exceptions=False
    )


def sweep(app: App, now: datetime = NOW) -> tuple[Summary, MemoryChannel]:
    channel = MemoryChannel()
    return Sweep(app, channel, now=now).run(), channel


def text_part(envelope: Envelope) -> str:
    message = email.message_from_bytes(envelope.data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(("plain",))
    assert part is not None
    return part.get_content()


def tokens_in(envelope: Envelope) -> list[str]:
    """Every token of the plain-text part, in order: the recovery URL's, then the opt-out's."""
    return [chunk.split()[0] for chunk in text_part(envelope).split("token=")[1:]]


def sent_reminder(shop: ShopBuilder, app: App, **kwargs) -> tuple[int, Envelope]:
    order = shop.abandoned(NOW - timedelta(hours=4), **kwargs)
    summary, channel = sweep(app)
    assert summary.sent == 1
    return order, channel.sent[0]


# -- templates -------------------------------------------------------------------------------


def test_templates_list_prints_both_templates_with_their_category(config_path: Path) -> None:
    result = cli(config_path, "templates", "list")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        "140001\tcart_abandonment\tカゴ落ちメール（確認画面離脱） +sms +line\n"
        "140002\tremarketing\tカゴ落ちリマーケティングメール（入力画面離脱） +sms +line\n"
    )


def test_templates_preview_prints_the_subject_and_text_body_with_sample_data(
    config_path: Path, app: App
) -> None:
    result = cli(config_path, "templates", "preview", "140001")
    assert (result.exit_code, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        "Subject: 山田 太郎 様、カートに商品が残っています【サンプル商店】",
        "",
        "山田 太郎 様",
    ]
    assert "・国産有機抹茶 100g　1,980円 × 2 = 3,960円" in lines
    assert "・今治タオル フェイスタオル 2枚組　2,200円 × 1 = 2,200円" in lines
    assert "合計：6,160円（税込）" in lines
    assert "https://shop.example.jp/unsubscribe?token=SAMPLE" in lines
    rendered = Catalogue(app.config.templates_dir).render(140001, sample_context())
    assert result.stdout == f"Subject: {rendered.subject}\n\n{rendered.text}"


def test_templates_preview_html_prints_the_escaped_html_body(config_path: Path) -> None:
    result = cli(config_path, "templates", "preview", "140001", "--format", "html")
    assert result.exit_code == 0
    assert result.stdout.startswith("<!DOCTYPE html>\n")
    assert '<p style="margin: 0 0 12px;">山田 太郎 様</p>' in result.stdout
    # the sample's first item has a product page: its name links there
    assert ">国産有機抹茶 100g</a></div>" in result.stdout


def test_templates_preview_of_a_real_order_renders_its_items_and_a_working_recovery_url(
    config_path: Path, shop: ShopBuilder
) -> None:
    order = shop.abandoned(NOW - timedelta(hours=4), name="佐藤 花子", items=((2, 3),))
    result = cli(config_path, "templates", "preview", "140001", "--order", str(order))
    assert (result.exit_code, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        "Subject: 佐藤 花子 様、カートに商品が残っています【テスト商店】",
        "",
        "佐藤 花子 様",
    ]
    assert "・今治タオル フェイスタオル 2枚組　2,200円 × 3 = 6,600円" in lines
    assert "合計：6,600円（税込）" in lines
    assert "国産有機抹茶" not in result.stdout  # only this order's items
    assert "テスト商店" in lines and "東京都千代田区1-1" in lines  # the configured sender
    url = next(line for line in lines if line.startswith("https://shop.example.jp/cart/restore"))
    payload = verify_token(url.split("token=", 1)[1], KEYS, now=NOW, kind=RECOVERY)
    # A preview is no delivery: its token is genuine but names delivery 0, which resolves to
    # nothing (tokens name only the delivery).
    assert (payload["d"], payload["k"]) == (0, "recovery")


def test_templates_preview_of_an_unknown_order_fails_with_exit_1(
    config_path: Path, shop: ShopBuilder
) -> None:
    result = cli(config_path, "templates", "preview", "140001", "--order", "999")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith("cartnudge: error: order 999 not found by ")
    assert result.stderr.count("\n") == 1


def test_templates_preview_as_eml_writes_a_parseable_message(
    config_path: Path, shop: ShopBuilder
) -> None:
    order = shop.abandoned(NOW - timedelta(hours=4), email="hanako@example.jp", name="佐藤 花子")
    result = cli(
        config_path, "templates", "preview", "140001", "--order", str(order), "--format", "eml"
    )
    assert (result.exit_code, result.stderr) == (0, "")
    result.stdout_bytes.decode("ascii")
    message = email.message_from_bytes(result.stdout_bytes, policy=email.policy.default)
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == "佐藤 花子 様、カートに商品が残っています【テスト商店】"
    assert [a.addr_spec for a in message["To"].addresses] == ["hanako@example.jp"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Date"].datetime.replace(tzinfo=None) == NOW
    text = message.get_body(("plain",))
    assert text is not None and "・国産有機抹茶 100g　1,980円 × 2 = 3,960円" in text.get_content()


def test_templates_preview_as_eml_without_an_order_is_a_usage_error(config_path: Path) -> None:
    result = cli(config_path, "templates", "preview", "140001", "--format", "eml")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("Usage: ")
    assert result.stderr.endswith("Error: Invalid value for --format: --format eml needs --order\n")


def test_templates_preview_as_sms_of_a_template_without_an_sms_body_fails_with_exit_2(
    shop: ShopBuilder, tmp_path: Path
) -> None:
    import shutil

    from cartnudge.config import BUNDLED_TEMPLATES_DIR

    templates = tmp_path / "templates"
    shutil.copytree(BUNDLED_TEMPLATES_DIR, templates)
    (templates / "140001" / "sms.txt.j2").unlink()  # an e-mail-only template
    data = base_config(shop.url, tmp_path)
    data["templates_dir"] = str(templates)
    config_path = write_config(tmp_path, data)
    result = cli(config_path, "templates", "preview", "140001", "--format", "sms")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("Usage: ")
    assert result.stderr.endswith(
        "Error: Invalid value for --format: template 140001 has no SMS body\n"
    )


def test_templates_preview_of_an_unknown_template_fails_with_exit_6(config_path: Path) -> None:
    result = cli(config_path, "templates", "preview", "999")
    assert (result.exit_code, result.stdout) == (6, "")
    assert result.stderr.startswith("cartnudge: error: template 999 not found in ")


# -- token verify ----------------------------------------------------------------------------


def test_token_verify_prints_the_order_flow_items_and_expiry_of_a_sent_recovery_url(
    config_path: Path, shop: ShopBuilder, app: App
) -> None:
    order, envelope = sent_reminder(shop, app)
    recovery = tokens_in(envelope)[0]
    result = cli(config_path, "token", "verify", recovery, "--now", NOW_ARG)
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.count("\n") == 1  # one line of JSON
    assert json.loads(result.stdout) == {
        "kind": "recovery",
        "delivery_id": envelope.delivery_id,
        "order_id": str(order),
        "customer_id": str(shop.customer_of(order)),
        "flow": "confirm",
        "episode": 0,
        "storefront": "shop",
        "lp_id": None,
        "items": [MATCHA, TOWEL],
        "total_amount": 6160,
        "expires_at": "2026-12-06T12:00:00+00:00",  # NOW + recovery.token_ttl (14d)
    }


def test_token_verify_prints_the_address_of_an_opt_out_token(
    config_path: Path, shop: ShopBuilder, app: App
) -> None:
    _, envelope = sent_reminder(shop, app, email="hanako@example.jp")
    opt_out = tokens_in(envelope)[1]
    result = cli(config_path, "token", "verify", opt_out, "--now", NOW_ARG, "--kind", "unsubscribe")
    assert (result.exit_code, result.stderr) == (0, "")
    assert json.loads(result.stdout) == {
        "kind": "unsubscribe",
        "address": "hanako@example.jp",
        "channel": "email",
        "delivery_id": envelope.delivery_id,
        "expires_at": "2027-12-27T12:00:00+00:00",  # NOW + 400 days
    }


def test_token_verify_refuses_a_tampered_token_with_exit_7_and_one_line(
    config_path: Path, shop: ShopBuilder, app: App
) -> None:
    _, envelope = sent_reminder(shop, app)
    body, signature = tokens_in(envelope)[0].split(".")
    middle = len(signature) // 2
    tampered = signature[:middle] + ("A" if signature[middle] != "A" else "B")
    tampered += signature[middle + 1 :]
    result = cli(config_path, "token", "verify", f"{body}.{tampered}", "--now", NOW_ARG)
    assert (result.exit_code, result.stdout, result.stderr) == (7, "", BAD_SIGNATURE)


def test_token_verify_refuses_an_expired_token_with_exit_7(
    config_path: Path, shop: ShopBuilder, app: App
) -> None:
    _, envelope = sent_reminder(shop, app)
    later = "2026-12-06T21:00:00"  # Asia/Tokyo, the configured zone: 12:00 UTC, the expiry
    result = cli(config_path, "token", "verify", tokens_in(envelope)[0], "--now", later)
    assert (result.exit_code, result.stdout) == (7, "")
    assert result.stderr == "cartnudge: error: token expired at 2026-12-06T12:00:00+00:00\n"


# -- unsubscribe -----------------------------------------------------------------------------


def test_unsubscribe_by_address_stops_every_later_reminder(
    config_path: Path, shop: ShopBuilder, app: App
) -> None:
    shop.abandoned(NOW - timedelta(hours=4), email="hanako@example.jp")
    first = cli(config_path, "unsubscribe", " Hanako@Example.JP ")
    again = cli(config_path, "unsubscribe", "hanako@example.jp")
    # the address is masked in the output, like every output (issue 10, point 6)
    assert (first.exit_code, first.stdout) == (0, "unsubscribed:  H***@Example.JP \n")
    assert (again.exit_code, again.stdout) == (0, "already unsubscribed: h***@example.jp\n")
    summary, channel = sweep(app)
    assert (summary.sent, dict(summary.skipped), channel.sent) == (0, {"suppressed": 1}, [])


def test_unsubscribe_with_the_token_of_a_sent_opt_out_link_stops_later_reminders(
    config_path: Path, shop: ShopBuilder, app: App
) -> None:
    order, envelope = sent_reminder(shop, app, email="hanako@example.jp")
    opt_out_url = (
        str(
            email.message_from_bytes(envelope.data, policy=email.policy.default)["List-Unsubscribe"]
        )
        .split("<")[-1]
        .rstrip(">")
    )
    assert opt_out_url == f"https://shop.example.jp/unsubscribe?token={tokens_in(envelope)[1]}"
    result = cli(config_path, "unsubscribe", "--token", opt_out_url.split("token=", 1)[1])
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        "unsubscribed: h***@example.jp\n",
        "",
    )
    # The same customer leaves another cart: due an hour later, never sent.
    shop.abandoned(NOW - timedelta(hours=3), customer_id=shop.customer_of(order))
    summary, channel = sweep(app, NOW + timedelta(hours=1))
    assert (summary.sent, channel.sent) == (0, [])
    # An incremental sweep reads the new cart, not the first one (already delivered).
    assert dict(summary.skipped) == {"suppressed": 1}


def test_unsubscribe_with_a_recovery_token_is_refused(
    config_path: Path, shop: ShopBuilder, app: App
) -> None:
    _, envelope = sent_reminder(shop, app)
    result = cli(config_path, "unsubscribe", "--token", tokens_in(envelope)[0])
    assert (result.exit_code, result.stdout) == (7, "")
    assert result.stderr == (
        "cartnudge: error: token is a recovery token, not an unsubscribe token\n"
    )


def test_unsubscribe_with_a_tampered_token_is_refused_with_exit_7(
    config_path: Path, shop: ShopBuilder, app: App
) -> None:
    _, envelope = sent_reminder(shop, app)
    body, signature = tokens_in(envelope)[1].split(".")
    result = cli(config_path, "unsubscribe", "--token", f"{body}.{signature[:-3]}AAA")
    assert (result.exit_code, result.stdout, result.stderr) == (7, "", BAD_SIGNATURE)


@pytest.mark.parametrize("args", [(), ("a@example.jp", "--token", "x.y")])
def test_unsubscribe_needs_either_an_address_or_a_token(
    config_path: Path, args: tuple[str, ...]
) -> None:
    result = cli(config_path, "unsubscribe", *args)
    assert (result.exit_code, result.stdout) == (2, "")
    assert "Error: give either ADDRESS or --token" in result.stderr


# -- suppressions ----------------------------------------------------------------------------


def test_suppressions_add_list_and_remove(config_path: Path) -> None:
    added = cli(config_path, "suppressions", "add", "Taro@Example.jp", "--reason", "complaint")
    again = cli(config_path, "suppressions", "add", "taro@example.jp")
    manual = cli(config_path, "suppressions", "add", "hanako@example.jp")
    assert (added.exit_code, added.stdout) == (0, "added: Taro@Example.jp\n")
    assert (again.exit_code, again.stdout) == (0, "already there: taro@example.jp\n")
    assert (manual.exit_code, manual.stdout) == (0, "added: hanako@example.jp\n")

    table = cli(config_path, "suppressions", "list")
    assert (table.exit_code, table.stderr) == (0, "")
    assert table.stdout == (
        "email\thanako@example.jp\tmanual\t2026-11-22 12:00\n"
        "email\ttaro@example.jp\tcomplaint\t2026-11-22 12:00\n"
    )
    as_csv = cli(config_path, "suppressions", "list", "--format", "csv")
    assert as_csv.stdout_bytes == (
        b"channel,address,reason,created_at,detail\r\n"
        b"email,hanako@example.jp,manual,2026-11-22 12:00:00,\r\n"
        b"email,taro@example.jp,complaint,2026-11-22 12:00:00,\r\n"
    )  # RFC 4180 line ends
    as_json = cli(config_path, "suppressions", "list", "--format", "json")
    assert json.loads(as_json.stdout) == [
        {
            "channel": "email",
            "address": address,
            "reason": reason,
            "created_at": "2026-11-22 12:00:00",
            "detail": None,
        }
        for address, reason in (("hanako@example.jp", "manual"), ("taro@example.jp", "complaint"))
    ]

    removed = cli(config_path, "suppressions", "remove", "TARO@example.jp")
    assert (removed.exit_code, removed.stdout) == (0, "removed: TARO@example.jp\n")
    after = cli(config_path, "suppressions", "list")
    assert after.stdout == "email\thanako@example.jp\tmanual\t2026-11-22 12:00\n"


def test_an_empty_suppression_list_prints_nothing(config_path: Path) -> None:
    table = cli(config_path, "suppressions", "list")
    as_json = cli(config_path, "suppressions", "list", "--format", "json")
    assert (table.exit_code, table.stdout) == (0, "")
    assert (as_json.exit_code, as_json.stdout) == (0, "[]\n")


def test_removing_an_address_not_on_the_list_fails_with_exit_1(config_path: Path) -> None:
    result = cli(config_path, "suppressions", "remove", "nobody@example.jp")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == "cartnudge: error: n***@example.jp is not on the suppression list\n"


def test_a_removed_address_is_reminded_again(
    config_path: Path, shop: ShopBuilder, app: App
) -> None:
    shop.abandoned(NOW - timedelta(hours=4), email="hanako@example.jp")
    cli(config_path, "suppressions", "add", "hanako@example.jp", "--reason", "hard_bounce")
    blocked, _ = sweep(app)
    cli(config_path, "suppressions", "remove", "hanako@example.jp")
    allowed, channel = sweep(app, NOW + timedelta(minutes=10))
    assert (blocked.sent, dict(blocked.skipped)) == (0, {"suppressed": 1})
    assert (allowed.sent, [e.recipient for e in channel.sent]) == (1, ["hanako@example.jp"])


def test_suppressions_import_reads_a_bom_csv_and_reports_an_invalid_row_by_line(
    config_path: Path, app: App, shop: ShopBuilder, tmp_path: Path
) -> None:
    csv_path = tmp_path / "optouts.csv"
    csv_path.write_bytes(
        "\ufeffaddress,reason\r\n"
        "Hanako@Example.jp,hard_bounce\r\n"
        "not an address,opt_out\r\n"
        "taro@example.jp,\r\n".encode()
    )
    result = cli(config_path, "suppressions", "import", str(csv_path))
    assert result.exit_code == 0
    assert result.stdout == "imported 2, already there 0, invalid 1\n"
    assert result.stderr == f"{csv_path}:3: not an e-mail address: 'not an address' (skipped)\n"
    listed = cli(config_path, "suppressions", "list")
    assert listed.stdout == (
        "email\thanako@example.jp\thard_bounce\t2026-11-22 12:00\n"
        "email\ttaro@example.jp\timport\t2026-11-22 12:00\n"  # no reason given: --reason
    )
    again = cli(config_path, "suppressions", "import", str(csv_path), "--reason", "manual")
    assert again.stdout == "imported 0, already there 2, invalid 1\n"
    # and they are suppressed for the sweep
    shop.abandoned(NOW - timedelta(hours=4), email="hanako@example.jp")
    summary, channel = sweep(app)
    assert (summary.sent, dict(summary.skipped), channel.sent) == (0, {"suppressed": 1}, [])


def test_suppressions_import_without_an_address_column_fails_with_exit_3(
    config_path: Path, tmp_path: Path
) -> None:
    csv_path = tmp_path / "wrong.csv"
    csv_path.write_text("email,reason\nhanako@example.jp,opt_out\n", encoding="utf-8")
    result = cli(config_path, "suppressions", "import", str(csv_path))
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr == (
        f"cartnudge: error: {csv_path}: needs a header row with an 'address' column\n"
    )
