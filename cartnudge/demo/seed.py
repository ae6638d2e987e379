"""Fill the reference shop (``schema.py``) with a realistic, reproducible Japanese shop.

Used by ``cartnudge demo``, the tests and the benchmark. Everything comes from
``random.Random(seed)`` and the ``now`` argument, never from the global random state or the
clock, so the same arguments always give the same rows.

The data covers every case the rules in SPEC.md section 2 must tell apart: each cell of the
abandonment table (2.1), failed payments, LP form abandonments (2.6), fraud screening results
and the redirect action (2.5), carts that are due, not yet due and expired for a 3-hour delay
and a 24-hour cart validity (2.2, 2.3), shoppers who came back (2.4), customers who bought
after abandoning, missing consent, invalid or missing e-mail addresses and addresses on the
suppression list (2.7).

E-mail addresses use only the reserved example.jp / example.com / example.net domains. Phone
numbers look like real Japanese mobile numbers and are random: send demo SMS only to an outbox
or a test gateway.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy
from sqlalchemy import Table, select, text

from cartnudge.demo.schema import ad_urls as ad_urls_table
from cartnudge.demo.schema import customers as customers_table
from cartnudge.demo.schema import metadata
from cartnudge.demo.schema import order_items as order_items_table
from cartnudge.demo.schema import orders as orders_table
from cartnudge.demo.schema import products as products_table

__all__ = ["SeedReport", "create_shop_schema", "seed_shop"]

# Big enough to be fast on every driver, small enough to stay under MariaDB's packet limit
# and PostgreSQL's bind-parameter limit once SQLAlchemy batches the rows.
_BATCH = 2000

_FAMILY_NAMES: tuple[tuple[str, str], ...] = (
    ("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"), ("田中", "tanaka"),
    ("伊藤", "ito"), ("渡辺", "watanabe"), ("山本", "yamamoto"), ("中村", "nakamura"),
    ("小林", "kobayashi"), ("加藤", "kato"), ("吉田", "yoshida"), ("山田", "yamada"),
    ("佐々木", "sasaki"), ("山口", "yamaguchi"), ("松本", "matsumoto"), ("井上", "inoue"),
    ("木村", "kimura"), ("林", "hayashi"), ("斎藤", "saito"), ("清水", "shimizu"),
    ("山崎", "yamazaki"), ("森", "mori"), ("池田", "ikeda"), ("橋本", "hashimoto"),
    ("阿部", "abe"), ("石川", "ishikawa"), ("山下", "yamashita"), ("中島", "nakajima"),
    ("石井", "ishii"), ("小川", "ogawa"), ("前田", "maeda"), ("岡田", "okada"),
    ("長谷川", "hasegawa"), ("藤田", "fujita"), ("後藤", "goto"), ("近藤", "kondo"),
    ("村上", "murakami"), ("遠藤", "endo"), ("青木", "aoki"), ("坂本", "sakamoto"),
)  # fmt: skip

_GIVEN_NAMES: tuple[tuple[str, str], ...] = (
    ("花子", "hanako"), ("太郎", "taro"), ("翔太", "shota"), ("美咲", "misaki"),
    ("健太", "kenta"), ("陽菜", "hina"), ("大輔", "daisuke"), ("桜", "sakura"),
    ("拓也", "takuya"), ("結衣", "yui"), ("蓮", "ren"), ("葵", "aoi"),
    ("悠真", "yuma"), ("凛", "rin"), ("湊", "minato"), ("愛", "ai"),
    ("直樹", "naoki"), ("由美", "yumi"), ("誠", "makoto"), ("恵子", "keiko"),
    ("浩二", "koji"), ("優子", "yuko"), ("亮", "ryo"), ("真由美", "mayumi"),
    ("和也", "kazuya"), ("明美", "akemi"), ("隆", "takashi"), ("陽子", "yoko"),
    ("大樹", "daiki"), ("彩", "aya"),
)  # fmt: skip

_DOMAINS = ("example.jp", "example.com", "example.net")
# The demo shop's site (its configuration's recovery links point there too): product pictures
# and pages for order_items.sql's optional image_url and product_url.
SHOP_SITE = "https://midoriya.example.jp"

_AD_URLS: tuple[dict[str, Any], ...] = (
    {"id": 1, "name": "リスティング広告（抹茶LP）", "input_abandonment": True},
    {"id": 2, "name": "SNS広告（タオルLP）", "input_abandonment": True},
    {"id": 3, "name": "アフィリエイト（土鍋LP）", "input_abandonment": False},
)
_MOBILE_PREFIXES = ("090", "080", "070")

# (name, yen price tax included). Fixed prices: a shop's catalogue does not change per seed.
_CATALOGUE: tuple[tuple[str, int], ...] = (
    ("国産有機抹茶 100g", 2480),
    ("今治タオル フェイスタオル 2枚組", 2200),
    ("今治タオル バスタオル", 4950),
    ("南部鉄器 急須 0.6L", 12800),
    ("有田焼 マグカップ", 3300),
    ("信楽焼 植木鉢 5号", 4180),
    ("宇治ほうじ茶 ティーバッグ 20包", 980),
    ("北海道産 日高昆布 200g", 1280),
    ("鹿児島県産 黒豚しゃぶしゃぶ用 500g", 4980),
    ("静岡県産 深蒸し煎茶 100g", 1620),
    ("紀州南高梅 はちみつ梅干し 500g", 3480),
    ("新潟県産 コシヒカリ 5kg", 3980),
    ("博多 辛子明太子 300g", 3240),
    ("讃岐うどん 乾麺 10人前", 1980),
    ("信州そば 8人前", 1780),
    ("国産 純粋はちみつ 300g", 2680),
    ("柚子ぽん酢 360ml", 756),
    ("天然醸造 米味噌 1kg", 1404),
    ("無添加 だしパック 30袋", 2160),
    ("手ぬぐい 桜柄", 1100),
    ("竹製 菜箸 2膳組", 660),
    ("檜 まな板 中", 5280),
    ("伊賀焼 土鍋 6号", 6380),
    ("琉球ガラス ロックグラス", 3520),
    ("西陣織 名刺入れ", 4400),
    ("和紙 一筆箋セット", 550),
    ("竹骨 扇子", 2750),
    ("備長炭 消臭セット", 1650),
    ("伊賀焼 ご飯土鍋 3合", 14300),
    ("燕三条 三徳包丁 165mm", 9900),
    ("ステンレス 保温ボトル 500ml", 2980),
    ("オーガニックコットン パジャマ", 8800),
    ("ヒノキ 入浴剤 10包", 1320),
    ("米ぬか 洗顔石鹸", 880),
    ("椿油 ヘアオイル 60ml", 1980),
    ("草木染め ストール", 6600),
    ("藍染め トートバッグ", 4620),
    ("会津塗 汁椀 ペア", 7700),
    ("九谷焼 豆皿 5枚セット", 5500),
    ("羽毛布団 シングル", 29800),
    ("干し芋 3袋", 1500),
    ("お試し 緑茶ティーバッグ 5包", 300),
)

# Each landing page sells one product (SPEC 1: "a single-product landing page").
_LP_PRODUCT_NAMES = {
    1: "国産有機抹茶 100g",
    2: "紀州南高梅 はちみつ梅干し 500g",
    3: "椿油 ヘアオイル 60ml",
}

# Window the abandonments are spread over, and the "not yet due" window the demo must
# populate for a 3-hour delay.
_ABANDON_SPREAD = timedelta(days=4)
_RECENT = timedelta(hours=3)


@dataclass(frozen=True)
class SeedReport:
    """What ``seed_shop`` inserted."""

    customers: int
    orders: int
    abandoned_orders: int
    # Addresses the demo puts on cartnudge's suppression list (opt-outs, hard bounces).
    suppressed_emails: tuple[str, ...]


def create_shop_schema(engine: sqlalchemy.Engine) -> None:
    """Create the reference shop's tables (those that do not exist yet)."""
    metadata.create_all(engine)


