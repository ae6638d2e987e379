"""Limits checked per message (issue 10, point 4): an SMS over ``sms.max_segments`` because of
this cart's data is shortened by the documented rule (the item list cut, "他N点"), or not sent
and counted with a reason; never a message over a configured limit."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from cartnudge.app import App
from cartnudge.channels.memory import MemoryChannel
from cartnudge.config import BUNDLED_TEMPLATES_DIR, load_config
from cartnudge.demo.schema import products
from cartnudge.messages.compose import cut_subject
from cartnudge.messages.sms_text import segments
from cartnudge.state.schema import deliveries
from cartnudge.sweep import Sweep
from tests.conftest import base_config, write_config
from tests.shop import AD_INPUT_ON, ShopBuilder

NOON_JST = datetime(2026, 11, 22, 3, 0)
MAX_SEGMENTS = 6
LONG_NAME = "京都宇治 抹茶ロールケーキ 季節限定 詰め合わせ 贈答用"
ITEMS_SMS = (
    "{{ customer_name }}様 カートに{% for i in items %}{{ i.name }}、{% endfor %}"
    "が残っています {{ recovery_url }}\n"
)


def sms_app(shop: ShopBuilder, tmp_path: Path) -> App:
    templates = tmp_path / "templates"
    shutil.copytree(BUNDLED_TEMPLATES_DIR, templates)
    (templates / "140002" / "sms.txt.j2").write_text(ITEMS_SMS, encoding="utf-8")
    data = base_config(shop.url, tmp_path)
    data["templates_dir"] = str(templates)
    data["flows"]["input"] = {"enabled": True, "delay": "1h", "channels": ["sms"]}
    data["sms"] = {
        "enabled": True,
        "provider": "webhook",
        "url": "http://127.0.0.1:9/sms",
        "sender": "MIDORIYA",
        "max_segments": MAX_SEGMENTS,
    }
    return App(load_config(write_config(tmp_path, data)))


def left_form(shop: ShopBuilder, at: datetime, items: tuple, **changes: object) -> int:
    values: dict = dict(
        status="visitor", storefront="lp", step="input", ad_url_id=AD_INPUT_ON,
        phone="090-1234-5678", sms_optin=True, items=items,
    )  # fmt: skip
    values.update(changes)
    return shop.abandoned(at, **values)


def test_a_long_cart_is_cut_to_fit_and_a_hopeless_sms_is_not_sent(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    with sqlite_shop.engine.begin() as conn:
        conn.execute(
            products.insert(),
            [
                {"id": 10 + i, "name": f"{LONG_NAME} {i}号", "price": 100, "stock": 5}
                for i in range(7)
            ],
        )  # fmt: skip
    seven = tuple((10 + i, 1) for i in range(7))
    left_form(sqlite_shop, NOON_JST - timedelta(hours=2), seven)
    left_form(
        sqlite_shop,
        NOON_JST - timedelta(hours=2, minutes=5),
        ((10, 1),),
        name="寿限無寿限無五劫の擦り切れ海砂利水魚の水行末雲来末風来末" * 6,
        phone="090-8765-4321",
    )
    app = sms_app(sqlite_shop, tmp_path)
    sms = MemoryChannel()
    try:
        summary = Sweep(app, MemoryChannel(), now=NOON_JST, channels={"sms": sms}).run()
    finally:
        app.dispose()
    (sent,) = sms.sent
    text = sent.data.decode("utf-8")
    assert segments(text).segments <= MAX_SEGMENTS
    assert f"{LONG_NAME} 0号" in text  # the first items are kept
    assert f"{LONG_NAME} 6号" not in text
    assert "他" in text and "点" in text
    assert summary.failed == 1
    with sqlite_shop.engine.connect() as conn:
        errors = [r.error for r in conn.execute(select(deliveries)) if r.status == "failed"]
    assert len(errors) == 1
    assert f"more than sms.max_segments {MAX_SEGMENTS}" in errors[0]
    assert "not sent" in errors[0]


def test_a_subject_is_cut_with_an_ellipsis() -> None:
    assert cut_subject("短い件名") == "短い件名"
    long = "カートに残っている商品: " + "抹茶" * 100
    assert len(cut_subject(long)) == 120 and cut_subject(long).endswith("…")
