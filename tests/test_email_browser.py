"""The HTML e-mail opened in a real headless browser (tests/browser.py) at a phone's 375 pixels
and a desktop's 800: what a shopper sees (issue 11, point 9).

The message is the demo's own: ``cartnudge demo``, then ``templates preview --order N --format
html`` of an abandoned cart of several items. Its pictures and logo are https addresses of the
demo shop's site (midoriya.example.jp, which does not exist), so this test alone swaps them for
data: images before opening the page; the product's templates never hold a data: URI.

With CARTNUDGE_EMAIL_SCREENSHOTS=DIR the two screenshots are also saved as DIR/email-375.png
and DIR/email-800.png (how docs/email-375.png and docs/email-800.png were made).
"""

from __future__ import annotations

import base64
import os
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cartnudge.cli import main
from cartnudge.config import BUNDLED_TEMPLATES_DIR
from cartnudge.demo.build import DEMO_KEYS, DEMO_KEYS_ENV
from cartnudge.messages.templates import Catalogue, sample_context
from tests.browser import chromium

SITE = "https://midoriya.example.jp"
PICTURE = re.compile(re.escape(SITE) + r"/images/products/(\d+)\.jpg")
LOGO = f"{SITE}/images/logo.png"
TILE_COLOURS = ("#5b8c5a", "#b8912a", "#a23b3b", "#3b6ea2", "#7a5ba2", "#2f8f83", "#8a6a4f")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as driver:
        yield driver


