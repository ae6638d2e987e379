"""Build SQLAlchemy engines from configured URLs, with the settings each database needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from cartnudge.core.buckets import bucket_hash
from cartnudge.errors import ConfigError, DatabaseError

# Extras the operator installs for each database (README, "Databases").
_DRIVER_HINT = {"postgresql": "cartnudge[postgres]", "mysql": "cartnudge[mysql]"}


def _normalise(url: str) -> str:
    # Plain scheme names pick the drivers cartnudge is tested with.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("mysql://") or url.startswith("mariadb://"):
        return "mysql+pymysql://" + url.split("://", 1)[1]
    return url


def redact(url: str) -> str:
    """The URL as it may appear in logs and errors: never with its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


DEFAULT_LOCK_TIMEOUT = 30.0  # seconds; well under any cron interval


def build_engine(
    url: str,
    *,
    writer: bool = False,
    key: str = "shop.url",
    must_exist: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    shop_tz: str | None = None,
) -> Engine:
    """An engine for ``url``. ``writer`` engines on SQLite take the write lock at BEGIN
    (``BEGIN IMMEDIATE``), so concurrent sweeps queue instead of failing mid-transaction.

    Every wait on a lock is bounded by ``lock_timeout`` seconds on the three databases (SQLite's
    busy timeout, PostgreSQL's ``lock_timeout``, MariaDB/MySQL's ``innodb_lock_wait_timeout``
    and ``lock_wait_timeout``): a sweep blocked by a lock gives up with one line and exit 4
    instead of piling up behind it, cron run after cron run.

    With ``must_exist``, an SQLite URL naming a file that does not exist raises DatabaseError
    (SQLite would silently create an empty database: a mistyped path must not look like an
    empty shop).

    ``shop_tz`` (the shop engine's ``shop.timestamps_timezone``) makes a shop readable whatever
    its rows hold: on PostgreSQL each session's ``TimeZone`` is set to it, so naive bind
    parameters compare correctly with ``timestamptz`` columns, and ``infinity`` or BC
    timestamps come back as text (the reader skips such rows) instead of failing the query;
    on SQLite text that is not valid UTF-8 comes back with its bytes escaped (the reader
    refuses it for that row) instead of failing the page."""
    url = _normalise(url)
    kwargs: dict[str, Any] = {"future": True}
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"{key}: not a database URL ({redact(url)})") from None
    backend = parsed.get_backend_name()
    wait = max(1, int(round(lock_timeout)))
    if backend == "sqlite":
        kwargs["connect_args"] = {
            "timeout": lock_timeout,
            "cached_statements": SQLITE_CACHED_STATEMENTS,
        }
        database = parsed.database or ""
        memory = database in ("", ":memory:") or "mode=memory" in url
        local = not memory and not database.startswith("file:")
        if must_exist and local and not Path(database).is_file():
            raise DatabaseError(
                f"{key}: the SQLite file {database} does not exist (check the path; "
                "cartnudge never creates a shop database)"
            )
    else:
        kwargs["pool_pre_ping"] = True
    if backend == "postgresql":
        kwargs["connect_args"] = {"options": f"-c lock_timeout={wait * 1000}"}
    if backend == "mysql":
        kwargs["connect_args"] = {
            "charset": "utf8mb4",
            "init_command": (
                f"SET SESSION innodb_lock_wait_timeout={wait}, lock_wait_timeout={wait}"
            ),
        }
    try:
        engine = create_engine(url, **kwargs)
    except NoSuchModuleError:
        raise ConfigError(f"{key}: no driver for {backend} ({redact(url)})") from None
    except ModuleNotFoundError as exc:
        hint = _DRIVER_HINT.get(backend, "its driver")
        raise ConfigError(f"{key}: driver {exc.name} is not installed; install {hint}") from None
    if backend == "sqlite":
        _sqlite_transactions(engine, immediate=writer)
    if shop_tz is not None:
        _tolerant_reads(engine, backend, shop_tz)
    return engine


def _tolerant_reads(engine: Engine, backend: str, shop_tz: str) -> None:
    if backend == "sqlite":

        @event.listens_for(engine, "connect")
        def _text(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.text_factory = lambda b: b.decode("utf-8", "surrogateescape")

    elif backend == "postgresql":
        loaders = _psycopg_loaders()

        @event.listens_for(engine, "connect")
        def _zone(dbapi_conn: Any, _record: Any) -> None:
            for type_name, loader in loaders.items():
                dbapi_conn.adapters.register_loader(type_name, loader)
            with dbapi_conn.cursor() as cur:
                cur.execute("SELECT set_config('TimeZone', %s, false)", [shop_tz])
            dbapi_conn.commit()


def _psycopg_loaders() -> dict[str, type]:
    """Timestamp loaders that give the server's text for values Python cannot hold."""
    import psycopg
    from psycopg.types.datetime import DateLoader, TimestampLoader, TimestamptzLoader

    def tolerant(base: type) -> type:
        class Tolerant(base):  # type: ignore[misc, valid-type]
            def load(self, data: Any) -> Any:
                try:
                    return super().load(data)
                except psycopg.DataError:
                    return bytes(data).decode("utf-8", "replace")

        return Tolerant

    return {
        "timestamp": tolerant(TimestampLoader),
        "timestamptz": tolerant(TimestamptzLoader),
        "date": tolerant(DateLoader),
    }


# Execution option of a state write whose loss in a power cut is harmless or reported (README,
# "Delivery guarantees"): committed without waiting for the disk (WAL, synchronous=NORMAL).
# Every other transaction on a writer engine waits for the disk (synchronous=FULL).
RELAXED = "cartnudge_relaxed_sync"
# Prepared statements the sqlite3 module keeps per connection (its default is 128). A sweep's
# page queries carry IN lists of hundreds of values, each length a statement of its own of tens
# of kilobytes: 128 of them held 12 MiB of a 10,000-reminder sweep's 18 MiB of growth
# (docs/performance.md). The statements run per batch (the sending mark, the outcomes, BEGIN
# and the sync pragmas) still fit.
SQLITE_CACHED_STATEMENTS = 16


def _sqlite_transactions(engine: Engine, *, immediate: bool) -> None:
    # pysqlite's own transaction handling defers BEGIN; take control so BEGIN is explicit.
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, record: Any) -> None:
        dbapi_conn.isolation_level = None
        dbapi_conn.execute("PRAGMA foreign_keys=ON")
        # The bucket hash of several sweepers (cartnudge.shop.contract.BUCKET_HASH).
        dbapi_conn.create_function("cartnudge_bucket", 1, bucket_hash, deterministic=True)
        if immediate:
            record.info["wal"] = _write_ahead_log(dbapi_conn)

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        if immediate and conn.info.get("wal"):
            # The safety level is per transaction (it cannot change inside one): FULL fsyncs
            # the log at COMMIT, and with it every transaction committed before.
            relaxed = conn.get_execution_options().get(RELAXED, False)
            conn.exec_driver_sql(f"PRAGMA synchronous={'NORMAL' if relaxed else 'FULL'}")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _write_ahead_log(dbapi_conn: Any) -> bool:
    """Put a state database file in WAL mode (a persistent property of the file); True when it
    is. An in-memory database, or a file another process holds locked past the busy timeout,
    keeps its journal mode, and every commit stays synchronous=FULL."""
    import sqlite3

    try:
        row = dbapi_conn.execute("PRAGMA journal_mode=WAL").fetchone()
    except sqlite3.OperationalError:
        return False
    return bool(row) and str(row[0]).lower() == "wal"
