"""The real shop schemas of contrib/shops/ load from their published DDL into real servers, and
their seeds hold the cases each README describes, by each shop's own definitions.

EC-CUBE 4 runs on PostgreSQL (CARTNUDGE_TEST_POSTGRES_URL), Magento 2 on MariaDB
(CARTNUDGE_TEST_MYSQL_URL); without the URL a test is skipped (failed under
CARTNUDGE_REQUIRE_REAL_DBS=1), as in conftest.py. Only the shop's own tables are dropped and
created; they are dropped again afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Connection, Engine, text

from cartnudge.engines import build_engine
from cartnudge.shop.contract import ShopContract
from cartnudge.shop.reader import ShopReader
from tests.conftest import backend_url
from tests.real_shops import (
    REFERENCE_NOW,
    SHOPS,
    drop_shop,
    load_shop,
    shop_tables,
    split_statements,
)

TWO_POW_31 = 2**31


def rows(conn: Connection, sql: str) -> list[tuple]:
    return [tuple(r) for r in conn.execute(text(sql))]


def ids(conn: Connection, sql: str) -> set[int]:
    return {r[0] for r in conn.execute(text(sql))}


@pytest.fixture
def eccube(tmp_path: Path) -> Iterator[Connection]:
    engine = build_engine(backend_url("postgres", tmp_path))
    try:
        load_shop(engine, "eccube4")
        with engine.connect() as conn:
            yield conn
        drop_shop(engine, "eccube4")
    finally:
        engine.dispose()


def session_zone(engine: Engine) -> tzinfo:
    """The zone the shop's connections read and write naive times in (NOTES.md of both shops:
    shop.timestamps_timezone must be it): PostgreSQL's TimeZone, MariaDB's time_zone offset."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            return ZoneInfo(conn.execute(text("SHOW TimeZone")).scalar())
        offset = conn.execute(text("SELECT TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), NOW())")).scalar()
        return timezone(timedelta(seconds=round(offset / 60) * 60))


def draft_candidates(conn: Connection, name: str) -> dict[str, str]:
    """Run the shop's draft contract (contrib/shops/<name>/sql) through cartnudge's own reader at
    the reference time: check() finds no problem; return {order_id: abandoned_step} of the
    abandoned orders active in the last 24 hours and abandoned at least an hour ago."""
    contract = ShopContract(SHOPS[name].folder / "sql")
    reader = ShopReader(conn.engine, contract, session_zone(conn.engine))  # type: ignore[arg-type]
    now = REFERENCE_NOW.astimezone(UTC).replace(tzinfo=None)
    assert reader.check(now) == []
    pages = reader.abandoned_orders(
        due_before=now - timedelta(hours=1), active_since=now - timedelta(days=1), chunk_size=4
    )
    return {
        row.candidate.order_id: row.candidate.abandoned_step.value for page in pages for row in page
    }


@pytest.fixture
def magento(tmp_path: Path) -> Iterator[Connection]:
    engine = build_engine(backend_url("mysql", tmp_path))
    try:
        load_shop(engine, "magento2")
        with engine.connect() as conn:
            conn.execute(text("SET time_zone = '+00:00'"))  # Magento's timestamps are UTC
            yield conn
        drop_shop(engine, "magento2")
    finally:
        engine.dispose()


class TestStatementSplitting:
    def test_semicolons_in_strings_and_comments_do_not_split(self):
        script = "-- a; comment\nINSERT INTO t VALUES ('a;b', 'it''s');\n/* x; */ SELECT 1;"
        assert split_statements(script) == ["INSERT INTO t VALUES ('a;b', 'it''s')", "SELECT 1"]

    def test_mysql_backslash_escapes_stay_inside_the_string(self):
        assert split_statements(r"SELECT 'a\';b'; SELECT 2") == [r"SELECT 'a\';b'", "SELECT 2"]

    def test_an_unterminated_string_is_refused(self):
        with pytest.raises(ValueError, match="unterminated"):
            split_statements("SELECT 'abc")

    def test_the_schema_files_name_their_tables(self):
        assert "dtb_order" in shop_tables("eccube4")
        assert shop_tables("magento2")[:3] == ["store_website", "store_group", "store"]


