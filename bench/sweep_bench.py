"""Time cartnudge sweeps on a synthetic shop of N abandoned orders (not part of the test suite).

    .venv/bin/python bench/sweep_bench.py                          # 1,000,000 orders, ~100k due
    .venv/bin/python bench/sweep_bench.py --orders 100000          # a quick check
    .venv/bin/python bench/sweep_bench.py --sink outbox            # .eml files, not a null sink
    .venv/bin/python bench/sweep_bench.py --chunk-size 500 --profile /tmp/cartnudge-bench/a.prof
    .venv/bin/python bench/sweep_bench.py --tracemalloc            # Python heap peak (slower)
    .venv/bin/python bench/sweep_bench.py --url postgresql://HOST/DB --orders 100000

The shop is the reference schema (cartnudge/demo/schema.py) in an SQLite file under
/tmp/cartnudge-bench, bulk-loaded with the raw sqlite3 connection (one transaction, journal and
sync off, indexes created after the load) and cached per --orders/--due-fraction/--seed
(--rebuild forces a new one). With --url the shop is loaded into that database instead (its shop
and cartnudge tables are DROPPED first) in chunks of 50k rows through SQLAlchemy Core.

Time NOW is fixed. Carts in the window at NOW (abandoned 3h..23h before it: due with a 3-hour
delay and a 24-hour cart validity) are --due-fraction of the orders (default 100,000 / --orders,
at most 1: about 100,000 carts in the window whatever the size); the rest are split between
expired carts (25h..30 days old) and carts not yet due (abandoned in the last 2 hours). A few of
the carts in the window are skipped by the rules (no consent, suppressed, fraud hold, bought
since), so "due" is about 96% of them.

For each --chunk-size the state is reset and three sweeps run, each in a fresh process, as cron
runs them (so each one's peak RSS is its own):

    a  at NOW            the carts in the window are due and are sent to the sink (a full
                         sweep: the first on record)
    b  at NOW + 5 min    nothing new is due: an incremental sweep reads only the carts due
                         since a (none) plus sweep.overlap (10 min) of carts already delivered
    h  at NOW + 1 h      the steady-state hourly sweep, run as cron runs it: `cartnudge sweep
                         --json` in a new process, timed from its start to its exit (the wall
                         and CPU figures include Python's start-up and the imports); an
                         incremental sweep reading the carts newly due plus the overlap
    c  at NOW + 3 days   nothing at all is in the window (a full sweep: sweep.full_every)

To measure a fixed copy of cartnudge while others edit the tree, put it first on the path:
PYTHONPATH=/path/to/copy (the header line says which cartnudge was imported).

Printed per sweep: candidates read, due reminders, sent, wall time of Sweep.run() and the CPU
time the process spent in it (less sensitive to other load than wall time), due reminders per
second, RSS when the sweep starts, peak RSS (ru_maxrss, and VmHWM: the process image's own
peak, which ru_maxrss is not after a fork and exec), and where the time went (each
database call, rules, rendering, MIME building, the sink; a few microseconds of timer overhead
per call), and what the sweep read from the shop: the number of queries (every SELECT on the
shop engine) and of rows (every row the reader's queries returned), both per contract file too.
Figures on a shared 2-core machine are noisy: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import logging
import os
import platform
import pstats
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, MetaData, Table, delete, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateTable

from cartnudge.channels.base import Channel, Envelope, Result, SendResult
from cartnudge.demo.schema import customers, order_items, orders, products
from cartnudge.demo.schema import metadata as shop_metadata
from cartnudge.engines import build_engine
from cartnudge.state.schema import metadata as state_metadata
from cartnudge.state.schema import suppressions
from cartnudge.state.store import migrate

BENCH_DIR = Path("/tmp/cartnudge-bench")
TOKEN_ENV = "CARTNUDGE_BENCH_TOKEN_KEYS"
SHOP_URL_ENV = "CARTNUDGE_BENCH_SHOP_URL"
os.environ.setdefault(TOKEN_ENV, "bench-signing-key-0123456789abcdef")

NOW = datetime(2026, 11, 22, 3, 0)  # naive UTC: 12:00 in Asia/Tokyo
HOUR = 3600
SCENARIOS: dict[str, tuple[str, timedelta]] = {
    "a": ("due carts", timedelta(0)),
    "b": ("right after: nothing new due", timedelta(minutes=5)),
    # The steady-state hourly sweep as cron runs it: `cartnudge sweep` in a new process (start-up
    # included), incremental after a and b: it reads what is newly due plus the overlap.
    "h": ("hourly: cartnudge sweep, new process", timedelta(hours=1)),
    "c": ("nothing in the window", timedelta(days=3)),
}
CLI_SCENARIOS = frozenset({"h"})
LOAD_CHUNK = 50_000
SQLITE_DT = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's storage format for DateTime on SQLite

PRODUCTS: tuple[tuple[str, int], ...] = (
    ("国産有機抹茶 100g", 2480),
    ("今治タオル フェイスタオル 2枚組", 2200),
    ("今治タオル バスタオル", 4950),
    ("南部鉄器 急須 0.6L", 12800),
    ("有田焼 マグカップ", 3300),
    ("宇治ほうじ茶 ティーバッグ 20包", 980),
    ("北海道産 日高昆布 200g", 1280),
    ("静岡県産 深蒸し煎茶 100g", 1620),
    ("紀州南高梅 はちみつ梅干し 500g", 3480),
    ("新潟県産 コシヒカリ 5kg", 3980),
    ("讃岐うどん 乾麺 10人前", 1980),
    ("国産 純粋はちみつ 300g", 2680),
    ("柚子ぽん酢 360ml", 756),
    ("無添加 だしパック 30袋", 2160),
    ("手ぬぐい 桜柄", 1100),
    ("檜 まな板 中", 5280),
    ("燕三条 三徳包丁 165mm", 9900),
    ("椿油 ヘアオイル 60ml", 1980),
    ("藍染め トートバッグ", 4620),
    ("九谷焼 豆皿 5枚セット", 5500),
)
FAMILY = ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤")
GIVEN = ("花子", "太郎", "翔太", "美咲", "健太", "陽菜", "大輔", "桜", "拓也", "結衣")

CUSTOMER_COLS = (
    "id",
    "status",
    "name",
    "email",
    "phone",
    "email_optin",
    "sms_optin",
    "push_optin",
    "created_at",
    "line_optin",
)
ORDER_COLS = (
    "id",
    "customer_id",
    "storefront",
    "lp_id",
    "state",
    "abandoned_step",
    "logged_in",
    "created_at",
    "abandoned_at",
    "last_activity_at",
    "completed_at",
    "total_amount",
    "fraud_result",
    "fraud_action",
    "recovery_token",
)
ITEM_COLS = ("id", "order_id", "product_id", "product_name", "quantity", "unit_price")


# --- the synthetic shop ------------------------------------------------------------------------


def plan_times(
    rng: random.Random, n: int, due_fraction: float
) -> tuple[list[tuple[int, str]], int]:
    """(seconds before NOW, kind) per abandoned order, oldest first; kind: w(indow) e(xpired)
    y(et to come). Order ids follow this order, as a shop's ids follow time."""
    in_window = round(n * due_fraction)
    expired = (n - in_window) // 2
    not_yet = n - in_window - expired
    times = [(rng.randint(3 * HOUR, 23 * HOUR), "w") for _ in range(in_window)]
    times += [(rng.randint(25 * HOUR, 30 * 24 * HOUR), "e") for _ in range(expired)]
    times += [(rng.randint(60, 2 * HOUR), "y") for _ in range(not_yet)]
    times.sort(key=lambda t: -t[0])
    return times, in_window


