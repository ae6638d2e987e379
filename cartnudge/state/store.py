"""The plumbing every state module shares: migrations, and a ``Store`` base that runs reads and
writes in transactions and turns database errors into one-line ``DatabaseError``s.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from cartnudge.engines import RELAXED
from cartnudge.errors import DatabaseError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

T = TypeVar("T")

# Alembic is imported by the functions that migrate or read the schema's revision, not here:
# a sweep never needs it, and importing it costs a tenth of a second at every start.


def _alembic_config(connection: Any) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", "cartnudge.state:migrations")
    cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: Engine) -> str:
    """Create or upgrade cartnudge's tables to the newest revision; return that revision."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    try:
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "head")
            return (
                MigrationContext.configure(
                    conn, opts={"version_table": VERSION_TABLE}
                ).get_current_revision()
                or ""
            )
    except SQLAlchemyError as exc:
        raise DatabaseError(f"init-db: {_first_line(exc)}") from None


VERSION_TABLE = "cartnudge_alembic_version"  # never clashes with the shop's own Alembic
_MIGRATIONS = Path(__file__).resolve().parent / "migrations" / "versions"
_REVISION_LINE = re.compile(r"""^(down_revision|revision)\s*=\s*(?:None|["']([^"']+)["'])""", re.M)


@cache
def head_revision() -> str:
    """The newest migration shipped, read from the ``revision = "..."`` and
    ``down_revision = "..."`` lines of the migration files. Alembic is not imported for it: its
    import and script loading cost about 0.2 s at every sweep's start. A test keeps this equal
    to Alembic's own answer; when the files do not make one line of revisions, Alembic decides.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in _MIGRATIONS.glob("*.py"):
        found = dict(m.groups() for m in _REVISION_LINE.finditer(path.read_text(encoding="utf-8")))
        if found.get("revision"):
            revisions.add(found["revision"])
            if found.get("down_revision"):
                parents.add(found["down_revision"])
    heads = revisions - parents
    if len(heads) == 1 and parents <= revisions:
        return heads.pop()
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config(None)).get_current_head() or ""


def schema_revision(engine: Engine) -> tuple[str | None, str]:
    """(current revision in the database, newest revision shipped). The current one is read
    from Alembic's version table with one plain query; ``None`` without cartnudge tables."""
    from sqlalchemy import inspect, text

    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return None, head_revision()
        rows = [r[0] for r in conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))]
    if len(rows) > 1:
        raise DatabaseError(f"state database: {VERSION_TABLE} holds several revisions: {rows}")
    return (rows[0] if rows else None), head_revision()


def _first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


def _transient(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    # A deadlock or a serialisation failure is worth an immediate retry. A lock *timeout* is
    # not: the wait was already bounded by state.lock_timeout, so it ends the run (exit 4).
    return any(marker in text for marker in ("deadlock", "could not serialize"))


def _lock_hint(exc: DBAPIError) -> str:
    text = str(exc.orig).lower()
    if any(m in text for m in ("lock timeout", "lock wait timeout", "database is locked")):
        return (
            " (gave up after state.lock_timeout: another process holds a lock on "
            "cartnudge's tables)"
        )
    return ""


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

    def _write(self, what: str, fn: Callable[[Any], T], *, durable: bool = True) -> T:
        """Run ``fn(conn)`` in one transaction, retrying lock conflicts a few times.

        ``durable=False`` is for the sweep's writes whose loss in a power cut is harmless or
        reported (claims, skips, outcomes: README, "Delivery guarantees"): on an SQLite state
        in WAL mode they commit without waiting for the disk (synchronous=NORMAL), and the next
        durable commit (the next batch's ``sending`` mark) makes them durable too. Every other
        write, on every database, waits for the disk."""
        engine = self.engine if durable else self._relaxed_engine()
        for attempt in range(6):
            try:
                with engine.begin() as conn:
                    return fn(conn)
            except OperationalError as exc:
                if not _transient(exc) or attempt == 5:
                    raise DatabaseError(
                        f"state database, {what}: {_first_line(exc)}{_lock_hint(exc)}"
                    ) from None
                time.sleep(0.05 * 2**attempt)
            except SQLAlchemyError as exc:
                raise DatabaseError(f"state database, {what}: {_first_line(exc)}") from None
        raise AssertionError("unreachable")

    def _relaxed_engine(self) -> Engine:
        """``self.engine`` with the RELAXED execution option, made once per engine."""
        made = self.__dict__.get("_relaxed")
        if made is None or made[0] is not self.engine:
            made = self.__dict__["_relaxed"] = (
                self.engine,
                self.engine.execution_options(**{RELAXED: True}),
            )
        return made[1]

    def _read(self, what: str, fn: Callable[[Any], T]) -> T:
        try:
            with self.engine.connect() as conn:
                return fn(conn)
        except DBAPIError as exc:
            raise DatabaseError(
                f"state database, {what}: {_first_line(exc)}{_lock_hint(exc)}"
            ) from None
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