@pytest.mark.postgres
class TestEccube4OnPostgres:
    def test_every_table_has_its_seed_rows(self, eccube: Connection):
        counts = {
            "mtb_order_status": 8,
            "mtb_customer_status": 3,
            "mtb_pref": 47,
            "dtb_product": 8,
            "dtb_product_class": 8,
            "dtb_customer": 12,
            "dtb_order": 18,
            "dtb_shipping": 18,
            "dtb_order_item": 44,
            "dtb_cart": 15,
            "dtb_cart_item": 18,
        }
        for table, expected in counts.items():
            assert eccube.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar() == expected, table

    def test_the_abandoned_orders_are_those_purchase_in_progress(self, eccube: Connection):
        # EC-CUBE's own definition: order status 8 購入処理中 (OrderStatus::PROCESSING).
        assert rows(eccube, "SELECT name FROM mtb_order_status WHERE id = 8") == [("購入処理中",)]
        abandoned = ids(eccube, "SELECT id FROM dtb_order WHERE order_status_id = 8")
        assert abandoned == {4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 18}
        # every one of them but the emptied-and-replaced cart of order 5 still has its cart
        with_cart = ids(
            eccube,
            "SELECT o.id FROM dtb_order o JOIN dtb_cart c ON c.pre_order_id = o.pre_order_id "
            "WHERE o.order_status_id = 8",
        )
        assert abandoned - with_cart == {5}

    def test_a_cart_that_never_reached_the_purchase_screen_has_no_order(self, eccube: Connection):
        assert rows(
            eccube,
            "SELECT customer_id FROM dtb_cart WHERE pre_order_id IS NULL ORDER BY customer_id",
        ) == [(1,), (8,), (None,)]

    def test_completed_orders_keep_their_pre_order_id_and_lose_their_cart(self, eccube: Connection):
        completed = rows(
            eccube,
            "SELECT o.id, o.order_status_id, c.id FROM dtb_order o "
            "LEFT JOIN dtb_cart c ON c.pre_order_id = o.pre_order_id "
            "WHERE o.order_date IS NOT NULL ORDER BY o.id",
        )
        assert completed == [(1, 5, None), (2, 5, None), (3, 3, None), (9, 6, None), (17, 1, None)]
        # 山本 (7) bought at 19:40 JST, after abandoning order 5 the evening before
        bought = eccube.execute(
            text(
                "SELECT MAX(order_date) FROM dtb_order"
                " WHERE customer_id = 7 AND order_status_id = 1"
            )
        ).scalar()
        assert bought == datetime(2026, 11, 20, 10, 40, tzinfo=UTC)
        assert bought < REFERENCE_NOW

    def test_times_are_instants_and_amounts_decimals(self, eccube: Connection):
        update_date, total = eccube.execute(
            text("SELECT update_date, total FROM dtb_order WHERE id = 13")
        ).one()
        assert update_date == datetime(2026, 11, 20, 6, 0, tzinfo=UTC)  # 15:00 JST
        assert total == Decimal("10289.00")
        assert rows(
            eccube,
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_name = 'dtb_cart' AND column_name = 'update_date'",
        ) == [("timestamp with time zone",)]

    def test_one_cart_is_worth_more_than_2_pow_31_yen(self, eccube: Connection):
        cart_total, order_total = eccube.execute(
            text(
                "SELECT c.total_price, o.total FROM dtb_order o "
                "JOIN dtb_cart c ON c.pre_order_id = o.pre_order_id WHERE o.id = 11"
            )
        ).one()
        assert cart_total == order_total == Decimal("2419758000.00")
        assert order_total > TWO_POW_31

    def test_consent_is_the_mail_magazine_plugin_flag(self, eccube: Connection):
        flags = dict(rows(eccube, "SELECT id, plg_mailmagazine_flg FROM dtb_customer"))
        assert flags[2] == 0 and flags[3] is None and flags[12] == 1

    def test_a_withdrawn_member_keeps_her_real_address_on_the_order(self, eccube: Connection):
        status, customer_email, order_email = eccube.execute(
            text(
                "SELECT c.customer_status_id, c.email, o.email FROM dtb_customer c "
                "JOIN dtb_order o ON o.customer_id = c.id WHERE o.id = 6"
            )
        ).one()
        assert status == 3 and customer_email.endswith("@dummy.dummy")
        assert order_email == "sakura.ito@example.jp"

    def test_a_member_and_a_guest_share_an_address_but_for_its_case(self, eccube: Connection):
        assert rows(
            eccube,
            "SELECT id, customer_id, email FROM dtb_order "
            "WHERE lower(email) = 'daisuke.watanabe@example.jp' ORDER BY id",
        ) == [(10, None, "daisuke.watanabe@example.jp"), (14, 6, "Daisuke.Watanabe@Example.jp")]
        # PostgreSQL compares text exactly
        assert ids(
            eccube, "SELECT id FROM dtb_order WHERE email = 'daisuke.watanabe@example.jp'"
        ) == {10}

    def test_the_draft_contract_reads_orders_and_order_less_carts(self, eccube: Connection):
        # status-8 orders are 'confirm'; carts without an order get 1000000000 + cart id
        assert draft_candidates(eccube, "eccube4") == {
            "6": "confirm",
            "7": "confirm",
            "8": "confirm",
            "10": "confirm",
            "11": "confirm",
            "12": "confirm",
            "13": "confirm",
            "14": "confirm",
            "15": "confirm",
            "1000000008": "cart",
            "1000000011": "cart",
            "1000000013": "cart",
        }

    def test_a_guest_stuck_at_the_payment_page_is_not_purchase_in_progress(
        self, eccube: Connection
    ):
        assert rows(
            eccube,
            "SELECT o.order_status_id, o.customer_id, c.id IS NOT NULL FROM dtb_order o "
            "LEFT JOIN dtb_cart c ON c.pre_order_id = o.pre_order_id WHERE o.id = 16",
        ) == [(7, None, True)]