def generate(
    n: int, due_fraction: float, seed: int, fmt: Callable[[datetime], Any]
) -> Iterator[tuple[list[tuple], list[tuple], list[tuple], list[str]]]:
    """Chunks of (customers, orders, items, suppressed addresses). One customer per abandoned
    order; 10% of customers also bought 10 days earlier (the purchased_at subquery finds a row
    but does not skip); in the window 1% have no consent, 1% are suppressed, 1% are on fraud
    hold and 1% bought after abandoning (skipped as purchased)."""
    rng = random.Random(seed)
    times, _ = plan_times(rng, n, due_fraction)
    item_id = 0
    completed_id = n
    cust: list[tuple] = []
    ords: list[tuple] = []
    items: list[tuple] = []
    supp: list[str] = []
    for index, (ago, kind) in enumerate(times):
        oid = index + 1
        abandoned = NOW - timedelta(seconds=ago)
        last = abandoned + timedelta(seconds=rng.randint(0, 600))
        if last >= NOW:
            last = abandoned
        roll = rng.random() if kind == "w" else 1.0
        email = f"c{oid}@example.jp"
        lp = rng.random() < 0.2
        member = not lp or rng.random() < 0.5
        cust.append(
            (
                oid,
                "member" if member else "visitor",
                f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}",
                email,
                None,
                roll >= 0.01,
                False,
                False,
                fmt(NOW - timedelta(days=400)),
                False,
            )
        )
        if 0.01 <= roll < 0.02:
            supp.append(email)
        if lp:
            step, lp_id = "confirm", rng.randint(1, 3)
        else:
            step, lp_id = ("cart", "confirm", "payment_failed")[rng.randrange(3)], None
        basket = [
            (rng.randrange(len(PRODUCTS)), rng.randint(1, 3)) for _ in range(rng.randint(1, 3))
        ]
        total = 0
        for pi, qty in basket:
            item_id += 1
            name, price = PRODUCTS[pi]
            total += price * qty
            items.append((item_id, oid, pi + 1, name, qty, price))
        ords.append(
            (
                oid,
                oid,
                "lp" if lp else "shop",
                lp_id,
                "abandoned",
                step,
                member,
                fmt(abandoned - timedelta(minutes=20)),
                fmt(abandoned),
                fmt(last),
                None,
                total,
                "HOLD" if 0.02 <= roll < 0.03 else "OK",
                None,
                None,
            )
        )
        bought = []
        if rng.random() < 0.1:
            bought.append(abandoned - timedelta(days=10))
        if 0.03 <= roll < 0.04:
            bought.append(abandoned + timedelta(minutes=30))
        for at in bought:
            completed_id += 1
            ords.append(
                (
                    completed_id,
                    oid,
                    "shop",
                    None,
                    "completed",
                    None,
                    member,
                    fmt(at - timedelta(minutes=10)),
                    None,
                    fmt(at),
                    fmt(at),
                    1980,
                    "OK",
                    None,
                    None,
                )
            )
        if len(cust) >= LOAD_CHUNK:
            yield cust, ords, items, supp
            cust, ords, items, supp = [], [], [], []
    if cust:
        yield cust, ords, items, supp


def _insert_sql(table: Table, cols: Sequence[str]) -> str:
    return f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"


def _product_rows() -> list[tuple]:
    return [(i + 1, name, price, 100) for i, (name, price) in enumerate(PRODUCTS)]


