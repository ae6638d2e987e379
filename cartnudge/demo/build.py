"""Build the demo: a configuration, an SQLite shop seeded with realistic data, cartnudge's tables
and the demo's suppression list, all under one directory."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine

from cartnudge.demo.seed import SeedReport, create_shop_schema, seed_shop
from cartnudge.engines import build_engine
from cartnudge.state.store import migrate
from cartnudge.state.suppressions import Suppressions

DEMO_KEYS_ENV = "CARTNUDGE_DEMO_TOKEN_KEYS"
# Not a secret: the demo's links point at shop.example.jp. A real shop sets its own key. The
# demo writes it to token-keys beside its configuration (recovery.keys_file), so every command
# the demo prints runs without setting anything.
DEMO_KEYS = "demo-signing-key-not-secret-0001"


def write_key_file(path: Path, keys: str) -> None:
    """Write ``keys`` to ``path`` readable by its owner only (0600), also when it existed."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (keys + "\n").encode())
    finally:
        os.close(fd)


DEMO_CONFIG = """\
# cartnudge demo configuration (written by 'cartnudge demo'); see config.example.yaml for all keys.
timezone: Asia/Tokyo
shop:
  url: sqlite:///shop.db
  cart_ttl: 1440        # minutes; the shop's own cart validity
sender:
  name: 抹茶と暮らしの店 みどり屋
  email: info@midoriya.example.jp
  postal_address: 〒100-0005 東京都千代田区丸の内1-1-1
  contact: 03-1234-5678
flows:
  confirm:
    enabled: true
    target: all
    template: 140001
    delay: 3h
  input:                # LP forms left after typing phone and e-mail (入力画面離脱)
    enabled: true
    template: 140002
    delay: 1h
    channels: [email]   # add sms once an SMS gateway is configured (see config.example.yaml)
email:
  transport: {transport}
  outbox_dir: outbox
  smtp:
    host: {smtp_host}
    port: {smtp_port}
recovery:
  shop_url: https://midoriya.example.jp/cart/restore?token={{token}}
  lp_url: https://midoriya.example.jp/lp/{{lp_id}}/form?token={{token}}
  unsubscribe_url: https://midoriya.example.jp/unsubscribe?token={{token}}
  keys_env: {keys_env}   # unset in the demo: the key comes from the file below
  keys_file: token-keys  # written by the demo, mode 0600
"""


def write_demo_config(
    directory: Path, *, smtp_host: str | None = None, smtp_port: int = 25
) -> Path:
    path = directory / "config.yaml"
    path.write_text(
        DEMO_CONFIG.format(
            transport="smtp" if smtp_host else "outbox",
            smtp_host=smtp_host or "localhost",
            smtp_port=smtp_port,
            keys_env=DEMO_KEYS_ENV,
        ),
        encoding="utf-8",
    )
    return path


def build_demo(
    directory: Path,
    *,
    now: datetime,
    customers: int = 3000,
    seed: int = 42,
    smtp_host: str | None = None,
    smtp_port: int = 25,
) -> tuple[Path, SeedReport]:
    """Write ``directory``/config.yaml and shop.db (replacing an earlier demo's); return the
    configuration's path and what was seeded."""
    directory.mkdir(parents=True, exist_ok=True)
    shop_db = directory / "shop.db"
    shop_db.unlink(missing_ok=True)
    outbox = directory / "outbox"
    if outbox.is_dir():
        for old in outbox.glob("*.eml"):
            old.unlink()
    write_key_file(directory / "token-keys", DEMO_KEYS)
    config_path = write_demo_config(directory, smtp_host=smtp_host, smtp_port=smtp_port)
    engine = create_engine(f"sqlite:///{shop_db}")
    try:
        create_shop_schema(engine)
        report = seed_shop(engine, now=now, customers=customers, seed=seed)
    finally:
        engine.dispose()
    state_engine = build_engine(f"sqlite:///{shop_db}", writer=True)
    try:
        migrate(state_engine)
        store = Suppressions(state_engine)
        for address in report.suppressed_emails:
            store.add_suppression("email", address, "opt_out", now, detail="demo")
    finally:
        state_engine.dispose()
    return config_path, report
