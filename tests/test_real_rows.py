"""Real shops' schemas and rows (issue 9): one definition of abandoned, ids as text, money as
DECIMAL, zoned times, optional columns, guests, persons, attribution by cart, and no row that
stops a sweep, on each backend.

The shop here is deliberately unlike the reference shop: text ids, NUMERIC money, consent as
text, times WITH time zone on PostgreSQL, no storefront, step, status or activity columns, and
the cart id recorded on the completed order instead of a token.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from cartnudge.app import App
from cartnudge.channels.memory import MemoryChannel
from cartnudge.config import BUNDLED_TEMPLATES_DIR, load_config
from cartnudge.engines import build_engine
from cartnudge.operator.report import Period, collect
from cartnudge.state.store import migrate
from cartnudge.sweep import Sweep
from tests.conftest import base_config, write_config

NOW = datetime(2026, 11, 22, 12, 0)  # naive UTC; 21:00 in Tokyo
H = timedelta(hours=1)
TABLES = ("odd_items", "odd_orders", "odd_carts", "odd_customers")

SQL = {
    "abandoned.sql": """
-- a shop without storefront, step, status or activity columns: their defaults apply
SELECT c.id AS order_id, c.customer_id AS customer_id, c.email AS email,
       c.consent AS email_consent, c.amount AS total_amount, c.abandoned_at AS abandoned_at,
       c.name AS customer_name
FROM odd_carts c
""",
    "order_items.sql": """
SELECT i.cart_id AS order_id, i.name AS product_id, i.name AS product_name,
       i.qty AS quantity, i.price AS unit_price
FROM odd_items i WHERE i.cart_id IN :order_ids
""",
    "purchases_since.sql": """
SELECT o.customer_id AS customer_id, LOWER(o.email) AS email,
       MAX(o.completed_at) AS purchased_at
FROM odd_orders o
WHERE o.customer_id IN :customer_ids OR LOWER(o.email) IN :emails
GROUP BY o.customer_id, LOWER(o.email)
""",
    "completed_orders.sql": """
SELECT o.id AS order_id, o.customer_id AS customer_id, o.completed_at AS completed_at,
       o.amount AS total_amount, o.cart_id AS abandoned_order_id, o.email AS email
FROM odd_orders o
WHERE o.completed_at >= :completed_from AND o.completed_at < :completed_to
""",
    "search_customers.sql": """