def _drop_ours(engine: Engine) -> None:
    """Drop the shop's and cartnudge's tables (only those) in a --url database."""
    with engine.begin() as conn:
        reflected = MetaData()
        reflected.reflect(conn)
        ours = (
            set(shop_metadata.tables) | set(state_metadata.tables) | {"cartnudge_alembic_version"}
        )
        for table in reversed(reflected.sorted_tables):
            if table.name in ours:
                table.drop(conn)


def build_shop(url: str, n: int, due_fraction: float, seed: int) -> dict[str, Any]:
    """Create and fill the shop at ``url``; return counts and timings."""
    engine = build_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    t0 = time.perf_counter()
    if not sqlite:
        _drop_ours(engine)
    with engine.begin() as conn:  # tables first, indexes after the load
        for table in shop_metadata.sorted_tables:
            conn.execute(CreateTable(table))
    engine.dispose()
    counts: Counter[str] = Counter()
    supp_all: list[str] = []
    if sqlite:
        db = sqlite3.connect(make_url(url).database, isolation_level=None)
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("BEGIN")
        db.executemany(_insert_sql(products, ("id", "name", "price", "stock")), _product_rows())
        sql_c = _insert_sql(customers, CUSTOMER_COLS)
        sql_o = _insert_sql(orders, ORDER_COLS)
        sql_i = _insert_sql(order_items, ITEM_COLS)
        for cust, ords, items, supp in generate(
            n, due_fraction, seed, lambda d: d.strftime(SQLITE_DT)
        ):
            db.executemany(sql_c, cust)
            db.executemany(sql_o, ords)
            db.executemany(sql_i, items)
            counts.update(customers=len(cust), orders=len(ords), order_items=len(items))
            supp_all += supp
        db.execute("COMMIT")
        db.execute("PRAGMA journal_mode=DELETE")
        db.close()
    else:
        with engine.begin() as conn:
            conn.execute(
                insert(products),
                [
                    dict(zip(("id", "name", "price", "stock"), r, strict=True))
                    for r in _product_rows()
                ],
            )
        for cust, ords, items, supp in generate(n, due_fraction, seed, lambda d: d):
            with engine.begin() as conn:
                for table, cols, rows in (
                    (customers, CUSTOMER_COLS, cust),
                    (orders, ORDER_COLS, ords),
                    (order_items, ITEM_COLS, items),
                ):
                    conn.execute(insert(table), [dict(zip(cols, r, strict=True)) for r in rows])
            counts.update(customers=len(cust), orders=len(ords), order_items=len(items))
            supp_all += supp
    load_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    with engine.begin() as conn:
        for table in shop_metadata.sorted_tables:
            for index in table.indexes:
                index.create(conn)
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
    index_s = time.perf_counter() - t1
    engine.dispose()
    writer = build_engine(url, writer=True)
    try:
        migrate(writer)
        with writer.begin() as conn:
            if supp_all:
                conn.execute(
                    insert(suppressions),
                    [
                        dict(channel="email", address=a, reason="opt_out", created_at=NOW)
                        for a in supp_all
                    ],
                )
    finally:
        writer.dispose()
    return {
        **counts,
        "abandoned": n,
        "in_window": round(n * due_fraction),
        "suppressed": len(supp_all),
        "load_s": round(load_s, 1),
        "index_s": round(index_s, 1),
    }


def reset_state(url: str) -> None:
    """Empty cartnudge's tables but the suppression list, for a --url database."""
    engine = build_engine(url, writer=True)
    try:
        with engine.begin() as conn:
            for table in reversed(state_metadata.sorted_tables):
                if table is not suppressions:
                    conn.execute(delete(table))
    finally:
        engine.dispose()


# --- one sweep, in a child process ---------------------------------------------------------------


class NullChannel(Channel):
    """A sink that accepts every message without I/O."""

    name = "null"

    def send(self, batch: Sequence[Envelope]) -> list[SendResult]:
        return [SendResult(e.delivery_id, Result.SENT, "250 null") for e in batch]