def _svg(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _tile(product_id: int, label: str) -> str:
    """A square product picture: a coloured tile with the product name's first character."""
    colour = TILE_COLOURS[product_id % len(TILE_COLOURS)]
    return _svg(
        '<svg xmlns="http://www.w3.org/2000/svg" width="176" height="176">'
        f'<rect width="176" height="176" fill="{colour}"/>'
        '<text x="88" y="120" font-size="100" text-anchor="middle" fill="#ffffff" '
        f'font-family="Noto Sans CJK JP, sans-serif">{label}</text></svg>'
    )


LOGO_SVG = _svg(
    '<svg xmlns="http://www.w3.org/2000/svg" width="264" height="48">'
    '<circle cx="24" cy="24" r="20" fill="#5b8c5a"/>'
    '<text x="24" y="32" font-size="22" text-anchor="middle" fill="#ffffff" '
    'font-family="Noto Sans CJK JP, sans-serif">抹</text>'
    '<text x="54" y="33" font-size="24" font-weight="bold" fill="#2f5d34" '
    'font-family="Noto Sans CJK JP, sans-serif">みどり屋</text></svg>'
)


def _with_local_pictures(html: str, names: dict[int, str]) -> str:
    """The demo shop's picture and logo addresses swapped for data: images (this test only)."""
    html = PICTURE.sub(lambda m: _tile(int(m[1]), names[int(m[1])][0]), html)
    return html.replace(LOGO, LOGO_SVG)


@pytest.fixture(scope="module")
def demo_message(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[int, str], bytes]:
    """The HTML body and the whole message (eml) of the demo's largest abandoned cart, and the
    demo's product names by id."""
    directory = tmp_path_factory.mktemp("email") / "demo"
    args = ["demo", "--dir", str(directory), "--customers", "300", "--days", "3"]
    result = CliRunner().invoke(main, args, env={DEMO_KEYS_ENV: DEMO_KEYS})
    assert result.exit_code == 0, result.output
    with sqlite3.connect(directory / "shop.db") as db:
        names = dict(db.execute("SELECT id, name FROM products").fetchall())
        (order_id,) = db.execute(
            "SELECT o.id FROM orders o JOIN order_items i ON i.order_id = o.id"
            " WHERE o.state = 'abandoned' AND o.storefront = 'shop'"
            " GROUP BY o.id HAVING max(i.quantity) >= 2"
            " ORDER BY count(*) DESC, o.id LIMIT 1"
        ).fetchone()
    parts = []
    for fmt in ("html", "eml"):
        out = directory / f"preview.{fmt}"
        args = ["templates", "preview", "140001", "--config", str(directory / "config.yaml")]
        args += ["--order", str(order_id), "--format", fmt, "--output", str(out)]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        parts.append(out.read_bytes())
    return parts[0].decode("utf-8"), names, parts[1]


MEASURE = """
const box = e => { const r = e.getBoundingClientRect();
  return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width,
          height: r.height}; };
const ink = e => { const range = document.createRange(); range.selectNodeContents(e);
  return box(range); };
const pre = document.querySelector('.preheader');
return {
  viewport: window.innerWidth,
  scrollWidth: document.documentElement.scrollWidth,
  height: document.documentElement.scrollHeight,
  container: box(document.querySelector('.container')),
  preheader: {display: getComputedStyle(pre).display, height: box(pre).height,
              text: pre.textContent.trim()},
  bodyText: document.body.innerText,
  logo: (l => l && {shown: l.complete && l.naturalWidth > 0, ...box(l)})(
    document.querySelector('img.logo')),
  items: Array.from(document.querySelectorAll('tr.item')).map(row => ({
    name: row.querySelector('.item-name').innerText,
    link: (a => a && a.getAttribute('href'))(row.querySelector('.item-name a')),
    quantity: ink(row.querySelector('.item-quantity')),
    quantityText: row.querySelector('.item-quantity').innerText,
    subtotal: ink(row.querySelector('.item-subtotal-amount')),
    subtotalText: row.querySelector('.item-subtotal-amount').innerText,
    image: (i => i && {shown: i.complete && i.naturalWidth > 0, ...box(i)})(
      row.querySelector('.item-image img')),
  })),
};
"""


def _open(browser: Any, page: Path, width: int, shot: Path) -> dict[str, Any]:
    """``page`` at ``width`` CSS pixels (a phone below 600, viewport meta applied), the whole
    page screenshotted to ``shot``; what MEASURE finds."""
    metrics = {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600}
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    browser.get(page.as_uri())
    browser.execute_script("return document.fonts.ready")
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", dict(metrics, height=height))
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    return browser.execute_script(MEASURE)


def _apart(quantity: dict[str, float], subtotal: dict[str, float], gap: float = 8) -> bool:
    """The two texts' boxes do not touch: side by side ``gap`` pixels apart, or one above."""
    side_by_side = quantity["right"] + gap <= subtotal["left"]
    stacked = quantity["bottom"] <= subtotal["top"] or subtotal["bottom"] <= quantity["top"]
    return side_by_side or stacked


@pytest.mark.parametrize("width", [375, 800])
def test_the_demos_reminder_shows_pictures_a_logo_and_quantity_apart_from_subtotal(
    browser: Any, demo_message: tuple[str, dict[int, str], bytes], tmp_path: Path, width: int
) -> None:
    html, names, _eml = demo_message
    assert "data:" not in html  # the message itself names the shop's https pictures
    pictures = PICTURE.findall(html)
    assert len(pictures) >= 3 and f'src="{LOGO}"' in html
    page = tmp_path / "email.html"
    page.write_text(_with_local_pictures(html, names), encoding="utf-8")
    shot = tmp_path / f"email-{width}.png"
    seen = _open(browser, page, width, shot)
    if os.environ.get("CARTNUDGE_EMAIL_SCREENSHOTS"):
        target = Path(os.environ["CARTNUDGE_EMAIL_SCREENSHOTS"]) / shot.name
        target.write_bytes(shot.read_bytes())

    assert seen["viewport"] == width
    assert seen["scrollWidth"] <= width  # nothing scrolls sideways, on a phone either
    # a phone gets the whole width, a desktop the 600-pixel card
    assert seen["container"]["width"] == (width if width < 600 else 600)
    assert seen["preheader"]["display"] == "none" and seen["preheader"]["height"] == 0
    assert "点の商品がカートに残っています" in seen["preheader"]["text"]
    assert seen["preheader"]["text"].splitlines()[0] not in seen["bodyText"]
    assert seen["logo"]["shown"] and seen["logo"]["height"] == 40
    assert len(seen["items"]) == len(pictures)
    for item, product_id in zip(seen["items"], pictures, strict=True):
        assert item["name"] == names[int(product_id)]
        assert item["link"] == f"{SITE}/products/{product_id}"
        assert item["image"]["shown"] and item["image"]["width"] >= 64
        assert item["image"]["right"] <= item["quantity"]["left"]  # the picture beside the text
        assert re.fullmatch(r"数量 \d", item["quantityText"])
        assert re.fullmatch(r"[\d,]+円", item["subtotalText"])
        assert _apart(item["quantity"], item["subtotal"]), item
        assert item["subtotal"]["right"] <= min(width, seen["container"]["right"])


def test_a_long_name_and_a_large_quantity_stay_apart_without_sideways_scrolling_on_a_phone(
    browser: Any, tmp_path: Path
) -> None:
    context = sample_context()
    first, second = context["items"]
    context["items"] = [
        dict(first, name="Ｌ" * 60, quantity=999, subtotal=999 * 29800, unit_price=29800),
        dict(second, name="L" * 120, quantity=12, subtotal=12 * 2200),
    ]
    html = Catalogue(BUNDLED_TEMPLATES_DIR).render(140001, context).html
    html = html.replace(first["image_url"], _tile(1, "抹")).replace(
        context["sender"]["logo_url"], LOGO_SVG
    )
    page = tmp_path / "long.html"
    page.write_text(html, encoding="utf-8")
    seen = _open(browser, page, 375, tmp_path / "long.png")
    assert seen["scrollWidth"] <= 375
    quantities = [i["quantityText"] for i in seen["items"]]
    assert quantities == ["数量 999", "数量 12"]
    assert seen["items"][0]["subtotalText"] == "29,770,200円"
    for item in seen["items"]:
        assert _apart(item["quantity"], item["subtotal"]), item
        assert item["subtotal"]["right"] <= 375


def test_the_demos_message_keeps_every_line_within_998_octets_and_the_html_exact(
    demo_message: tuple[str, dict[int, str], bytes],
) -> None:
    import email
    import email.policy

    html, _names, eml = demo_message
    assert max(len(line) for line in eml.splitlines()) <= 998  # RFC 5322 2.1.1
    message = email.message_from_bytes(eml, policy=email.policy.default)
    part = message.get_body(("html",))
    assert part["Content-Transfer-Encoding"] == "base64"
    same = re.compile(r"token=[\w.-]+")  # each preview signs its links anew
    assert same.sub("token=T", part.get_content()) == same.sub("token=T", html)