def seed_shop(
    engine: sqlalchemy.Engine, *, now: datetime, customers: int = 3000, seed: int = 42
) -> SeedReport:
    """Insert products, ``customers`` customers and their orders into empty shop tables.

    ``now`` is a naive UTC datetime; every stored timestamp is naive UTC and lies before it.
    The same ``now``, ``customers`` and ``seed`` always give the same rows.
    """
    if now.tzinfo is not None:
        raise ValueError(f"now must be a naive UTC datetime, got {now!r}")
    if customers < 0:
        raise ValueError(f"customers must be >= 0, got {customers}")
    # MariaDB's DATETIME keeps whole seconds: without this, rows read back would differ
    # between databases.
    now = now.replace(microsecond=0)
    rng = random.Random(seed)

    product_rows = _make_products(rng)
    customer_rows = _make_customers(rng, now, customers)
    suppressed = _pick_suppressed(rng, customer_rows)
    order_rows, item_rows = _make_orders(rng, now, customer_rows, product_rows)

    with engine.begin() as conn:
        if conn.execute(select(customers_table.c.id).limit(1)).first() is not None:
            raise ValueError("the shop tables already hold customers: seed an empty shop")
        _insert(conn, products_table, product_rows)
        _insert(conn, ad_urls_table, list(_AD_URLS))
        _insert(conn, customers_table, customer_rows)
        _insert(conn, orders_table, order_rows)
        _insert(conn, order_items_table, item_rows)
        _advance_sequences(
            conn,
            [
                (products_table, len(product_rows)),
                (customers_table, len(customer_rows)),
                (orders_table, len(order_rows)),
                (order_items_table, len(item_rows)),
            ],
        )

    return SeedReport(
        customers=len(customer_rows),
        orders=len(order_rows),
        abandoned_orders=sum(1 for o in order_rows if o["state"] == "abandoned"),
        suppressed_emails=suppressed,
    )