class Phases:
    """Wall time per call site, by wrapping methods on instances and names in cartnudge.sweep."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.cpu: defaultdict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self.slowest: defaultdict[str, float] = defaultdict(float)

    def add(self, name: str, seconds: float, cpu: float = float("nan")) -> None:
        self.seconds[name] += seconds
        self.cpu[name] += cpu
        self.calls[name] += 1
        self.slowest[name] = max(self.slowest[name], seconds)

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Wall and CPU time: wall well above CPU is waiting (fsync, locks, other processes)."""

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.add(name, time.perf_counter() - t0, time.process_time() - c0)

        return timed

    def install(self, app: Any, channel: Channel) -> None:
        import cartnudge.sweep as sweep_module

        reader = app.reader
        # One StateStore before; the sweep now calls deliveries, suppressions and runs.
        stores = (
            [app.store] if hasattr(app, "store") else [app.deliveries, app.suppressions, app.runs]
        )
        if hasattr(app, "revisits"):  # incremental sweeps
            stores.append(app.revisits)
        run = reader._run

        def timed_run(name: str, *args: Any, **params: Any) -> Any:
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return run(name, *args, **params)
            finally:
                elapsed = time.perf_counter() - t0
                self.add(f"shop query {name}", elapsed, time.process_time() - c0)

        reader._run = timed_run
        pages = reader.abandoned_orders

        def timed_pages(*args: Any, **kwargs: Any) -> Iterator[Any]:
            it = pages(*args, **kwargs)
            while True:
                t0, c0 = time.perf_counter(), time.process_time()
                try:
                    page = next(it)
                except StopIteration:
                    page = None
                elapsed = time.perf_counter() - t0
                self.add("read pages (query + parse)", elapsed, time.process_time() - c0)
                if page is None:
                    return
                yield page

        reader.abandoned_orders = timed_pages
        for name in ("order_items", "purchases"):
            setattr(reader, name, self.wrap(f"shop {name} (query + build)", getattr(reader, name)))
        for name in (
            "history",
            "suppressed",
            "claim",
            "release",
            "mark_sending",
            "record",
            "record_skips",
            "recent_sends",
            "recent_sends_to",
            "supersede",
            "replace",  # revisits
            "due",
            "clear",
        ):
            for store in stores:
                if hasattr(store, name):
                    setattr(store, name, self.wrap(f"state {name}", getattr(store, name)))
        for name in (
            "ensure_ready",
            "start_run",
            "mark_in_doubt",
            "finish_run",
            "close_dead",
            "sweep_history",
        ):
            for store in stores:
                if hasattr(store, name):
                    wrapped = self.wrap("state run bookkeeping", getattr(store, name))
                    setattr(store, name, wrapped)
        if hasattr(sweep_module.Sweep, "_attribute_recoveries"):  # newer cartnudge
            sweep_module.Sweep._attribute_recoveries = self.wrap(
                "recovery attribution (completed orders)",
                sweep_module.Sweep._attribute_recoveries,
            )
        sweep_module.decide = self.wrap("rules decide", sweep_module.decide)
        if hasattr(sweep_module, "render_within_limits"):  # newer cartnudge
            sweep_module.render_within_limits = self.wrap(
                "render (Jinja2 + tokens)", sweep_module.render_within_limits
            )
        elif hasattr(sweep_module, "render_order"):
            sweep_module.render_order = self.wrap(
                "render (Jinja2 + tokens)", sweep_module.render_order
            )
        if hasattr(sweep_module, "email_envelope"):  # before the render pool
            sweep_module.email_envelope = self.wrap("MIME build", sweep_module.email_envelope)
        else:  # render + MIME in cartnudge.messages.render_pool (here or in the workers)
            import cartnudge.messages.render_pool as pool_module

            pool_module.render_within_limits = self.wrap(
                "render (Jinja2 + tokens)", pool_module.render_within_limits
            )
            pool_module.email_envelope = self.wrap("MIME build", pool_module.email_envelope)
            pool_module.PendingBatch.result = self.wrap(
                "waiting for the render workers", pool_module.PendingBatch.result
            )
        channel.send = self.wrap(f"sink {channel.name} send", channel.send)

    # Nested inside another timed phase: shown, but not added to the total.
    NESTED = (
        "shop query abandoned_orders",
        "shop query order_items",
        "shop query purchases_since",
        "shop query completed_orders",
    )

    def report(self) -> dict[str, Any]:
        return {
            name: {
                "s": round(s, 4),
                "cpu_s": round(self.cpu[name], 4),
                "calls": self.calls[name],
                "slowest_s": round(self.slowest[name], 4),
                "nested": name in self.NESTED,
            }
            for name, s in sorted(self.seconds.items(), key=lambda kv: -kv[1])
        }


class ShopReads:
    """Queries sent to the shop and rows read from it, per sweep (issue 14, point 7): every
    SELECT on the shop engine (a SQLAlchemy ``before_cursor_execute`` listener, so plain and
    wrapped contract queries and the column probes all count) and every row the reader's
    one query runner returns (``cursor.rowcount`` means nothing for a SELECT). A counter and a
    ``len`` per query: nothing per row."""

    def __init__(self) -> None:
        self.queries = 0
        self.rows = 0
        self.by_query: Counter[str] = Counter()
        self.rows_by_query: Counter[str] = Counter()

    def install(self, app: Any) -> None:
        from sqlalchemy import event

        def count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
            # queries only: not the BEGIN the SQLite engine sends, nor session settings
            if statement.split(None, 1)[0].upper() in ("SELECT", "WITH"):
                self.queries += 1

        event.listen(app.shop_engine, "before_cursor_execute", count)
        reader = app.reader
        run = reader._run

        def counted(name: str, *args: Any, **params: Any) -> Any:
            rows = run(name, *args, **params)
            self.rows += len(rows)
            self.by_query[name] += 1
            self.rows_by_query[name] += len(rows)
            return rows

        reader._run = counted

    def report(self) -> dict[str, Any]:
        return {
            "queries": self.queries,
            "rows": self.rows,
            "by_file": {
                name: {"queries": n, "rows": self.rows_by_query[name]}
                for name, n in sorted(self.by_query.items())
            },
        }


def _rss_now_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _vm_hwm_mib() -> float:
    """This process image's own peak RSS. (ru_maxrss also counts the peak of the process that
    forked it, up to its exec: Linux keeps the pre-exec high-water mark in the signal struct.)"""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


SAMPLED_CONTEXTS = 500  # the first contexts the sweep renders, kept for the bare comparison


def _sample_contexts(catalogue: Any) -> list[tuple[int, str | None, dict]]:
    """Keep the first SAMPLED_CONTEXTS (template, channel, context) the sweep renders."""
    kept: list[tuple[int, str | None, dict]] = []
    real = catalogue.render

    def render(template_id: int, context: Any, channel: str | None = None) -> Any:
        if len(kept) < SAMPLED_CONTEXTS:
            kept.append((template_id, channel, context))
        # (older cartnudge renders every part and takes no channel)
        return (
            real(template_id, context) if channel is None else real(template_id, context, channel)
        )

    catalogue.render = render
    return kept


