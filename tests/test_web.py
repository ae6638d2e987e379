"""The web endpoints (``cartnudge serve``) over real HTTP against a real server process: the
click redirect, the opt-out page, the RFC 8058 one-click POST, friendly pages for bad links and
an unreachable database (never a 500), and messages that link to the web app when configured."""

from __future__ import annotations

import email
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text

from cartnudge.app import App
from cartnudge.channels.memory import MemoryChannel
from cartnudge.config import load_config
from cartnudge.messages.tokens import RECOVERY, sign_token
from cartnudge.state.schema import deliveries, suppressions
from cartnudge.sweep import Sweep
from tests.conftest import write_config
from tests.shop import ShopBuilder

pytestmark = pytest.mark.slow
BASE = "https://shop.example.jp/cartnudge"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, config: Path, tmp_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (tmp_path / "serve.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cartnudge", "serve", "--config", str(config)]
            + ["--port", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited: {(tmp_path / 'serve.log').read_text()}")
            try:
                httpx.get(self.url + "/", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError("serve did not start within 60 s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture
def sent(shop: ShopBuilder, config_data: dict, tmp_path: Path) -> Iterator[tuple]:
    """One reminder sent with web.base_url configured, and a server on a free port."""
    now = datetime.now(UTC).replace(tzinfo=None)
    order = shop.abandoned(now - timedelta(hours=4))
    config_data["web"] = {"base_url": BASE + "/"}
    config_data["recovery"]["shop_url"] = "https://shop.example.jp/cart/restore?token={token}"
    path = write_config(tmp_path, config_data)
    app = App(load_config(path))
    channel = MemoryChannel()
    try:
        Sweep(app, channel, now=now).run()
    finally:
        app.dispose()
    server = Server(path, tmp_path)
    try:
        yield shop, order, channel.sent[0], server
    finally:
        server.stop()


def _links(envelope) -> tuple[str, str, str]:
    message = email.message_from_bytes(envelope.data)
    body = message.get_payload()[0].get_payload(decode=True).decode("utf-8")
    recovery = next(w for w in body.split() if w.startswith(BASE + "/r/"))
    header = message["List-Unsubscribe"]
    parts = [part.strip().strip("<>") for part in header.split(",")]
    unsubscribe = next(part for part in parts if part.startswith("https"))
    return recovery, unsubscribe, message["List-Unsubscribe-Post"]


def test_messages_link_to_the_web_app_and_the_click_redirects_to_the_restore_page(
    sent: tuple,
) -> None:
    shop, _order, envelope, server = sent
    recovery, unsubscribe, post = _links(envelope)
    assert unsubscribe.startswith(BASE + "/u/") and post == "List-Unsubscribe=One-Click"
    token = recovery.rsplit("/", 1)[1]
    probe = httpx.head(server.url + "/r/" + token, follow_redirects=False)  # a link checker
    assert probe.status_code == 303
    answer = httpx.get(server.url + "/r/" + token, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"https://shop.example.jp/cart/restore?token={token}"
    with shop.engine.connect() as conn:
        clicks = conn.execute(select(deliveries.c.clicks)).scalar_one()
    assert clicks == 1


def test_the_opt_out_page_asks_first_and_the_one_click_post_unsubscribes(sent: tuple) -> None:
    shop, _order, envelope, server = sent
    _recovery, unsubscribe, _post = _links(envelope)
    path = unsubscribe.removeprefix(BASE)
    page = httpx.get(server.url + path)
    assert page.status_code == 200
    assert "配信停止の確認" in page.text and "配信を停止する" in page.text
    assert f'<form method="post" action="{path}">' in page.text
    assert "@example.jp" in page.text and "customer" not in page.text  # the address, masked
    with shop.engine.connect() as conn:
        assert conn.execute(select(suppressions)).all() == []  # a GET changes nothing
    # RFC 8058: the mail client's POST, no cookies, no further interaction
    done = httpx.post(
        server.url + path,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200 and "配信を停止しました" in done.text
    again = httpx.post(server.url + path, data={"confirm": "yes"})  # the page's button
    assert again.status_code == 200
    with shop.engine.connect() as conn:
        rows = [(r.channel, r.address, r.reason) for r in conn.execute(select(suppressions))]
    assert rows == [("email", envelope.recipient, "opt_out")]


def test_bad_expired_and_wrong_kind_links_get_a_friendly_page_never_a_500(sent: tuple) -> None:
    shop, _order, envelope, server = sent
    recovery, unsubscribe, _post = _links(envelope)
    keys = (b"test-signing-key-0123456789",)
    past = datetime(2020, 1, 1)
    expired = sign_token({"d": 1}, keys, kind=RECOVERY, expires_at=past)
    unknown = sign_token({"d": 999999}, keys, kind=RECOVERY, expires_at=datetime(2099, 1, 1))
    for path in (
        "/r/not-a-token",
        "/r/" + expired,
        "/r/" + unknown,
        "/r/" + unsubscribe.rsplit("/", 1)[1],  # an opt-out token is not a click
        "/u/" + recovery.rsplit("/", 1)[1],  # a recovery token does not unsubscribe
        "/u/garbage.garbage",
    ):
        answer = httpx.get(server.url + path, follow_redirects=False)
        assert answer.status_code == 400, path
        assert "リンクが無効です" in answer.text and "Traceback" not in answer.text
    missing = httpx.get(server.url + "/nothing-here")
    assert missing.status_code == 404 and "ページが見つかりません" in missing.text
    with shop.engine.begin() as conn:  # the state table goes away under the server
        conn.execute(text(f"DROP TABLE {suppressions.name}"))
    down = httpx.post(server.url + unsubscribe.removeprefix(BASE), data={"confirm": "yes"})
    assert down.status_code == 503 and "しばらくお待ちください" in down.text
