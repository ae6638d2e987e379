"""The HTML e-mail's pictures, product links and logo (issue 11, point 9): only http(s)
addresses reach the HTML, from order_items.sql's optional columns image_url and product_url and
from ``sender.logo_url``; without them the message has no picture, link or logo. How it looks
in a browser is tests/test_email_browser.py."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from cartnudge.cli import main
from cartnudge.config import BUNDLED_SQL_DIR, Config, parse_config
from cartnudge.core.urls import web_url
from cartnudge.demo.schema import products
from cartnudge.errors import ConfigError
from cartnudge.messages.compose import render_order
from cartnudge.messages.templates import Catalogue
from cartnudge.shop.reader import Item
from tests.conftest import TOKEN_ENV, TOKEN_KEYS, base_config, write_config
from tests.shop import ShopBuilder
from tests.test_messages import NOW, order_of

HOSTILE_URLS = [
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "data:image/svg+xml;base64,PHN2Zz4=",
    "vbscript:msgbox(1)",
    'https://shop.example.jp/a.jpg" onerror="alert(1)',
    "https://shop.example.jp/a.jpg' onerror='alert(1)",
    "https://shop.example.jp/<script>",
    "https://shop.example.jp@evil.example/a.jpg",
    "//evil.example/a.jpg",
    "https://shop.example.jp/a b.jpg",
    "https://shop.example.jp/a\\b.jpg",
    "https://shop.example.jp/a\nb.jpg",
    "ftp://shop.example.jp/a.jpg",
    "https:/shop.example.jp/a.jpg",
    "https://",
    "",
    "https://shop.example.jp/" + "a" * 2100,
]


@pytest.mark.parametrize(
    "given,expected",
    [
        ("https://shop.example.jp/images/1.jpg", "https://shop.example.jp/images/1.jpg"),
        ("http://127.0.0.1:8080/p.png?size=2&v=3#x", "http://127.0.0.1:8080/p.png?size=2&v=3#x"),
        ("  HTTPS://shop.example.jp/p/1  ", "https://shop.example.jp/p/1"),  # trimmed
        # a Japanese path is percent-encoded as UTF-8, as a browser sends it
        ("https://shop.example.jp/商品/抹茶", "https://shop.example.jp/%E5%95%86%E5%93%81/%E6%8A%B9%E8%8C%B6"),
        ("https://shop.example.jp/a%20b.jpg", "https://shop.example.jp/a%20b.jpg"),
        *[(url, None) for url in HOSTILE_URLS],
        (None, None),
        (42, None),
    ],
)  # fmt: skip
def test_only_a_plain_http_or_https_address_is_a_web_url(given: object, expected: str) -> None:
    assert web_url(given) == expected


def test_https_only_refuses_an_http_address() -> None:
    assert web_url("http://shop.example.jp/logo.png", https_only=True) is None
    assert web_url("https://shop.example.jp/logo.png", https_only=True) is not None


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    tmp_path = tmp_path_factory.mktemp("layout")
    data = base_config(f"sqlite:///{tmp_path / 'shop.db'}", tmp_path)
    data["sender"]["logo_url"] = "https://shop.example.jp/images/logo.png"
    return parse_config(data, source="t", base_dir=tmp_path, environ={TOKEN_ENV: TOKEN_KEYS})


def html_of(config: Config, items: list[Item]) -> str:
    catalogue = Catalogue(config.templates_dir)
    rendered, _links = render_order(
        config, catalogue, 140001, order_of(), items, delivery_id=1, now=NOW
    )
    return rendered.html


def test_an_items_picture_and_page_are_shown_and_linked(config: Config) -> None:
    item = Item(
        7,
        "国産有機抹茶 100g",
        2,
        1980,
        image_url="https://shop.example.jp/images/7.jpg",
        product_url="https://shop.example.jp/products/7",
    )
    html = html_of(config, [item])
    assert '<img src="https://shop.example.jp/images/7.jpg" width="88" height="88"' in html
    assert 'alt="国産有機抹茶 100g"' in html
    assert html.count('href="https://shop.example.jp/products/7"') == 2  # picture and name
    assert (
        '<img class="logo" src="https://shop.example.jp/images/logo.png" alt="テスト商店"' in html
    )


def test_without_pictures_or_pages_an_item_has_neither_an_image_nor_a_link(
    config: Config,
) -> None:
    html = html_of(config, [Item(7, "国産有機抹茶 100g", 2, 1980)])
    assert 'class="item-image"' not in html and "<img src=" not in html
    assert '<div class="item-name" style="font-weight: bold;">国産有機抹茶 100g</div>' in html


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_a_hostile_picture_or_page_address_never_reaches_the_html(config: Config, url: str) -> None:
    html = html_of(config, [Item(7, "抹茶", 1, 1980, image_url=url, product_url=url)])
    assert "<img src=" not in html and 'href="https://shop.example.jp/products' not in html
    for bad in ("javascript:", "JavaScript:", "data:", "vbscript:", "onerror", "evil.example"):
        assert bad not in html
    assert '<div class="item-name" style="font-weight: bold;">抹茶</div>' in html


def test_the_html_shows_the_senders_name_where_no_logo_is_configured(tmp_path: Path) -> None:
    data = base_config(f"sqlite:///{tmp_path / 'shop.db'}", tmp_path)
    plain = parse_config(data, source="t", base_dir=tmp_path, environ={TOKEN_ENV: TOKEN_KEYS})
    html = html_of(plain, [Item(7, "抹茶", 1, 1980)])
    assert 'class="logo"' not in html
    assert '<span style="font-size: 18px; font-weight: bold;">テスト商店</span>' in html


@pytest.mark.parametrize(
    "logo",
    [
        "http://shop.example.jp/logo.png",
        "javascript:alert(1)",
        "data:image/png;base64,iVBORw0KGgo=",
        'https://shop.example.jp/logo.png"><script>',
        "logo.png",
    ],
)
def test_a_logo_that_is_not_an_https_address_is_a_one_line_configuration_error(
    tmp_path: Path, logo: str
) -> None:
    data = base_config(f"sqlite:///{tmp_path / 'shop.db'}", tmp_path)
    data["sender"]["logo_url"] = logo
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source="c.yaml", base_dir=tmp_path, environ={TOKEN_ENV: TOKEN_KEYS})
    message = str(caught.value)
    assert message.startswith("c.yaml: sender.logo_url: not an https address")
    assert "\n" not in message


def _preview(config_path: Path, order_id: int) -> str:
    args = ["templates", "preview", "140001", "--config", str(config_path)]
    result = CliRunner().invoke(main, [*args, "--order", str(order_id), "--format", "html"])
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    return result.stdout


def test_a_real_orders_pictures_and_pages_come_from_order_items_sql_and_bad_ones_are_left_out(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    with shop.engine.begin() as conn:
        conn.execute(
            update(products)
            .where(products.c.id == 1)
            .values(
                image_url="https://shop.example.jp/img/抹茶.jpg",
                page_url=" https://shop.example.jp/p/1 ",  # spaces around are trimmed
            )
        )
        conn.execute(
            update(products)
            .where(products.c.id == 2)
            .values(image_url="javascript:alert(1)", page_url='https://x.example/"onmouseover=1')
        )
    order = shop.abandoned(NOW - timedelta(hours=4), items=((1, 2), (2, 1)))
    html = _preview(write_config(tmp_path, config_data), order)
    assert 'src="https://shop.example.jp/img/%E6%8A%B9%E8%8C%B6.jpg"' in html
    assert html.count('href="https://shop.example.jp/p/1"') == 2
    assert html.count("<img src=") == 1  # the towel's picture address was refused
    assert "javascript:" not in html and "onmouseover" not in html
    assert ">今治タオル フェイスタオル 2枚組</div>" in html  # named, not linked


def test_an_order_items_sql_without_the_optional_columns_gives_a_message_without_pictures(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    sql = tmp_path / "sql"
    shutil.copytree(BUNDLED_SQL_DIR, sql)
    query = sql / "order_items.sql"
    text = query.read_text(encoding="utf-8")
    text = text.replace(",\n  p.image_url     AS image_url,\n  p.page_url      AS product_url", "")
    assert "image_url" not in text.split("SELECT", 1)[1]
    query.write_text(text, encoding="utf-8")
    data = base_config(sqlite_shop.url, tmp_path)
    data["shop"]["sql_dir"] = str(sql)
    order = sqlite_shop.abandoned(datetime(2026, 11, 22, 8, 0), items=((1, 2),))
    html = _preview(write_config(tmp_path, data), order)
    assert "<img" not in html and 'class="item-image"' not in html
    assert ">国産有機抹茶 100g</div>" in html
