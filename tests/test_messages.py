"""The e-mail a reminder becomes: RFC 5322 / MIME correct, safe against hostile names, and
lawful (SPEC 2.7). Rendered through the real path (compose.render_order + email_envelope) and
checked by parsing with Python's ``email`` package; no database needed."""

from __future__ import annotations

import email
import email.policy
import re
import shutil
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from email.message import EmailMessage
from pathlib import Path

import pytest

from cartnudge.config import BUNDLED_TEMPLATES_DIR, Config, parse_config
from cartnudge.core.rules import AbandonedStep, Candidate, CustomerStatus, Storefront
from cartnudge.errors import TemplateError
from cartnudge.messages.compose import cut_subject, email_envelope, render_order
from cartnudge.messages.mime import header_text
from cartnudge.messages.templates import Catalogue, sample_context
from cartnudge.shop.reader import AbandonedOrder, Item
from tests.conftest import TOKEN_ENV, TOKEN_KEYS, base_config

NOW = datetime(2026, 11, 22, 12, 0)
CUSTOMER = "taro@example.jp"
TEMPLATE_IDS = sorted(
    int(p.parent.name) for p in BUNDLED_TEMPLATES_DIR.glob("*/template.yaml")
)  # every template shipped in templates/

HOSTILE = {
    "crlf_bcc": "Taro\r\nBcc: victim@example.com",
    "lf_header": "Taro\nX-Injected: 1",
    "address_syntax": '"evil" <a@b>',
    "script": "<script>alert(1)</script>",
    "javascript_link": '<a href="javascript:x">',
}
LONG = "長" * 5000 + "L" * 5000  # 10,000 characters, half of them 3 bytes in UTF-8


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    tmp_path = tmp_path_factory.mktemp("messages")
    return parse_config(
        base_config(f"sqlite:///{tmp_path / 'shop.db'}", tmp_path),
        source="t",
        base_dir=tmp_path,
        environ={TOKEN_ENV: TOKEN_KEYS},
    )


@pytest.fixture(scope="module")
def catalogue(config: Config) -> Catalogue:
    return Catalogue(config.templates_dir)


def order_of(customer_name: str = "山田 太郎", address: str = CUSTOMER) -> AbandonedOrder:
    candidate = Candidate(
        order_id="1001",
        customer_id="7",
        customer_status=CustomerStatus.MEMBER,
        storefront=Storefront.SHOP,
        abandoned_step=AbandonedStep.CART,
        abandoned_at=NOW - timedelta(hours=4),
        last_activity_at=NOW - timedelta(hours=4),
        email=address,
        email_consent=True,
    )
    return AbandonedOrder(candidate, 1001, customer_name, None, 6160)


ITEMS = [Item(1, "国産有機抹茶 100g", 2, 1980), Item(2, "今治タオル フェイスタオル 2枚組", 1, 2200)]


def message_bytes(
    config: Config,
    catalogue: Catalogue,
    *,
    customer_name: str = "山田 太郎",
    items: list[Item] = ITEMS,
    delivery_id: int = 42,
    now: datetime = NOW,
) -> bytes:
    order = order_of(customer_name)
    rendered, links = render_order(
        config,
        catalogue,
        140001,
        order,
        items,
        delivery_id=delivery_id,
        now=now,
    )
    envelope = email_envelope(config, order, rendered, links, delivery_id=delivery_id, now=now)
    return envelope.data


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def header_lines(data: bytes) -> list[bytes]:
    """The raw header lines of every part (top level and MIME parts), continuation lines too."""
    lines: list[bytes] = []
    in_header = True
    for line in data.replace(b"\r\n", b"\n").split(b"\n"):
        if in_header:
            if line == b"":
                in_header = False
            else:
                lines.append(line)
        elif line.startswith(b"--=_cartnudge_"):
            in_header = True
    return lines


