"""``cartnudge check`` reads each contract query's plan (issue 14, point 7): the pure readers of
SQLite, PostgreSQL and MariaDB plans over real captured plans (tests/plans/*.json: the reference
shop with its indexes and without them), and ``check`` on a shop of each database that lacks
the sweep's index (a ``warn`` line, exit 0) and one that has it (no ``warn`` line)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from cartnudge.bundled import bundled_path
from cartnudge.cli import main
from cartnudge.shop import plans
from cartnudge.shop.contract import ShopContract
from cartnudge.shop.plans import Scan
from tests.conftest import write_config
from tests.shop import ShopBuilder

PLANS = Path(__file__).parent / "plans"
FILES = {
    "sweep page": "abandoned",
    "strays page": "abandoned",
    "one order": "abandoned",
    "orders of a search page": "abandoned",
    "report period page": "abandoned",
    "completed_orders page": "completed_orders",
    "search page": "search_customers",
    "order_items": "order_items",
    "purchases_since": "purchases_since",
    "product_status": "product_status",
}
ORDERS = [Scan("orders", True)]
# What each database's plans of the reference shop WITHOUT its indexes on orders read whole.
# (With them: nothing, for every query on every database.)
WITHOUT = {
    "sqlite": {
        "sweep page": ORDERS,
        "strays page": ORDERS,
        "orders of a search page": ORDERS,
        "report period page": ORDERS,
        "completed_orders page": ORDERS,
        "purchases_since": ORDERS,
    },
    # MariaDB keeps the index its foreign key on customer_id needs, so the search page and the
    # purchases still seek.
    "mysql": {
        "sweep page": ORDERS,
        "strays page": ORDERS,
        "report period page": ORDERS,
        "completed_orders page": ORDERS,
    },
    "postgresql": {
        "sweep page": ORDERS,
        "strays page": ORDERS,
        # the purchased_at subquery, correlated on customer_id: a later table of the plan
        "one order": [Scan("orders", False)],
        "orders of a search page": ORDERS,
        "report period page": ORDERS,
        "completed_orders page": ORDERS,
        # LOWER(c.email) IN :emails, OR-ed with the customer ids: no index serves it
        "purchases_since": [Scan("orders", True), Scan("customers", False)],
    },
}


def scans(database: str, label: str, plan: object) -> list[Scan]:
    aliases = plans.aliases_of(ShopContract(bundled_path("sql")).bodies[FILES[label]])
    if database == "sqlite":
        return plans.sqlite_scans(plan, aliases)  # type: ignore[arg-type]
    if database == "mysql":
        return plans.mariadb_scans(plan, aliases)  # type: ignore[arg-type]
    return plans.postgres_scans(plan)


CASES = [
    (database, indexes, label)
    for database in ("sqlite", "mysql", "postgresql")
    for indexes in ("with_indexes", "without_indexes")
    for label in FILES
]


@pytest.mark.parametrize(("database", "indexes", "label"), CASES)
def test_a_captured_plan_reads_whole_tables_only_where_the_index_is_missing(
    database: str, indexes: str, label: str
) -> None:
    plan = json.loads((PLANS / f"{database}.json").read_text(encoding="utf-8"))[indexes][label]
    expected = WITHOUT[database].get(label, []) if indexes == "without_indexes" else []
    assert scans(database, label, plan) == expected


def test_aliases_name_the_tables_of_from_and_join_and_not_subqueries_or_keywords() -> None:
    sql = (
        "SELECT * FROM (SELECT 1 FROM dtb_order o LEFT JOIN dtb_cart c ON c.id = o.id) a "
        "JOIN customer_entity AS ce ON ce.entity_id = a.x JOIN quote WHERE 1 = 1 "
        "AND EXISTS (SELECT 1 FROM sales.sales_order so)"
    )
    assert plans.aliases_of(sql) == {
        "dtb_order": "dtb_order",
        "o": "dtb_order",
        "dtb_cart": "dtb_cart",
        "c": "dtb_cart",
        "customer_entity": "customer_entity",
        "ce": "customer_entity",
        "quote": "quote",
        "sales_order": "sales.sales_order",
        "so": "sales.sales_order",
    }


@pytest.mark.parametrize(
    ("details", "expected"),
    [
        (["SCAN o"], ORDERS),  # SQLite 3.36+
        (["SCAN TABLE orders AS o"], ORDERS),  # before 3.36
        (["SCAN o USING INDEX ix_orders_customer"], ORDERS),  # the whole index, every row
        (["SCAN o USING COVERING INDEX ix_orders_customer"], ORDERS),
        (["SEARCH o USING INDEX ix_orders_state_activity (state=? AND last_activity_at>?)"], []),
        (["CO-ROUTINE w", "SCAN w", "SEARCH o USING INTEGER PRIMARY KEY (rowid=?)"], []),
        (["SEARCH o USING INTEGER PRIMARY KEY (rowid=?)", "SCAN c"], [Scan("customers", False)]),
        (["SCAN CONSTANT ROW"], []),
    ],
)
def test_sqlite_scan_lines_of_the_query_tables_are_whole_table_reads(
    details: list[str], expected: list[Scan]
) -> None:
    assert plans.sqlite_scans(details, {"o": "orders", "c": "customers"}) == expected


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"table": "o", "type": "ALL", "possible_keys": None}, ORDERS),
        ({"table": "o", "type": "index", "possible_keys": None}, ORDERS),
        # an index was usable; the optimizer scanned a small table: not reported
        ({"table": "o", "type": "ALL", "possible_keys": "ix_orders_state_activity"}, []),
        ({"table": "o", "type": "range", "possible_keys": "PRIMARY"}, []),
        ({"table": "<derived2>", "type": "ALL", "possible_keys": None}, []),
        ({"table": None, "type": None, "possible_keys": None}, []),  # Impossible WHERE
    ],
)
def test_mariadb_whole_reads_are_all_or_index_with_no_possible_key(
    row: dict, expected: list[Scan]
) -> None:
    assert plans.mariadb_scans([row], {"o": "orders"}) == expected


def test_postgres_reports_seq_scans_and_index_scans_without_a_condition_outer_side_first() -> None:
    plan = [
        {
            "Plan": {
                "Node Type": "Nested Loop",
                "Plans": [
                    {"Node Type": "Index Scan", "Relation Name": "orders", "Index Name": "pk"},
                    {"Node Type": "Seq Scan", "Relation Name": "customers"},
                    {
                        "Node Type": "Index Scan",
                        "Relation Name": "ad_urls",
                        "Index Cond": "(id = o.ad_url_id)",
                    },
                ],
            }
        }
    ]
    assert plans.postgres_scans(plan) == [Scan("orders", True), Scan("customers", False)]
    assert plans.postgres_scans(json.dumps(plan)) == plans.postgres_scans(plan)


def test_a_warning_names_the_file_the_query_the_table_and_the_index() -> None:
    assert plans.warning("abandoned.sql", "sweep page", Scan("orders", True)) == (
        "abandoned.sql (sweep page): scans the whole table orders; an index on (the abandoned "
        "condition's column, last_activity_at, order_id) lets each page seek (the reference "
        "shop: orders (state, last_activity_at, id))"
    )
    assert plans.warning("abandoned.sql", "sweep page", Scan("customers", False)).endswith(
        "scans the whole table customers; " + plans.JOINED
    )


# -- check on a real shop of each database -------------------------------------------------------


def drop_orders_indexes(shop: ShopBuilder) -> None:
    """The reference shop without its indexes on orders (MariaDB keeps the one its foreign key
    on customer_id needs)."""
    names = ["ix_orders_state_activity", "ix_orders_state_abandoned", "ix_orders_state_completed"]
    with shop.engine.begin() as conn:
        mysql = conn.dialect.name == "mysql"
        if not mysql:
            names.append("ix_orders_customer_state_completed")
        for name in names:
            conn.execute(text(f"DROP INDEX {name} ON orders" if mysql else f"DROP INDEX {name}"))


def warns(config: Path) -> list[str]:
    result = CliRunner().invoke(main, ["check", "--config", str(config), "--offline"])
    assert result.exit_code == 0, result.output
    return [line for line in result.stdout.splitlines() if line.startswith("warn ")]


def test_check_warns_about_the_sweep_page_reading_orders_whole_only_without_its_index(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    config = write_config(tmp_path, config_data)
    shop.abandoned(datetime(2026, 11, 20, 10))
    assert warns(config) == []

    drop_orders_indexes(shop)
    lines = warns(config)
    assert (
        "warn abandoned.sql (sweep page): scans the whole table orders; an index on (the "
        "abandoned condition's column, last_activity_at, order_id) lets each page seek (the "
        "reference shop: orders (state, last_activity_at, id))"
    ) in lines
    assert any(
        line.startswith("warn completed_orders.sql (completed_orders page)") for line in lines
    )
