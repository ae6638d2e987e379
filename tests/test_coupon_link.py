"""The recovery link can carry the code (issue 13 point 1, ``coupons.in_link``): the message's
link gets ``coupon=CODE``, and the web app's click redirect passes the delivery's own code on to
the shop's restore page."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from cartnudge.app import App
from cartnudge.channels.memory import MemoryChannel
from cartnudge.config import load_config
from cartnudge.core.urls import with_query
from cartnudge.recovery import resolve_token
from cartnudge.sweep import Sweep
from cartnudge.web import WebEndpoints
from tests.conftest import write_config
from tests.shop import ShopBuilder
from tests.test_coupons import NOW, body, coupon_config, import_codes


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://s.jp/cart?token=abc", "https://s.jp/cart?token=abc&coupon=CART-7K"),
        ("https://s.jp/r/abc", "https://s.jp/r/abc?coupon=CART-7K"),
        ("https://s.jp/cart?token=abc#items", "https://s.jp/cart?token=abc&coupon=CART-7K#items"),
        ("https://s.jp/cart?", "https://s.jp/cart?coupon=CART-7K"),
    ],
)
def test_a_query_parameter_is_added_before_the_fragment(url: str, expected: str) -> None:
    assert with_query(url, "coupon", "CART-7K") == expected


@pytest.mark.parametrize("code", ["A&B=C D", "クーポン/10%", "CART-7K2M_x.y~"])
def test_a_code_is_percent_encoded_as_urllib_would(code: str) -> None:
    from urllib.parse import quote

    expected = f"https://s.jp/c?coupon={quote(code, safe='')}"
    assert with_query("https://s.jp/c", "coupon", code) == expected


def _recovery_urls(text: str) -> list[str]:
    return [w for w in text.split() if w.startswith("https://shop.example.jp/cart/restore?")]


@pytest.mark.parametrize("in_link", [True, False])
def test_the_recovery_link_carries_the_code_when_configured(
    shop: ShopBuilder, config_data: dict, tmp_path: Path, in_link: bool
) -> None:
    data = coupon_config(config_data, in_link=in_link)
    data["recovery"]["shop_url"] = "https://shop.example.jp/cart/restore?token={token}"
    config = write_config(tmp_path, data)
    import_codes(config, tmp_path, "SAVE-1")
    shop.abandoned(NOW - timedelta(hours=4))  # step 1, with a code
    shop.abandoned(NOW - timedelta(hours=2))  # step 0, no code
    app = App(load_config(config))
    channel = MemoryChannel()
    try:
        Sweep(app, channel, now=NOW).run()
    finally:
        app.dispose()
    with_code, without = sorted(channel.sent, key=lambda e: "SAVE-1" not in body(e))
    links = _recovery_urls(body(with_code))
    assert links and all(u.endswith("&coupon=SAVE-1") is in_link for u in links)
    assert all("coupon=" not in u for u in _recovery_urls(body(without)))


def test_the_click_redirect_passes_the_deliverys_own_code_to_the_shop(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    data = coupon_config(config_data, in_link=True)
    data["web"] = {"base_url": "https://shop.example.jp/cartnudge"}
    data["recovery"]["shop_url"] = "https://shop.example.jp/cart/restore?token={token}"
    config = write_config(tmp_path, data)
    import_codes(config, tmp_path, "SAVE-1")
    shop.abandoned(NOW - timedelta(hours=4))
    app = App(load_config(config))
    channel = MemoryChannel()
    try:
        Sweep(app, channel, now=NOW).run()
        [sent] = channel.sent
        [link] = [w for w in body(sent).split() if "/cartnudge/r/" in w]
        assert link.endswith("?coupon=SAVE-1")
        token = link.split("/r/", 1)[1].split("?", 1)[0]
        info = resolve_token(app, token, now=NOW + timedelta(minutes=5), record_click=False)
        target = WebEndpoints(app).restore_url(info, token)
    finally:
        app.dispose()
    assert target == f"https://shop.example.jp/cart/restore?token={token}&coupon=SAVE-1"
