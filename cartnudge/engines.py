"""Build SQLAlchemy engines from configured URLs, with the settings each database needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

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


def build_engine(
    url: str, *, writer: bool = False, key: str = "shop.url", must_exist: bool = False
) -> Engine:
    """An engine for ``url``. ``writer`` engines on SQLite take the write lock at BEGIN
    (``BEGIN IMMEDIATE``), so concurrent sweeps queue instead of failing mid-transaction.

    With ``must_exist``, an SQLite URL naming a file that does not exist raises DatabaseError
    (SQLite would silently create an empty database: a mistyped path must not look like an
    empty shop)."""
    url = _normalise(url)
    kwargs: dict[str, Any] = {"future": True}
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"{key}: not a database URL ({redact(url)})") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        kwargs["connect_args"] = {"timeout": 60}
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
    if backend == "mysql":
        kwargs.setdefault("connect_args", {})["charset"] = "utf8mb4"
    try:
        engine = create_engine(url, **kwargs)
    except NoSuchModuleError:
        raise ConfigError(f"{key}: no driver for {backend} ({redact(url)})") from None
    except ModuleNotFoundError as exc:
        hint = _DRIVER_HINT.get(backend, "its driver")
        raise ConfigError(f"{key}: driver {exc.name} is not installed; install {hint}") from None
    if backend == "sqlite":
        _sqlite_transactions(engine, immediate=writer)
    return engine


def _sqlite_transactions(engine: Engine, *, immediate: bool) -> None:
    # pysqlite's own transaction handling defers BEGIN; take control so BEGIN is explicit.
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        dbapi_conn.execute("PRAGMA foreign_keys=ON")

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
