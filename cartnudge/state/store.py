"""The plumbing every state module shares: migrations, and a ``Store`` base that runs reads and
writes in transactions and turns database errors into one-line ``DatabaseError``s.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from cartnudge.errors import DatabaseError

T = TypeVar("T")


def _alembic_config(connection: Any) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", "cartnudge.state:migrations")
    cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: Engine) -> str:
    """Create or upgrade cartnudge's tables to the newest revision; return that revision."""
    try:
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "head")
            return (
                MigrationContext.configure(
                    conn, opts={"version_table": "cartnudge_alembic_version"}
                ).get_current_revision()
                or ""
            )
    except SQLAlchemyError as exc:
        raise DatabaseError(f"init-db: {_first_line(exc)}") from None


def schema_revision(engine: Engine) -> tuple[str | None, str]:
    """(current revision in the database, newest revision shipped)."""
    script = ScriptDirectory.from_config(_alembic_config(None))
    with engine.connect() as conn:
        current = MigrationContext.configure(
            conn, opts={"version_table": "cartnudge_alembic_version"}
        ).get_current_revision()
    return current, script.get_current_head() or ""


def _first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


def _transient(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return any(
        marker in text
        for marker in ("deadlock", "database is locked", "lock wait timeout", "could not serialize")
    )


def row_of(record: Any, **more: Any) -> dict[str, Any]:
    """A dataclass record as a row to insert: its fields (named as the columns) plus ``more``."""
    row = {name: getattr(record, name) for name in _field_names(type(record))}
    row.update(more)
    return row


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def _insert_ignoring_conflicts(conn: Any, table: Any) -> Any:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing()
    if dialect in ("mysql", "mariadb"):
        return table.insert().prefix_with("IGNORE")
    raise DatabaseError(f"state database: {dialect} is not supported")


class Store:
    """A view of cartnudge's tables over one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _write(self, what: str, fn: Callable[[Any], T]) -> T:
        """Run ``fn(conn)`` in one transaction, retrying lock conflicts a few times."""
        for attempt in range(6):
            try:
                with self.engine.begin() as conn:
                    return fn(conn)
            except OperationalError as exc:
                if not _transient(exc) or attempt == 5:
                    raise DatabaseError(f"state database, {what}: {_first_line(exc)}") from None
                time.sleep(0.05 * 2**attempt)
            except SQLAlchemyError as exc:
                raise DatabaseError(f"state database, {what}: {_first_line(exc)}") from None
        raise AssertionError("unreachable")

    def _read(self, what: str, fn: Callable[[Any], T]) -> T:
        try:
            with self.engine.connect() as conn:
                return fn(conn)
        except SQLAlchemyError as exc:
            raise DatabaseError(f"state database, {what}: {_first_line(exc)}") from None

    def ensure_ready(self) -> None:
        try:
            current, head = schema_revision(self.engine)
        except SQLAlchemyError as exc:
            raise DatabaseError(f"state database: {_first_line(exc)}") from None
        if current != head:
            found = current or "no cartnudge tables"
            raise DatabaseError(
                f"state database is at {found}, needs {head}: run 'cartnudge init-db'"
            )