def bodies(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def raw_header(data: bytes, name: str) -> str:
    """A header as it stands in the bytes (unfolded), before any RFC 2047 decoding."""
    value = email.message_from_bytes(data)[name]
    assert isinstance(value, str)
    return value


# -- structure -------------------------------------------------------------------------------


def test_a_reminder_is_multipart_alternative_with_utf8_text_and_html_parts(
    config: Config, catalogue: Catalogue
) -> None:
    message = parse(message_bytes(config, catalogue))
    parts = list(message.iter_parts())
    assert message.get_content_type() == "multipart/alternative"
    assert message["MIME-Version"] == "1.0"
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert [p.get_content_charset() for p in parts] == ["utf-8", "utf-8"]
    assert message.defects == [] and all(p.defects == [] for p in parts)
    text, html = bodies(message)
    assert text.startswith("山田 太郎 様\n")
    assert '<p style="margin: 0 0 12px;">山田 太郎 様</p>' in html


def test_the_raw_bytes_are_pure_ascii_and_no_header_line_exceeds_998_characters(
    config: Config, catalogue: Catalogue
) -> None:
    data = message_bytes(config, catalogue)
    data.decode("ascii")  # raises if a single byte is not ASCII
    lines = header_lines(data)
    assert any(line.startswith(b"Subject: =?utf-8?") for line in lines)
    assert max(len(line) for line in lines) <= 998


def test_a_japanese_subject_and_display_names_round_trip_exactly_through_encoded_words(
    config: Config, catalogue: Catalogue
) -> None:
    data = message_bytes(config, catalogue)
    message = parse(data)
    assert message["Subject"] == "山田 太郎 様、カートに商品が残っています【テスト商店】"
    (to,) = message["To"].addresses
    (sender,) = message["From"].addresses
    assert (to.display_name, to.addr_spec) == ("山田 太郎 様", CUSTOMER)
    assert (sender.display_name, sender.addr_spec) == ("テスト商店", "shop@example.jp")
    assert raw_header(data, "To").startswith("=?utf-8?b?")
    assert raw_header(data, "From").startswith("=?utf-8?b?")


def test_a_long_japanese_name_is_split_into_short_encoded_words_that_decode_exactly(
    config: Config, catalogue: Catalogue
) -> None:
    name = "寿限無寿限無五劫の擦り切れ海砂利水魚の水行末雲来末風来末食う寝る処に住む処" * 3
    data = message_bytes(config, catalogue, customer_name=name)
    raw_to = raw_header(data, "To")
    for header in ("To", "Subject"):
        words = re.findall(r"=\?[^?]+\?[bBqQ]\?[^?]*\?=", raw_header(data, header))
        assert len(words) > 1 and all(len(w) <= 75 for w in words)  # RFC 2047 section 2
    # An RFC 2047 decoder drops the white space between adjacent encoded words. (The parser of
    # policy.default keeps it inside a display name, a CPython quirk, so decode_header is used.)
    assert str(make_header(decode_header(raw_to))) == f"{name} 様 <{CUSTOMER}>"
    # the subject is cut at 120 characters with "…" (README, per-message limits)
    assert parse(data)["Subject"] == cut_subject(
        header_text(f"{name} 様、カートに商品が残っています【テスト商店】")
    )
    assert max(len(line) for line in header_lines(data)) <= 998


def test_the_date_header_is_present_and_parses_to_the_sending_time(
    config: Config, catalogue: Catalogue
) -> None:
    message = parse(message_bytes(config, catalogue))
    assert message["Date"].datetime == NOW.replace(tzinfo=UTC)


def test_the_message_id_is_derived_from_the_delivery(config: Config, catalogue: Catalogue) -> None:
    first = parse(message_bytes(config, catalogue, delivery_id=42))["Message-ID"]
    retry = parse(message_bytes(config, catalogue, delivery_id=42, now=NOW + timedelta(hours=1)))
    other = parse(message_bytes(config, catalogue, delivery_id=43))["Message-ID"]
    assert first == retry["Message-ID"] == "<cartnudge.42.1001@example.jp>"
    assert other != first
    assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", other)


def test_list_unsubscribe_offers_a_mailto_and_an_https_uri_with_one_click_post(
    config: Config, catalogue: Catalogue
) -> None:
    data = message_bytes(config, catalogue)
    message = parse(data)
    value = " ".join(str(message["List-Unsubscribe"]).split())
    uris = re.findall(r"<([^<>]*)>", value)
    assert value == ", ".join(f"<{u}>" for u in uris)  # nothing outside the angle brackets
    assert [u.split(":", 1)[0] for u in uris] == ["mailto", "https"]
    assert uris[0].startswith("mailto:shop@example.jp?subject=unsubscribe%20")
    assert uris[1].startswith("https://shop.example.jp/unsubscribe?token=")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = bodies(message)
    assert uris[1] in text and f'href="{uris[1]}"' in html  # the same link as in the footer


# -- hostile names ---------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["customer_name", "product_name"])
@pytest.mark.parametrize("hostile", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_hostile_name_adds_no_header_and_is_escaped_in_html_but_verbatim_in_text(
    config: Config, catalogue: Catalogue, where: str, hostile: str
) -> None:
    if where == "customer_name":
        data = message_bytes(config, catalogue, customer_name=hostile)
    else:
        data = message_bytes(config, catalogue, items=[Item(1, hostile, 1, 1980)])
    data.decode("ascii")
    message = parse(data)
    assert message.defects == []
    assert message.keys() == [
        "Content-Type",
        "MIME-Version",
        "Subject",
        "From",
        "To",
        "Date",
        "Message-ID",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
        "Auto-Submitted",
    ]
    assert message["Bcc"] is None and message["X-Injected"] is None
    assert [a.addr_spec for a in message["To"].addresses] == [CUSTOMER]
    assert b"\nBcc:" not in data and b"\nX-Injected:" not in data
    text, html = bodies(message)
    assert hostile in text  # plain text is not HTML: shown as typed
    assert "<script>" not in html and 'href="javascript:' not in html
    if "<script>" in hostile:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    if "javascript:" in hostile:
        assert "&lt;a href=&#34;javascript:x&#34;&gt;" in html
    if where == "customer_name":
        (to,) = message["To"].addresses
        one_line = " ".join(hostile.split())
        assert to.display_name == f"{one_line} 様"  # CR/LF became a space
        assert message["Subject"].startswith(f"{one_line} 様、")


@pytest.mark.parametrize("where", ["customer_name", "product_name"])
def test_a_10000_character_name_does_not_break_the_message(
    config: Config, catalogue: Catalogue, where: str
) -> None:
    if where == "customer_name":
        data = message_bytes(config, catalogue, customer_name=LONG)
    else:
        data = message_bytes(config, catalogue, items=[Item(1, LONG, 1, 1980)])
    data.decode("ascii")
    message = parse(data)
    assert message.defects == []
    assert [a.addr_spec for a in message["To"].addresses] == [CUSTOMER]
    assert max(len(line) for line in header_lines(data)) <= 998
    assert max(len(line) for line in data.splitlines()) <= 998  # bodies too (base64 lines)
    text, html = bodies(message)
    assert LONG in text and LONG in html  # the body keeps it all; only headers are bounded
    if where == "customer_name":
        assert len(message["Subject"]) <= 300


# -- templates -------------------------------------------------------------------------------


@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
def test_every_template_renders_the_sample_with_the_legal_footer_items_and_total(
    catalogue: Catalogue, template_id: int
) -> None:
    context = sample_context()
    rendered = catalogue.render(template_id, context)
    sender = context["sender"]
    assert rendered.subject and "\n" not in rendered.subject
    for body in (rendered.text, rendered.html):
        for required in (
            sender["name"],
            sender["postal_address"],
            sender["contact"],
            context["unsubscribe_url"],
            context["recovery_url"],
            "国産有機抹茶 100g",
            "今治タオル フェイスタオル 2枚組",
            "1,980円",  # unit price
            "3,960円",  # subtotal 2 x 1,980
            "2,200円",
            "6,160円",  # total
        ):
            assert required in body, f"template {template_id}: {required!r} missing"
    assert "・国産有機抹茶 100g　1,980円 × 2 = 3,960円" in rendered.text
    assert "合計：6,160円（税込）" in rendered.text
    assert f'href="{context["unsubscribe_url"]}"' in rendered.html


def broken_catalogue(tmp_path: Path, line: str) -> tuple[Catalogue, Path]:
    """A copy of the bundled templates whose 140001 text body has ``line`` at line 3."""
    directory = tmp_path / "templates"
    shutil.copytree(BUNDLED_TEMPLATES_DIR, directory)
    body = directory / "140001" / "body.txt.j2"
    lines = body.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(2, line + "\n")
    body.write_text("".join(lines), encoding="utf-8")
    return Catalogue(directory), body


def test_a_misspelt_variable_raises_a_template_error_naming_the_file_and_line(
    tmp_path: Path,
) -> None:
    catalogue, body = broken_catalogue(tmp_path, "クーポン：{{ coupon_code }}")
    with pytest.raises(TemplateError) as caught:
        catalogue.render(140001, sample_context())
    assert str(caught.value) == f"template 140001: {body}:3: 'coupon_code' is undefined"
    assert caught.value.exit_code == 6


def test_a_context_missing_a_variable_raises_a_template_error_naming_the_file_and_line(
    catalogue: Catalogue,
) -> None:
    context = sample_context()
    del context["sender"]["postal_address"]
    with pytest.raises(TemplateError) as caught:
        catalogue.render(140001, context)
    body = BUNDLED_TEMPLATES_DIR / "140001" / "body.txt.j2"  # rendered first: subject, text, html
    line = next(
        n
        for n, text in enumerate(body.read_text(encoding="utf-8").splitlines(), 1)
        if "sender.postal_address" in text
    )
    assert str(caught.value).startswith(f"template 140001: {body}:{line}: ")
    assert "postal_address" in str(caught.value)