@pytest.mark.mysql
class TestMagento2OnMariadb:
    def test_every_table_has_its_seed_rows(self, magento: Connection):
        counts = {
            "store_website": 2,
            "store": 2,
            "customer_entity": 12,
            "newsletter_subscriber": 12,
            "quote": 19,
            "quote_item": 24,
            "quote_address": 34,
            "sales_order": 7,
            "sales_order_item": 8,
        }
        for table, expected in counts.items():
            assert magento.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar() == expected, (
                table
            )

    def test_the_abandoned_carts_are_active_quotes_with_an_email_and_no_order(
        self, magento: Connection
    ):
        abandoned = ids(
            magento,
            "SELECT q.entity_id FROM quote q WHERE q.is_active = 1 AND q.items_count > 0 "
            "AND q.customer_email IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM sales_order o WHERE o.quote_id = q.entity_id)",
        )
        assert abandoned == {1, 2, 3, 4, 7, 8, 9, 10, 11, 14, 15, 16, 18}

    def test_a_restored_quote_is_active_and_named_by_a_cancelled_order(self, magento: Connection):
        assert rows(
            magento,
            "SELECT q.is_active, q.reserved_order_id, o.increment_id, o.state FROM quote q "
            "JOIN sales_order o ON o.quote_id = q.entity_id WHERE q.entity_id = 12",
        ) == [(1, "000000105", "000000105", "canceled")]

    def test_converted_quotes_are_inactive_and_named_by_their_order(self, magento: Connection):
        assert rows(
            magento,
            "SELECT q.entity_id, q.is_active, o.customer_id, o.customer_is_guest FROM quote q "
            "JOIN sales_order o ON o.quote_id = q.entity_id WHERE o.state <> 'canceled' "
            "ORDER BY q.entity_id",
        ) == [(13, 0, 10, 0), (17, 0, None, 1)]

    def test_guests_without_an_email_on_the_quote(self, magento: Connection):
        assert rows(
            magento,
            "SELECT q.entity_id, MIN(a.email) FROM quote q "
            "LEFT JOIN quote_address a ON a.quote_id = q.entity_id "
            "WHERE q.customer_is_guest = 1 AND q.customer_email IS NULL "
            "GROUP BY q.entity_id ORDER BY q.entity_id",
        ) == [(5, "nanami.fukuda@example.net"), (6, None), (19, None)]

    def test_a_deleted_customer_leaves_the_quote_pointing_nowhere(self, magento: Connection):
        assert rows(
            magento,
            "SELECT q.customer_id, q.customer_is_guest, c.entity_id FROM quote q "
            "LEFT JOIN customer_entity c ON c.entity_id = q.customer_id WHERE q.entity_id = 9",
        ) == [(13, 0, None)]

    def test_times_are_utc_and_amounts_decimals_with_fractions(self, magento: Connection):
        updated_at, grand_total = magento.execute(
            text("SELECT updated_at, grand_total FROM quote WHERE entity_id = 11")
        ).one()
        assert updated_at == datetime(2026, 11, 20, 4, 30)  # naive, UTC: 13:30 JST
        assert grand_total == Decimal("6488.5200")
        price = magento.execute(
            text("SELECT price FROM quote_item WHERE sku = 'HOJICHA-TB-20' AND quote_id = 8")
        ).scalar()
        assert price == Decimal("907.4074")

    def test_one_quote_is_worth_more_than_2_pow_31_yen(self, magento: Connection):
        total = magento.execute(text("SELECT grand_total FROM quote WHERE entity_id = 10")).scalar()
        assert total == Decimal("2480000770.0000")
        assert total > TWO_POW_31

    def test_consent_is_a_newsletter_subscription_by_customer_or_by_address(
        self, magento: Connection
    ):
        statuses = dict(
            rows(
                magento,
                "SELECT q.entity_id, s.subscriber_status FROM quote q "
                "LEFT JOIN newsletter_subscriber s ON (q.customer_id IS NOT NULL "
                "AND s.customer_id = q.customer_id) OR (q.customer_id IS NULL "
                "AND s.customer_id = 0 AND s.subscriber_email = q.customer_email) "
                "WHERE q.entity_id IN (1, 2, 3, 4, 18)",
            )
        )
        assert statuses == {1: 1, 2: 3, 3: None, 4: 1, 18: 4}

    def test_the_draft_contract_reads_quotes_and_restored_quotes(self, magento: Connection):
        steps = draft_candidates(magento, "magento2")
        assert set(steps) == {
            "1",
            "2",
            "3",
            "4",
            "5",
            "6",
            "7",
            "8",
            "9",
            "10",
            "11",
            "12",
            "16",
            "18",
        }
        assert steps["12"] == "payment_failed" and steps["6"] == "cart"

    def test_the_collation_matches_addresses_whatever_their_case(self, magento: Connection):
        assert ids(
            magento, "SELECT entity_id FROM quote WHERE customer_email = 'haruka.mori@example.jp'"
        ) == {7, 8}
