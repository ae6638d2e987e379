"""One shop that satisfies the contract in sql/: used by the demo, the tests and the benchmark.

A real shop keeps its own schema and adapts the SQL files instead. Timestamps are naive, in the
time zone named by ``shop.timestamps_timezone`` (UTC for this reference shop).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)

metadata = MetaData()

customers = Table(
    "customers",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("status", String(16), nullable=False),  # 'member' | 'visitor'
    Column("name", String(100), nullable=False),
    Column("email", String(254)),
    Column("phone", String(32)),
    Column("email_optin", Boolean, nullable=False, default=False),
    Column("sms_optin", Boolean, nullable=False, default=False),
    Column("push_optin", Boolean, nullable=False, default=False),
    Column("push_token", String(255)),  # the device's FCM / push service token, if any
    Column("line_user_id", String(64)),  # the LINE user id for the shop's official account
    Column("line_optin", Boolean, nullable=False, default=False),
    Column("created_at", DateTime, nullable=False),
)

products = Table(
    "products",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("price", Integer, nullable=False),  # yen, tax included
    Column("stock", Integer, nullable=False),
    Column("category", String(100)),  # for segments (include/exclude_categories)
    Column("image_url", String(500)),  # the product's picture, shown in the HTML e-mail
    Column("page_url", String(500)),  # the product's page, linked from the e-mail
)

# Ad URLs: the input flow (SPEC 2.6) only reminds shoppers who came through one whose
# "input abandonment" setting is on.
ad_urls = Table(
    "ad_urls",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("input_abandonment", Boolean, nullable=False, default=False),
)

orders = Table(
    "orders",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("customer_id", ForeignKey("customers.id")),
    Column("storefront", String(8), nullable=False),  # 'lp' | 'shop'
    Column("lp_id", Integer),  # the landing page, for LP orders
    Column("ad_url_id", ForeignKey("ad_urls.id")),  # the ad URL the shopper arrived through
    Column("state", String(16), nullable=False),  # 'abandoned' | 'completed' | 'cancelled'
    # furthest step reached before leaving: 'cart' | 'confirm' | 'payment_failed' | 'input'
    Column("abandoned_step", String(16)),
    Column("logged_in", Boolean, nullable=False, default=False),
    Column("created_at", DateTime, nullable=False),
    Column("abandoned_at", DateTime),
    Column("last_activity_at", DateTime),
    Column("completed_at", DateTime),
    Column("total_amount", Integer, nullable=False),  # yen
    Column("fraud_result", String(16)),  # e.g. O-PLUX: OK | HOLD | REVIEW | NG
    Column("fraud_action", String(32)),  # e.g. 'redirect' (redirect to URL)
    Column("recovery_token", String(600)),  # token the shopper came back with, if any
    Column("coupon_code", String(64)),  # the coupon code a completed order used, if any
    # The sweep reads abandoned orders by last activity, in keyset pages (sql/abandoned.sql).
    Index("ix_orders_state_activity", "state", "last_activity_at", "id"),
    # Incremental sweeps read the carts abandoned in a time range (newly due for a step).
    Index("ix_orders_state_abandoned", "state", "abandoned_at", "id"),
    Index("ix_orders_customer_state_completed", "customer_id", "state", "completed_at"),
    Index("ix_orders_state_completed", "state", "completed_at"),
)

order_items = Table(
    "order_items",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("order_id", ForeignKey("orders.id"), nullable=False, index=True),
    Column("product_id", ForeignKey("products.id"), nullable=False),
    Column("product_name", String(200), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", Integer, nullable=False),  # yen
)