def _sample_jobs() -> list[Any] | None:
    """Keep the first SAMPLED_CONTEXTS render jobs handed to the render workers (their
    contexts are made in the workers, out of this process's sight)."""
    try:
        import cartnudge.messages.render_pool as pool_module
    except ImportError:  # older cartnudge
        return None
    kept: list[Any] = []
    real = pool_module.RenderPool.submit

    def submit(self: Any, jobs: Any) -> Any:
        if len(kept) < SAMPLED_CONTEXTS:
            kept.extend(jobs)
        return real(self, jobs)

    pool_module.RenderPool.submit = submit
    return kept


def _bare_render_rate(
    templates: Path, samples: list[tuple[int, str | None, dict]], cpu_seconds: float = 2.0
) -> dict[str, Any]:
    """Messages per CPU second of plain Jinja2 rendering the e-mail's parts (subject, text,
    HTML) of the same messages the sweep sent, with the same contexts and environment settings
    (StrictUndefined, autoescaped HTML, the yen filter), compiled once; no tokens, no MIME, no
    database. This is the ceiling issue 14 compares the sweep with."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    from cartnudge.messages.templates import PARTS, yen

    env = Environment(
        loader=FileSystemLoader(str(templates)),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        keep_trailing_newline=True,
    )
    env.filters["yen"] = yen
    compiled = {
        tid: [env.get_template(f"{tid}/{part}") for part in PARTS.values()]
        for tid in {t for t, _c, _ctx in samples}
    }
    work = [(compiled[t], ctx) for t, _c, ctx in samples]
    done = 0
    c0 = time.process_time()
    while time.process_time() - c0 < cpu_seconds:
        for parts, ctx in work:
            for tmpl in parts:
                tmpl.render(ctx)
        done += len(work)
    cpu = time.process_time() - c0
    return {"messages": done, "cpu_s": cpu, "per_cpu_s": done / cpu, "contexts": len(work)}


def child(args: argparse.Namespace) -> None:
    """Run one sweep and print its figures as one JSON line."""
    from cartnudge.app import App
    from cartnudge.config import load_config
    from cartnudge.sweep import Sweep

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    t0 = time.perf_counter()
    app = App(load_config(args.child_config))
    channel: Channel = NullChannel() if args.sink == "null" else app.email_channel()
    app_s = time.perf_counter() - t0
    now = NOW + SCENARIOS[args.child_scenario][1]
    phases = Phases()
    if not args.profile:
        phases.install(app, channel)
    shop_reads = ShopReads()
    shop_reads.install(app)
    samples = _sample_contexts(app.catalogue) if args.child_scenario == "a" else None
    jobs = _sample_jobs() if args.child_scenario == "a" else None
    rss_start = _rss_now_mib()
    maxrss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.tracemalloc:
        tracemalloc.start()
    profiler = cProfile.Profile() if args.profile else None
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    rc0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t1 = time.perf_counter()
    if profiler:
        profiler.enable()
    summary = Sweep(app, channel, now=now).run()
    if profiler:
        profiler.disable()
    wall = time.perf_counter() - t1
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    rc1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    # the render workers' CPU (reaped when the sweep ends; 0 when it renders in-process)
    workers_cpu = (rc1.ru_utime - rc0.ru_utime) + (rc1.ru_stime - rc0.ru_stime)
    workers_rss = rc1.ru_maxrss / 1024
    traced = tracemalloc.get_traced_memory()[1] / 2**20 if args.tracemalloc else None
    if args.tracemalloc:
        tracemalloc.stop()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if jobs and samples is not None and not samples:
        # The workers rendered everything: the same messages' contexts, rendered here once.
        from cartnudge.messages.render_pool import render_envelope

        for job in jobs[:SAMPLED_CONTEXTS]:
            render_envelope(app.config, app.catalogue, now, job)
    bare = _bare_render_rate(app.catalogue.directory, samples) if samples else None
    app.dispose()
    out: dict[str, Any] = {
        "scenario": args.child_scenario,
        "now": now.isoformat(),
        "candidates": summary.candidates,
        "due": summary.due,
        "sent": summary.sent,
        "failed": summary.failed,
        "waiting": summary.waiting,
        "skipped": dict(summary.skipped),
        "mode": summary.mode,
        "mode_reason": summary.mode_reason,
        "shop_rows_read": summary.shop_rows_read,
        "wall_s": wall,
        "cpu_s": cpu + workers_cpu,
        "parent_cpu_s": cpu,
        "workers_cpu_s": workers_cpu,
        "workers_peak_rss_mib": workers_rss,
        "app_init_s": app_s,
        "rss_start_mib": rss_start,
        "maxrss_before_sweep_mib": maxrss_start,
        "peak_rss_mib": maxrss,
        "vm_hwm_mib": _vm_hwm_mib(),
        "tracemalloc_peak_mib": traced,
        "phases": phases.report(),
        "shop_reads": shop_reads.report(),
        "bare_render": bare,
    }
    if profiler:
        profiler.dump_stats(args.profile)
        text_out = io.StringIO()
        stats = pstats.Stats(profiler, stream=text_out).strip_dirs()
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(20)
        out["profile_text"] = text_out.getvalue()
    print(json.dumps(out))


# --- the driver ----------------------------------------------------------------------------------


def write_config(
    path: Path,
    chunk_size: int,
    send_batch: int,
    outbox: Path,
    render_workers: int | None = None,
    **sweep: Any,
) -> None:
    """The bench's configuration (the shop's URL and the signing key from the environment),
    with ``sweep`` settings beside chunk_size and send_batch (e.g. buckets=16)."""
    data = {
        "timezone": "Asia/Tokyo",
        "shop": {"url_env": SHOP_URL_ENV, "cart_ttl": 1440, "timestamps_timezone": "UTC"},
        "sender": {
            "name": "ベンチ商店",
            "email": "shop@example.jp",
            "postal_address": "東京都千代田区1-1",
            "contact": "03-0000-0000",
        },
        "flows": {"confirm": {"enabled": True, "target": "all", "delay": "3h"}},
        "email": {"transport": "outbox", "outbox_dir": str(outbox)},
        "recovery": {"keys_env": TOKEN_ENV},
        "sweep": {"chunk_size": chunk_size, "send_batch": send_batch, **sweep},
    }
    if render_workers is not None:
        data["sweep"]["render_workers"] = render_workers
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def run_child(
    args: argparse.Namespace, config: Path, scenario: str, url: str, profile: str | None = None
) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--child-config",
        str(config),
        "--child-scenario",
        scenario,
        "--sink",
        args.sink,
    ]
    if args.tracemalloc:
        cmd.append("--tracemalloc")
    if profile:
        cmd += ["--profile", profile]
    load = os.getloadavg()[0]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env={**os.environ, SHOP_URL_ENV: url}, check=False
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"sweep {scenario} failed (exit {proc.returncode})")
    if proc.stderr.strip():
        sys.stderr.write(proc.stderr[-2000:])
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["load_before"] = load
    result["load_after"] = os.getloadavg()[0]
    return result


def run_cli(args: argparse.Namespace, config: Path, scenario: str, url: str) -> dict[str, Any]:
    """One sweep as cron runs it: ``python -m cartnudge sweep --json`` in a new process, its
    wall time from start to exit and its CPU time (user + system of the child), start-up
    included; the counts from its JSON summary (the shop's queries are not counted here)."""
    now = NOW + SCENARIOS[scenario][1]
    cmd = [sys.executable, "-m", "cartnudge", "sweep", "--config", str(config)]
    cmd += ["--now", f"{now.isoformat()}+00:00", "--json"]
    load = os.getloadavg()[0]
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env={**os.environ, SHOP_URL_ENV: url}, check=False
    )
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        summary = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"sweep {scenario} failed (exit {proc.returncode})") from None
    if "candidates" not in summary:
        raise SystemExit(f"sweep {scenario} failed: {summary}")
    return {
        "scenario": scenario,
        "now": now.isoformat(),
        "candidates": summary["candidates"],
        "due": summary["due"],
        "sent": summary["sent"],
        "failed": summary["failed"],
        "waiting": summary["waiting"],
        "skipped": summary["skipped"],
        "mode": summary["mode"],
        "mode_reason": summary["mode_reason"],
        "shop_rows_read": summary["shop_rows_read"],
        "exit_code": proc.returncode,
        "wall_s": wall,
        "cpu_s": (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime),
        "app_init_s": float("nan"),
        "rss_start_mib": float("nan"),
        "peak_rss_mib": ru1.ru_maxrss / 1024,  # the largest child so far: an upper bound
        "vm_hwm_mib": float("nan"),
        "tracemalloc_peak_mib": None,
        "phases": {},
        "shop_reads": None,
        "bare_render": None,
        "load_before": load,
        "load_after": os.getloadavg()[0],
    }