# --- generation (pure: rng and now in, rows out) -------------------------------------------


def _make_products(rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for product_id, (name, price) in enumerate(_CATALOGUE, start=1):
        # About one product in ten nearly sold out, for the low-stock reminder (SPEC 2.8).
        stock = rng.randint(0, 5) if rng.random() < 0.1 else rng.randint(20, 500)
        rows.append(
            {
                "id": product_id,
                "name": name,
                "price": price,
                "stock": stock,
                "image_url": f"{SHOP_SITE}/images/products/{product_id}.jpg",
                "page_url": f"{SHOP_SITE}/products/{product_id}",
            }
        )
    return rows


def _make_customers(rng: random.Random, now: datetime, count: int) -> list[dict[str, Any]]:
    rows = []
    used_emails: set[str] = set()
    for customer_id in range(1, count + 1):
        family, family_romaji = rng.choice(_FAMILY_NAMES)
        given, given_romaji = rng.choice(_GIVEN_NAMES)
        rows.append(
            {
                "id": customer_id,
                "status": "member" if rng.random() < 0.6 else "visitor",
                "name": f"{family} {given}",
                "email": _make_email(rng, family_romaji, given_romaji, used_emails),
                # Some without a phone: the input flow needs both phone and e-mail (SPEC 2.6).
                "phone": _make_phone(rng) if rng.random() < 0.92 else None,
                "email_optin": rng.random() >= 0.15,
                "sms_optin": rng.random() < 0.5,
                "push_optin": rng.random() < 0.5,
                # Most app users have a device token; opt-in is asked for separately.
                "push_token": f"demo-device-{customer_id:06d}-{rng.getrandbits(32):08x}"
                if rng.random() < 0.6
                else None,
                # Older than every order, which are at most a week old.
                "created_at": now - timedelta(minutes=rng.randint(8 * 1440, 3 * 365 * 1440)),
            }
        )
    # Exact counts rather than per-row odds, so that even a small shop has some of each.
    missing = min(count, max(1, round(count * 0.01))) if count else 0
    invalid = min(count - missing, max(1, round(count * 0.02))) if count else 0
    for n, row in enumerate(rng.sample(rows, missing + invalid)):
        if n < missing:
            row["email"] = None  # never gave an address
        else:
            row["email"] = _break_email(rng, row["email"])  # typo the shop's form let through
    return rows


def _make_email(rng: random.Random, family: str, given: str, used: set[str]) -> str:
    while True:
        number = str(rng.randint(1, 999)) if rng.random() < 0.8 else ""
        local = rng.choice(
            (
                f"{given}.{family}{number}",
                f"{family}.{given}{number}",
                f"{given[0]}{family}{number}",
            )
        )
        email = f"{local}@{rng.choice(_DOMAINS)}"
        if email not in used:  # unique, so suppression hits exactly one customer
            used.add(email)
            return email


def _break_email(rng: random.Random, email: str) -> str:
    if rng.random() < 0.5:
        return email.replace("@", "", 1)
    local, domain = email.split("@")
    cut = rng.randint(1, len(local) - 1)
    return f"{local[:cut]} {local[cut:]}@{domain}"


def _make_phone(rng: random.Random) -> str:
    prefix = rng.choice(_MOBILE_PREFIXES)
    return f"{prefix}-{rng.randint(0, 9999):04d}-{rng.randint(0, 9999):04d}"


def _is_valid_email(email: str | None) -> bool:
    return email is not None and "@" in email and " " not in email


def _pick_suppressed(rng: random.Random, customer_rows: list[dict[str, Any]]) -> tuple[str, ...]:
    valid = [row["email"] for row in customer_rows if _is_valid_email(row["email"])]
    if not valid:
        return ()
    count = min(len(valid), max(1, round(len(customer_rows) * 0.01)))
    return tuple(sorted(rng.sample(valid, count)))


def _make_orders(
    rng: random.Random,
    now: datetime,
    customer_rows: list[dict[str, Any]],
    product_rows: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    products_by_name = {p["name"]: p for p in product_rows}
    lp_products = {lp: products_by_name[name] for lp, name in _LP_PRODUCT_NAMES.items()}
    orders: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []

    def add(order: dict[str, Any], cart: list[tuple[dict[str, Any], int]]) -> dict[str, Any]:
        order_id = len(orders) + 1
        order["id"] = order_id
        order["total_amount"] = sum(p["price"] * qty for p, qty in cart)
        order["recovery_token"] = None
        orders.append(order)
        for product, qty in cart:
            items.append(
                {
                    "id": len(items) + 1,
                    "order_id": order_id,
                    "product_id": product["id"],
                    "product_name": product["name"],
                    "quantity": qty,
                    "unit_price": product["price"],
                }
            )
        return order

    for customer in customer_rows:
        member = customer["status"] == "member"
        # 0-4 orders, about 1.45 on average.
        count = rng.choices((0, 1, 2, 3, 4), weights=(20, 35, 30, 10, 5))[0]
        for _ in range(count):
            storefront = "lp" if rng.random() < 0.4 else "shop"
            lp_id = rng.randint(1, 3) if storefront == "lp" else None
            cart = _make_cart(rng, product_rows, lp_products[lp_id] if lp_id else None)
            if rng.random() < 0.52:
                step = _abandoned_step(rng, member, storefront)
                order = add(
                    _abandoned_order(rng, now, customer["id"], member, storefront, lp_id, step),
                    cart,
                )
                # The "already purchased" case: bought later, without or after a reminder.
                window = int(min(now - order["abandoned_at"], timedelta(days=2)).total_seconds())
                if rng.random() < 0.2 and window > 660:
                    completed_at = order["abandoned_at"] + timedelta(
                        seconds=rng.randint(600, window - 60)
                    )
                    add(_completed(rng, customer, storefront, lp_id, completed_at), cart)
            else:
                completed_at = now - timedelta(seconds=rng.randint(600, 7 * 86400))
                add(_completed(rng, customer, storefront, lp_id, completed_at), cart)
    return orders, items


def _make_cart(
    rng: random.Random, product_rows: list[dict[str, Any]], lp_product: dict[str, Any] | None
) -> list[tuple[dict[str, Any], int]]:
    def quantity() -> int:
        return rng.choices((1, 2, 3), weights=(70, 20, 10))[0]

    if lp_product is not None:
        # An LP sells its product, sometimes with one upsell item from the catalogue.
        cart = [(lp_product, quantity())]
        if rng.random() < 0.25:
            extra = rng.choice([p for p in product_rows if p["id"] != lp_product["id"]])
            cart.append((extra, 1))
        return cart
    size = rng.choices((1, 2, 3, 4, 5), weights=(40, 25, 17, 10, 8))[0]
    return [(product, quantity()) for product in rng.sample(product_rows, size)]


def _abandoned_step(rng: random.Random, member: bool, storefront: str) -> str:
    # Only cells that count under SPEC 2.1 get failed payments: a visitor's SHOP order is
    # the "never counts" cell and stays a plain cart, so it proves just that.
    if (member or storefront == "lp") and rng.random() < 0.065:
        return "payment_failed"
    if storefront == "lp":
        # Visitors who typed into the LP form and left (SPEC 2.6): about 5% of abandonments.
        if not member and rng.random() < 0.3:
            return "input"
        return "confirm"
    if member:
        return "cart" if rng.random() < 0.75 else "confirm"
    return "cart"


def _abandoned_order(
    rng: random.Random,
    now: datetime,
    customer_id: int,
    member: bool,
    storefront: str,
    lp_id: int | None,
    step: str,
) -> dict[str, Any]:
    # Mostly uniform over four days; extra weight on the last 3 hours so a sweep at `now`
    # with a 3-hour delay always sees carts that are not yet due.
    if rng.random() < 0.06:
        ago = timedelta(seconds=rng.randint(60, int(_RECENT.total_seconds()) - 60))
    else:
        ago = timedelta(seconds=rng.randint(60, int(_ABANDON_SPREAD.total_seconds())))
    abandoned_at = now - ago
    last_activity_at = abandoned_at
    if rng.random() < 0.05 and ago > timedelta(minutes=30):
        # Came back to the cart later without buying (resend episodes, SPEC 2.4).
        last_activity_at += timedelta(seconds=rng.randint(600, int(ago.total_seconds()) - 60))
    fraud_result, fraud_action = _fraud_for_abandoned(rng, step)
    return {
        "customer_id": customer_id,
        "storefront": storefront,
        "lp_id": lp_id,
        "state": "abandoned",
        "abandoned_step": step,
        "logged_in": member,
        "created_at": abandoned_at - timedelta(seconds=rng.randint(60, 3600)),
        "abandoned_at": abandoned_at,
        "last_activity_at": last_activity_at,
        "completed_at": None,
        "fraud_result": fraud_result,
        "fraud_action": fraud_action,
        # LP shoppers arrive through ad URLs; only some have input abandonment on (SPEC 2.6).
        "ad_url_id": rng.choice((1, 2, 3, None)) if storefront == "lp" else None,
    }


def _completed(
    rng: random.Random,
    customer: dict[str, Any],
    storefront: str,
    lp_id: int | None,
    completed_at: datetime,
) -> dict[str, Any]:
    fraud_result = rng.choices(("OK", None, "REVIEW", "HOLD"), weights=(92, 5, 2, 1))[0]
    return {
        "customer_id": customer["id"],
        "storefront": storefront,
        "lp_id": lp_id,
        "state": "completed",
        "abandoned_step": None,
        "logged_in": customer["status"] == "member",
        "created_at": completed_at - timedelta(seconds=rng.randint(120, 2700)),
        "abandoned_at": None,
        "last_activity_at": completed_at,
        "completed_at": completed_at,
        "fraud_result": fraud_result,
        "fraud_action": None,
        "ad_url_id": None,
    }


def _fraud_for_abandoned(rng: random.Random, step: str) -> tuple[str | None, str | None]:
    # Screening runs when the order is submitted for confirmation: carts and half-typed LP
    # forms were never screened.
    if step in ("cart", "input"):
        return None, None
    result = rng.choices(("OK", None, "HOLD", "REVIEW", "NG"), weights=(80, 8, 4, 4, 4))[0]
    action = "redirect" if rng.random() < 0.04 else None
    return result, action


# --- writing ------------------------------------------------------------------------------


def _insert(conn: sqlalchemy.Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    for chunk in _chunks(rows, _BATCH):
        conn.execute(table.insert(), chunk)


def _chunks(rows: Sequence[dict[str, Any]], size: int) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield list(rows[start : start + size])


def _advance_sequences(conn: sqlalchemy.Connection, tables: list[tuple[Table, int]]) -> None:
    # Explicit ids leave PostgreSQL's serial sequences at 1, so the next insert without an id
    # (a test adding an order) would collide. SQLite and MariaDB follow the max id themselves.
    if conn.dialect.name != "postgresql":
        return
    for table, max_id in tables:
        if max_id > 0:
            conn.execute(
                text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :max_id)"),
                {"table": table.name, "max_id": max_id},
            )