SELECT k.id AS customer_id, k.name AS customer_name, k.email AS email
FROM odd_customers k
""",
}


def _ddl(dialect: str) -> list[str]:
    if dialect == "sqlite":  # no declared types: every value is kept as given
        t = n = s = ""
    elif dialect == "postgresql":
        t, n, s = "TIMESTAMPTZ", "NUMERIC(30,6)", "VARCHAR(300)"
    else:
        t, n, s = "DATETIME", "DECIMAL(30,6)", "VARCHAR(300)"
    key = "VARCHAR(40)" if dialect != "sqlite" else ""
    return [
        f"CREATE TABLE odd_customers (id {key} PRIMARY KEY, name {s}, email {s})",
        f"CREATE TABLE odd_carts (id {key} PRIMARY KEY, customer_id {key}, email {s}, "
        f"consent {s}, amount {n}, abandoned_at {t}, name {s})",
        f"CREATE TABLE odd_items (cart_id {key}, name {s}, qty INTEGER, price {n})",
        f"CREATE TABLE odd_orders (id {key} PRIMARY KEY, customer_id {key}, email {s}, "
        f"completed_at {t}, amount {n}, cart_id {key})",
    ]


class OddShop:
    def __init__(self, url: str, tmp_path: Path) -> None:
        self.url = url
        self.engine = build_engine(url)
        self.dialect = self.engine.dialect.name
        with self.engine.begin() as conn:
            for table in TABLES:
                conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
            for ddl in _ddl(self.dialect):
                conn.execute(text(ddl))
        state = build_engine(url, writer=True)
        migrate(state)
        state.dispose()
        self.sql_dir = tmp_path / "sql"
        self.sql_dir.mkdir(exist_ok=True)
        for name, body in SQL.items():
            (self.sql_dir / name).write_text(body, encoding="utf-8")
        self.tmp_path = tmp_path

    def local(self, utc: datetime) -> object:
        """A time as this shop stores it: aware on PostgreSQL (timestamptz), else naive
        Tokyo time."""
        tokyo = utc + 9 * H
        if self.dialect == "postgresql":
            return utc.replace(tzinfo=__import__("datetime").UTC)
        return tokyo

    def _prep(self, row: dict) -> dict:
        """On SQLite, money as text of a number and times as ISO text (as such shops keep
        them); other databases take the Python values."""
        if self.dialect != "sqlite":
            return row
        return {
            k: str(v)
            if isinstance(v, Decimal)
            else v.isoformat(" ")
            if isinstance(v, datetime)
            else v
            for k, v in row.items()
        }

    def cart(self, cid: str, **values: object) -> None:
        row = dict(
            id=cid,
            customer_id=None,
            email=f"{cid.lower()}@example.jp",
            consent="t",
            amount=Decimal("5660.000000"),
            abandoned_at=self.local(NOW - 4 * H),
            name="佐藤 花子",
        )
        row.update(values)
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO odd_carts (id, customer_id, email, consent, amount, "
                    "abandoned_at, name) VALUES (:id, :customer_id, :email, :consent, :amount, "
                    ":abandoned_at, :name)"
                ),
                self._prep(row),
            )
            conn.execute(
                text("INSERT INTO odd_items VALUES (:c, '抹茶', 2, :p)"),
                self._prep({"c": cid, "p": Decimal("2830.000000")}),
            )

    def order(self, oid: str, at: datetime, **values: object) -> None:
        row = dict(id=oid, customer_id=None, email=None, amount=Decimal("5660.5"), cart_id=None)
        row.update(values)
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO odd_orders VALUES (:id, :customer_id, :email, :completed_at, "
                    ":amount, :cart_id)"
                ),
                self._prep(dict(row, completed_at=self.local(at))),
            )

    def delete_cart(self, cid: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(text("DELETE FROM odd_carts WHERE id = :i"), {"i": cid})

    def app(
        self, consent_required: bool = True, templates_dir: str | None = None, **flow: object
    ) -> App:
        data = base_config(self.url, self.tmp_path)
        if templates_dir is not None:
            data["templates_dir"] = templates_dir
        data["shop"].update(sql_dir=str(self.sql_dir), timestamps_timezone="Asia/Tokyo")
        data["consent"] = {"required": consent_required}
        data["flows"]["confirm"].update(flow)
        return App(load_config(write_config(self.tmp_path, data)))

    def statuses(self) -> list[str]:
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(text("SELECT status FROM cartnudge_deliveries"))]

    def dispose(self) -> None:
        with self.engine.begin() as conn:
            for table in TABLES:
                conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        self.engine.dispose()


@pytest.fixture
def odd(db_url: str, tmp_path: Path):
    shop = OddShop(db_url, tmp_path)
    yield shop
    shop.dispose()


def run(
    app: App,
    now: datetime,
    channel: MemoryChannel | None = None,
    dry_run: bool = False,
    full: bool = False,
):
    channel = channel or MemoryChannel()
    return Sweep(app, channel, now=now, dry_run=dry_run, full=full).run(), channel


GUESTS = {
    "abandoned_cells": [
        "member/shop/cart",
        "visitor/shop/cart",
    ]
}


def test_text_ids_decimal_money_and_zoned_times_remind_once_and_count_the_recovery_by_cart(
    odd: OddShop,
) -> None:
    odd.cart("EC-0001", customer_id="C-1")  # 4h ago: due after 3h
    odd.cart("EC-0002", customer_id="C-2", abandoned_at=odd.local(NOW - 2 * H))  # not yet
    app = odd.app()
    first, channel = run(app, NOW)
    assert (first.sent, first.candidates, first.exit_code) == (1, 1, 0)  # EC-0002 not yet due
    assert channel.sent[0].recipient == "ec-0001@example.jp"
    # The shopper comes back and buys: the shop records the cart the order came from.
    odd.order("O-9", NOW + H, customer_id="C-1", cart_id="EC-0001")
    odd.delete_cart("EC-0001")
    second, _ = run(app, NOW + 2 * H, channel)
    assert (second.recovered, second.recovered_amount) == (1, 5661)  # 5660.5 rounds half up
    # The bought cart stays in the report's base: 2 abandoned, 1 reminded, 1 recovered.
    report = collect(
        app, Period(NOW.date() - timedelta(days=1), NOW.date() + timedelta(days=1), app.config.tz)
    )
    confirm = next(f for f in report.flows if f.flow == "confirm")
    assert (confirm.totals.abandoned, confirm.totals.recovered) == (2, 1)
    app.dispose()


def test_unusable_rows_are_counted_skips_reported_once_and_never_stop_the_sweep(
    odd: OddShop, caplog: pytest.LogCaptureFixture
) -> None:
    odd.cart("OK-1", customer_id="C-1")
    odd.cart("DELETED", customer_id=None, email=None)  # a deleted customer
    odd.cart("NO-CONSENT", customer_id="C-3", consent="N")
    odd.cart("HUGE", customer_id="C-4", amount=Decimal("1e20"))
    odd.cart("NO-TIME", customer_id="C-5", abandoned_at=None)
    app = odd.app()
    with caplog.at_level(logging.WARNING, logger="cartnudge"):
        first, channel = run(app, NOW)
    assert first.sent == 1
    assert first.skipped == {
        "no_address": 1,
        "no_consent": 1,
        "invalid_amount": 1,
        "invalid_time": 1,
    }
    assert first.invalid_rows == 2 and first.exit_code == 1
    warned = [r.getMessage() for r in caplog.records if "skipped as" in r.getMessage()]
    assert len(warned) == 2 and any("HUGE" in w and "total_amount" in w for w in warned)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="cartnudge"):
        # Full sweeps count unusable rows again (incremental ones read only what changed).
        second, _ = run(app, NOW + H, channel, full=True)
    assert second.invalid_rows == 0 and second.exit_code == 0
    assert second.skipped["invalid_amount"] == 1 and second.skipped["invalid_time"] == 1
    assert not [r for r in caplog.records if "skipped as" in r.getMessage()]
    assert set(odd.statuses()) == {"sent"}
    app.dispose()


def test_a_member_and_a_guest_record_of_one_person_get_one_reminder(odd: OddShop) -> None:
    odd.cart("M-1", customer_id="C-1", email="Hanako@Example.jp")
    odd.cart("G-1", customer_id=None, email="hanako@example.jp")  # the same person, as a guest
    app = odd.app(**GUESTS)
    summary, channel = run(app, NOW)
    app.dispose()
    assert summary.sent == 1 and len(channel.sent) == 1
    assert summary.deferred == {"frequency_cap": 1}


def test_a_purchase_under_another_record_with_the_same_address_counts(odd: OddShop) -> None:
    odd.cart("M-1", customer_id="C-1", email="Hanako@Example.jp")
    odd.order("O-1", NOW - H, customer_id=None, email="HANAKO@example.jp")  # as a guest
    app = odd.app()
    summary, channel = run(app, NOW)
    app.dispose()
    assert (summary.sent, summary.skipped) == (0, {"purchased": 1})
    assert channel.sent == []


def test_guests_are_reminded_only_where_the_flows_cells_say(odd: OddShop) -> None:
    odd.cart("G-1", customer_id=None, email="guest@example.jp")
    default = odd.app()
    summary, _ = run(default, NOW, dry_run=True)
    default.dispose()
    assert summary.skipped == {"not_abandoned": 1}  # SPEC 2.1: never a visitor on the SHOP
    configured = odd.app(**GUESTS)
    summary, _ = run(configured, NOW, dry_run=True)
    configured.dispose()
    assert summary.would_send == 1


def test_text_ids_work_for_one_order_lookups(odd: OddShop) -> None:
    odd.cart("EC-0001", customer_id="C-1")
    app = odd.app()
    order = app.reader.order("EC-0001")
    assert order is not None and order.total_amount == 5660
    assert app.reader.order("-1") is None
    assert app.reader.check(NOW) == []
    assert app.reader.optional_columns()["abandoned"] == [
        "customer_name",
        "email",
        "email_consent",
    ]
    app.dispose()


# -- property: no row stops anything ---------------------------------------------------------

ANY_TEXT = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.binary(max_size=6),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
)
TIMES = st.one_of(
    st.none(),
    st.just(""),
    st.just("0000-01-01 00:00:00"),
    st.integers(0, 2**40),
    st.sampled_from(["2026-11-22T17:00:00", "2026-11-22 16:00:00", "infinity", "garbage"]),
    st.datetimes(min_value=datetime(2026, 11, 21, 12), max_value=datetime(2026, 11, 22, 21)).map(
        lambda d: d.strftime("%Y-%m-%d %H:%M:%S")
    ),
)
ROWS = st.lists(
    st.fixed_dictionaries(
        {
            "customer_id": st.one_of(st.none(), st.sampled_from(["C-1", "C-2", 7])),
            "email": st.one_of(ANY_TEXT, st.sampled_from(["a@example.jp", "A@EXAMPLE.JP"])),
            "consent": st.one_of(ANY_TEXT, st.sampled_from(["t", "N", 1, "yes"])),
            "amount": st.one_of(
                ANY_TEXT, st.decimals(allow_nan=False, places=2, max_value=10**9, min_value=0)
            ),
            "abandoned_at": TIMES,
            "name": ANY_TEXT,
        }
    ),
    min_size=1,
    max_size=8,
)


def _sqlite_value(value: object) -> object:
    if isinstance(value, float) and math.isnan(value):
        return None  # SQLite stores NaN as NULL anyway
    return value


def _assert_every_row_ends_somewhere(odd: OddShop, rows: list[dict], dry_run: bool) -> None:
    with odd.engine.begin() as conn:
        conn.execute(text("DELETE FROM odd_carts"))
        conn.execute(text("DELETE FROM odd_items"))
        for table in ("cartnudge_deliveries", "cartnudge_skips"):
            conn.execute(text(f"DELETE FROM {table}"))
    for i, row in enumerate(rows):
        values = {k: _sqlite_value(v) for k, v in row.items()}
        odd.cart(f"R-{i}", **values)
    app = odd.app(**GUESTS)
    try:
        summary, _ = run(app, NOW, dry_run=dry_run)
    finally:
        app.dispose()
    decided = summary.due + summary.waiting + sum(summary.skipped.values())
    assert decided == summary.candidates
    assert summary.candidates <= len(rows)
    assert not {"claimed", "sending"} & set(odd.statuses())


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=ROWS, dry_run=st.booleans())
def test_any_values_in_any_column_never_escape_as_an_exception_on_sqlite(
    sqlite_url: str, tmp_path: Path, rows: list[dict], dry_run: bool
) -> None:
    odd = OddShop(sqlite_url, tmp_path)
    try:
        _assert_every_row_ends_somewhere(odd, rows, dry_run)
    finally:
        odd.engine.dispose()


def test_send_bulk_reaches_one_person_once_per_campaign_whatever_the_records(
    odd: OddShop,
) -> None:
    from cartnudge.operator import bulk
    from cartnudge.operator.search import Filters

    with odd.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO odd_customers VALUES ('C-1', '佐藤 花子', 'Hanako@Example.jp'), "
                "('C-2', '佐藤 花子', 'hanako@example.jp'), "
                "('C-3', '鈴木 一郎', 'ichiro@example.jp')"
            )
        )
    # A remarketing template: these customers have no abandoned cart, and a cart template is
    # never sent without one (no_cart).
    templates = odd.tmp_path / "templates"
    shutil.copytree(BUNDLED_TEMPLATES_DIR, templates)
    shutil.copytree(templates / "140001", templates / "900001")
    (templates / "900001" / "template.yaml").write_text(
        "id: 900001\ncategory: remarketing\nname: 再訪のお願い\n", encoding="utf-8"
    )
    # search_customers.sql here returns no consent
    app = odd.app(consent_required=False, templates_dir=str(templates))
    mailing = bulk.Mailing("nov-sale", 900001, Filters(abandoned=None))
    first = bulk.send(app, mailing, MemoryChannel(), now=NOW)
    again = bulk.send(app, mailing, MemoryChannel(), now=NOW + H)
    app.dispose()
    assert (first.sent, first.excluded["already_sent"]) == (2, 1)
    assert (again.sent, again.excluded["already_sent"]) == (0, 3)


def test_send_bulk_holds_back_a_person_reminded_under_another_record(odd: OddShop) -> None:
    # C-1's cart is reminded by the sweep; C-2 is the same shopper (same address, other case)
    # under another customer record: the frequency cap (1 in 16 h) holds back both.
    from cartnudge.operator import bulk
    from cartnudge.operator.search import Filters

    odd.cart("M-1", customer_id="C-1", email="Hanako@Example.jp")
    with odd.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO odd_customers VALUES ('C-1', '佐藤 花子', 'Hanako@Example.jp'), "
                "('C-2', '佐藤 花子', 'hanako@EXAMPLE.jp'), "
                "('C-3', '鈴木 一郎', 'ichiro@example.jp')"
            )
        )
    templates = odd.tmp_path / "templates"
    shutil.copytree(BUNDLED_TEMPLATES_DIR, templates)
    shutil.copytree(templates / "140001", templates / "900001")
    (templates / "900001" / "template.yaml").write_text(
        "id: 900001\ncategory: remarketing\nname: 再訪のお願い\n", encoding="utf-8"
    )
    app = odd.app(consent_required=False, templates_dir=str(templates))
    summary, _ = run(app, NOW)
    assert summary.sent == 1
    mailing = bulk.Mailing("dec-sale", 900001, Filters(abandoned=None))
    result = bulk.send(app, mailing, MemoryChannel(), now=NOW + H)
    app.dispose()
    assert (result.sent, result.excluded["frequency_cap"]) == (1, 2)


# What a real server's text column can hold: no NUL (PostgreSQL refuses it), no lone surrogate.
SERVER_TEXT = st.text(
    alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=10
)
TYPED_ROWS = st.lists(
    st.fixed_dictionaries(
        {
            "customer_id": st.one_of(st.none(), st.sampled_from(["C-1", "C-2", "7"])),
            "email": st.one_of(
                st.none(), SERVER_TEXT, st.sampled_from(["a@example.jp", "A@EXAMPLE.JP"])
            ),
            "consent": st.one_of(st.none(), st.sampled_from(["t", "N", "1", "yes", "no", ""])),
            "amount": st.one_of(
                st.none(),
                st.decimals(
                    allow_nan=False, allow_infinity=False, places=2, min_value=-10, max_value=10**20
                ),
            ),
            "abandoned_at": st.one_of(
                st.none(),
                st.datetimes(
                    min_value=datetime(2026, 11, 21, 12), max_value=datetime(2026, 11, 22, 12)
                ),
            ),
            "name": st.one_of(st.none(), SERVER_TEXT),
        }
    ),
    min_size=1,
    max_size=6,
)


@pytest.mark.parametrize(
    "server",
    [
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ],
)
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=TYPED_ROWS)
def test_generated_rows_never_escape_as_an_exception_on_real_servers(
    server: str, tmp_path: Path, rows: list[dict]
) -> None:
    from tests.conftest import backend_url, reset_database

    url = backend_url(server, tmp_path)
    engine = build_engine(url)
    reset_database(engine)
    engine.dispose()
    odd = OddShop(url, tmp_path)
    try:
        clean = []
        for row in rows:
            at = row["abandoned_at"]
            clean.append(dict(row, abandoned_at=None if at is None else odd.local(at)))
        _assert_every_row_ends_somewhere(odd, clean, dry_run=False)
    finally:
        odd.dispose()


def test_check_refuses_a_time_zone_that_puts_fresh_shop_times_in_the_future(
    sqlite_url: str, tmp_path: Path
) -> None:
    odd = OddShop(sqlite_url, tmp_path)
    try:
        # Configured UTC, but the shop writes Tokyo time: a cart left a minute ago reads as
        # 9 hours ahead, and reminders would go out 9 hours early.
        odd.cart("NEW", customer_id="C-1", abandoned_at=NOW + 9 * H - timedelta(minutes=1))
        data = base_config(odd.url, tmp_path)
        data["shop"].update(sql_dir=str(odd.sql_dir), timestamps_timezone="UTC")
        app = App(load_config(write_config(tmp_path, data)))
        problems = app.reader.check(NOW)
        app.dispose()
        assert len(problems) == 1
        assert "9.0 hours in the future" in problems[0]
        assert "shop.timestamps_timezone (UTC)" in problems[0]
    finally:
        odd.engine.dispose()


def test_every_command_that_reads_the_shop_goes_past_unusable_rows(odd: OddShop) -> None:
    from click.testing import CliRunner

    from cartnudge.cli import main

    odd.cart("EC-0001", customer_id="C-1")
    odd.cart("HUGE", customer_id="C-1", amount=Decimal("1e20"), abandoned_at=odd.local(NOW - 5 * H))
    odd.cart("NO-TIME", customer_id="C-2", abandoned_at=None)
    with odd.engine.begin() as conn:
        conn.execute(text("INSERT INTO odd_customers VALUES ('C-1', '佐藤 花子', 'c1@example.jp')"))
        conn.execute(text("INSERT INTO odd_customers VALUES ('C-2', '鈴木 一郎', 'c2@example.jp')"))
    data = base_config(odd.url, odd.tmp_path)
    data["shop"].update(sql_dir=str(odd.sql_dir), timestamps_timezone="Asia/Tokyo")
    config = str(write_config(odd.tmp_path, data))

    def cli(*args: str):
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        assert "Traceback" not in result.output
        return result

    now = "2026-11-22T21:00:00+09:00"
    dry = cli("sweep", "--config", config, "--now", now, "--dry-run", "--json")
    assert json.loads(dry.stdout)["skipped"] == {"invalid_amount": 1, "invalid_time": 1}
    swept = cli("sweep", "--config", config, "--now", now, "--json")
    assert json.loads(swept.stdout)["sent"] == 1
    found = cli("search", "--config", config, "--format", "json", "--abandoned", "any")
    assert found.exit_code == 0 and {r["customer_id"] for r in json.loads(found.stdout)} == {
        "C-1",
        "C-2",
    }
    report = cli(
        "report",
        "--config",
        config,
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
        "--format",
        "json",
    )
    assert report.exit_code == 0, report.output
    bulk = cli(
        "send-bulk", "--config", config, "--template", "140001", "--campaign", "c", "--dry-run"
    )
    assert bulk.exit_code == 0, bulk.output
    preview = cli("templates", "preview", "140001", "--config", config, "--order", "EC-0001")
    assert preview.exit_code == 0 and "5,660" in preview.stdout
    bad = cli("templates", "preview", "140001", "--config", config, "--order", "HUGE")
    assert bad.exit_code == 1
    assert "total_amount" in bad.stderr and "invalid_amount" in bad.stderr
