"""Build the demo: a configuration, an SQLite shop seeded with realistic data, cartnudge's tables
and the demo's suppression list, all under one directory."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine

from cartnudge.demo.seed import SeedReport, create_shop_schema, seed_shop
from cartnudge.engines import build_engine
from cartnudge.errors import FileWriteError
from cartnudge.files import check_target, refuse_existing, write_file
from cartnudge.state.store import migrate
from cartnudge.state.suppressions import Suppressions

DEMO_KEYS_ENV = "CARTNUDGE_DEMO_TOKEN_KEYS"
# Not a secret: the demo's links point at shop.example.jp. A real shop sets its own key. The
# demo writes it to token-keys beside its configuration (recovery.keys_file), so every command
# the demo prints runs without setting anything.
DEMO_KEYS = "demo-signing-key-not-secret-0001"


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
  logo_url: https://midoriya.example.jp/images/logo.png   # shown atop the HTML e-mail
flows:
  confirm:
    enabled: true
    target: all
    template: 140001
    holdout: 10%        # one shopper in ten gets no reminder: the report measures the lift
    steps:
      - delay: 3h
        experiment: timing   # an A/B test of the delay: 3 hours against 1 hour
        variants:
          - {{name: 3h}}
          - {{name: 1h, delay: 1h}}
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
    write_file(
        path,
        DEMO_CONFIG.format(
            transport="smtp" if smtp_host else "outbox",
            smtp_host=smtp_host or "localhost",
            smtp_port=smtp_port,
            keys_env=DEMO_KEYS_ENV,
        ),
        what="demo configuration",
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
    force: bool = False,
) -> tuple[Path, SeedReport]:
    """Write ``directory``/config.yaml, token-keys and shop.db; return the configuration's path
    and what was seeded.

    An existing shop.db, config.yaml or outbox message in ``directory`` is replaced only with
    ``force`` (FileWriteError, exit 9, otherwise): the directory may be someone's real shop.
    Even with ``force`` only regular files are removed, never what a symlink points to."""
    shop_db = directory / "shop.db"
    config = directory / "config.yaml"
    outbox = directory / "outbox"
    old_messages = sorted(outbox.glob("*.eml")) if outbox.is_dir() else []
    if not force:
        refuse_existing(
            [shop_db, config, *old_messages[:1]],
            what="demo --dir",
            hint="give --force to replace an earlier demo, or another --dir",
        )
    for path in (shop_db, config, *old_messages):
        check_target(path, what="demo --dir")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileWriteError(f"demo --dir {directory}: cannot create it ({exc.strerror})") from None
    shop_db.unlink(missing_ok=True)
    for old in old_messages:
        old.unlink()
    write_file(directory / "token-keys", DEMO_KEYS + "\n", what="demo key file", mode=0o600)
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