def _fmt_row(chunk: int, r: dict[str, Any], tracemalloc_on: bool) -> str:
    rate = r["due"] / r["wall_s"] if r["wall_s"] and r["due"] else 0.0
    crate = r["candidates"] / r["wall_s"] if r["wall_s"] else 0.0
    row = (
        f"| {chunk:>5} | {r['scenario']} {SCENARIOS[r['scenario']][0]:<29} "
        f"| {r['candidates']:>10,} | {r['due']:>8,} | {r['sent']:>8,} | {r['wall_s']:>8.2f} "
        f"| {r.get('cpu_s', float('nan')):>7.2f} "
        f"| {rate:>7,.0f} | {crate:>9,.0f} "
        f"| {r['rss_start_mib']:>6.0f} | {r['peak_rss_mib']:>6.0f} | {r['vm_hwm_mib']:>6.0f} "
        f"| {r['load_before']:.1f}/{r['load_after']:.1f} |"
    )
    if tracemalloc_on:
        row += f" {r['tracemalloc_peak_mib']:>7.1f} |"
    return row


def print_results(results: list[tuple[int, dict[str, Any]]], tracemalloc_on: bool) -> None:
    head = (
        "| chunk | sweep                           | candidates |      due |     sent |   wall s "
        "|   CPU s "
        "|   due/s |    cand/s | RSS@start MiB | ru_maxrss MiB | VmHWM MiB | load 1m before/after |"
    )
    if tracemalloc_on:
        head += " traced peak MiB |"
    print()
    print(head)
    print("|" + "|".join("---" for _ in range(head.count("|") - 1)) + "|")
    for chunk, r in results:
        print(_fmt_row(chunk, r, tracemalloc_on))
    for chunk, r in results:
        bare = r.get("bare_render")
        if not bare or not r["due"]:
            continue
        per_cpu = r["due"] / r["cpu_s"]
        per_wall = r["due"] / r["wall_s"]
        if r.get("workers_cpu_s"):
            print(
                f"CPU s, chunk {chunk}: {r['parent_cpu_s']:.2f} in the sweep's process, "
                f"{r['workers_cpu_s']:.2f} in the render workers (peak RSS of a worker "
                f"{r['workers_peak_rss_mib']:.0f} MiB)"
            )
        print(
            f"throughput, chunk {chunk}: {per_wall:,.0f} reminders/s (wall), {per_cpu:,.0f} "
            f"reminders per CPU second; bare Jinja2 render of the same messages (subject, text, "
            f"HTML; {bare['contexts']} contexts, same run): {bare['per_cpu_s']:,.0f} per CPU "
            f"second; ratio {per_wall / bare['per_cpu_s']:.2f} (wall rate) / "
            f"{per_cpu / bare['per_cpu_s']:.2f} (CPU rate); targets >= 5,000/s and >= 0.4"
        )
    for chunk, r in results:
        if not r["phases"]:
            continue
        total = sum(p["s"] for p in r["phases"].values() if not p["nested"])
        print(
            f"\nwhere the time went: chunk {chunk}, sweep {r['scenario']} "
            f"(wall {r['wall_s']:.2f} s, App() built in {r['app_init_s']:.2f} s before it)"
        )
        print("| phase | seconds | CPU s | % of wall | calls | slowest call s |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, p in r["phases"].items():
            label = f"  ({name}, inside the above)" if p["nested"] else name
            share = 100 * p["s"] / r["wall_s"]
            cpu = p.get("cpu_s", float("nan"))
            print(
                f"| {label} | {p['s']:.2f} | {cpu:.2f} | {share:.1f} | {p['calls']:,} "
                f"| {p['slowest_s']:.3f} |"
            )
        other = r["wall_s"] - total
        print(
            f"| other (sweep loop, claim requests, ...) | {other:.2f} | | "
            f"{100 * other / r['wall_s']:.1f} | | |"
        )
        if r["skipped"]:
            print(f"skipped: {json.dumps(r['skipped'], sort_keys=True)}")


def _schema_fingerprint() -> str:
    """Short hash of the shop's and cartnudge's tables and columns: a cached shop built for
    another schema (or with other cartnudge tables in it) is not reused."""
    tables = [*shop_metadata.sorted_tables, *state_metadata.sorted_tables]
    shape = "|".join(
        f"{t.name}:{','.join(f'{c.name} {c.type}' for c in t.columns)}" for t in tables
    )
    return hashlib.sha1(shape.encode()).hexdigest()[:8]


def _add_missing_indexes(path: Path) -> None:
    """Create the reference shop's indexes a cached shop lacks (the fingerprint covers columns,
    not indexes): e.g. the (state, abandoned_at, id) index incremental sweeps read by."""
    engine = build_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            for table in shop_metadata.sorted_tables:
                for index in table.indexes:
                    index.create(conn, checkfirst=True)
    finally:
        engine.dispose()


def build_in_child(args: argparse.Namespace, url: str, fraction: float, n: int) -> dict[str, Any]:
    """Build the shop in a process of its own, so that this one stays small: a child's
    ru_maxrss starts from its parent's peak."""
    cmd = [sys.executable, __file__, "--child-build", url, "--orders", str(n)]
    cmd += ["--due-fraction", repr(fraction), "--seed", str(args.seed)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"building the shop failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _source_state(root: Path) -> str:
    """The commit of the cartnudge measured and how many files differ from it (read-only git)."""
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "source: not a git checkout"
    return f"source: {head} + {len(dirty)} modified tracked file(s)"


def run_sweeps(
    args: argparse.Namespace, chunks: list[int], base: Path | None, url: str, work: Path
) -> list[tuple[int, dict[str, Any]]]:
    """For each chunk size: a fresh state, then the sweeps, each in a child process."""
    results: list[tuple[int, dict[str, Any]]] = []
    outbox = work / "outbox"
    config = work / "config.yaml"
    for i, chunk in enumerate(chunks):
        if base is not None:
            shutil.copyfile(base, work / "work.db")
        else:
            reset_state(url)
        shutil.rmtree(outbox, ignore_errors=True)
        write_config(config, chunk, args.send_batch, outbox, args.render_workers)
        if args.profile:
            if i == 0:
                r = run_child(args, config, "a", url, profile=args.profile)
                print(r.pop("profile_text"))
                results.append((chunk, r))
            continue
        for scenario in args.scenarios:
            if scenario in CLI_SCENARIOS:
                r = run_cli(args, config, scenario, url)
            else:
                r = run_child(args, config, scenario, url)
            results.append((chunk, r))
            print(
                f"  chunk {chunk} sweep {scenario}: {r['mode']} ({r['mode_reason']}), "
                f"{r['candidates']:,} candidates, {r['due']:,} due, {r['wall_s']:.2f} s wall"
                f"{' (new process, start-up included)' if scenario in CLI_SCENARIOS else ''}, "
                f"{r['cpu_s']:.2f} s CPU, ru_maxrss {r['peak_rss_mib']:.0f} MiB, "
                f"VmHWM {r['vm_hwm_mib']:.0f} MiB; abandoned.sql rows read "
                f"{r['shop_rows_read']:,}",
                flush=True,
            )
            reads = r["shop_reads"]
            if reads is None:
                continue
            per_file = ", ".join(
                f"{name} {n['queries']:,} queries / {n['rows']:,} rows"
                for name, n in reads["by_file"].items()
            )
            print(
                f"    read from the shop: {reads['queries']:,} queries, {reads['rows']:,} rows "
                f"({per_file})",
                flush=True,
            )
    return results


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--orders",
        default="1000000",
        help="abandoned orders (1000000); several comma-separated sizes (100000,1000000) run one "
        "after the other and end with their peak RSS side by side",
    )
    p.add_argument(
        "--due-fraction",
        type=float,
        default=None,
        help="fraction of the orders in the window at NOW (default: 100,000 / orders, at most 1)",
    )
    p.add_argument("--sink", choices=("null", "outbox"), default="null")
    p.add_argument("--url", help="load the shop into this database instead (DROPS its shop tables)")
    p.add_argument(
        "--chunk-size", default="500,2000", help="sweep.chunk_size values, comma-separated"
    )
    p.add_argument("--send-batch", type=int, default=20, help="sweep.send_batch (20)")
    p.add_argument(
        "--render-workers",
        type=int,
        default=None,
        help="sweep.render_workers (default: the configuration's default)",
    )
    p.add_argument("--scenarios", default="abhc", help="which sweeps to time (abhc), in order")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--rebuild", action="store_true", help="rebuild the cached SQLite shop")
    p.add_argument("--tracemalloc", action="store_true", help="also trace the Python heap peak")
    p.add_argument("--profile", help="cProfile sweep a (first chunk size only) into this file")
    p.add_argument("--json", help="also write every figure to this JSON file")
    p.add_argument("--child-config", help=argparse.SUPPRESS)
    p.add_argument("--child-scenario", help=argparse.SUPPRESS)
    p.add_argument("--child-build", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child_config:
        child(args)
        return
    sizes = [int(o) for o in str(args.orders).split(",") if o.strip()]
    if args.child_build:
        n = sizes[0]
        fraction = args.due_fraction if args.due_fraction is not None else min(1.0, 100_000 / n)
        print(json.dumps(build_shop(args.child_build, n, fraction, args.seed)))
        return
    peaks: list[tuple[int, list[tuple[int, dict[str, Any]]]]] = []
    for n in sizes:
        peaks.append((n, bench_size(args, n)))
    if len(sizes) > 1:
        print_memory(peaks)


def print_memory(peaks: list[tuple[int, list[tuple[int, dict[str, Any]]]]]) -> None:
    """Peak RSS of each sweep per shop size, and the change from the first size (issue 14,
    point 4: at most 64 MiB, flat within 15 %)."""
    print("\npeak RSS (ru_maxrss of the sweeping process) by shop size")
    print("| chunk | sweep | " + " | ".join(f"{n:,} orders MiB" for n, _ in peaks) + " | change |")
    print("|---|---|" + "---:|" * len(peaks) + "---:|")
    first = {(c, r["scenario"]): r["peak_rss_mib"] for c, r in peaks[0][1]}
    for chunk, r in peaks[0][1]:
        key = (chunk, r["scenario"])
        row = [
            next((x["peak_rss_mib"] for c, x in res if (c, x["scenario"]) == key), float("nan"))
            for _n, res in peaks
        ]
        change = 100 * (row[-1] - first[key]) / first[key]
        cells = " | ".join(f"{v:.0f}" for v in row)
        print(f"| {chunk} | {r['scenario']} | {cells} | {change:+.0f} % |")


def bench_size(args: argparse.Namespace, n: int) -> list[tuple[int, dict[str, Any]]]:
    """Build (or reuse) the shop of ``n`` orders and run the sweeps on it."""
    fraction = args.due_fraction if args.due_fraction is not None else min(1.0, 100_000 / n)
    chunks = [int(c) for c in args.chunk_size.split(",") if c.strip()]
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    print(
        f"cartnudge sweep bench: {n:,} abandoned orders, {fraction:g} in the window at NOW "
        f"({round(n * fraction):,}), sink {args.sink}, chunk sizes {chunks}, "
        f"send_batch {args.send_batch}"
    )
    print(
        f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()}"
    )
    import cartnudge

    package = Path(cartnudge.__file__).resolve().parent
    print(f"cartnudge from {package}; {_source_state(package.parent)}")

    if args.url:
        url = args.url
        print(f"loading the shop into {make_url(url).render_as_string(hide_password=True)} ...")
        info = build_in_child(args, url, fraction, n)
        base = None
    else:
        base = BENCH_DIR / f"shop-{n}-{fraction:g}-{args.seed}-{_schema_fingerprint()}.db"
        meta = base.with_suffix(".json")
        if args.rebuild or not (base.exists() and meta.exists()):
            # Built under a name of this process's own and renamed: concurrent runs never see
            # half a shop.
            temp = base.with_name(f"{base.stem}.{os.getpid()}.tmp")
            print(f"building {base} ...")
            info = build_in_child(args, f"sqlite:///{temp}", fraction, n)
            meta.write_text(json.dumps(info))
            os.replace(temp, base)
        else:
            info = json.loads(meta.read_text())
            print(f"reusing {base} (--rebuild to make a new one)")
            _add_missing_indexes(base)
    print(f"shop: {json.dumps(info)}")

    # This run's own copy of the shop, configuration and outbox: runs may overlap.
    work = BENCH_DIR / f"run-{os.getpid()}"
    work.mkdir(exist_ok=True)
    try:
        results = run_sweeps(args, chunks, base, args.url or f"sqlite:///{work / 'work.db'}", work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_results(results, args.tracemalloc)
    if args.json:
        out = Path(args.json)
        if len(str(args.orders).split(",")) > 1:
            out = out.with_name(f"{out.stem}-{n}{out.suffix}")
        out.write_text(json.dumps({"shop": info, "results": results}, indent=1))
    return results


if __name__ == "__main__":
    main()
