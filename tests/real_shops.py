"""Load the real shop schemas of ``contrib/shops/`` (published DDL subsets and seed rows) into a
database, for tests that read a shop cartnudge did not design.

``load_shop(engine, "eccube4")`` (PostgreSQL) or ``load_shop(engine, "magento2")`` (MariaDB /
MySQL) drops the shop's tables, then runs its schema file and its seed file statement by
statement on one connection (the Magento seed sets session variables the later inserts rely on).
Each shop's README.md says what the seed holds and its reference time (``REFERENCE_NOW``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

SHOPS_DIR = Path(__file__).resolve().parent.parent / "contrib" / "shops"

# The "now" the seeds are written around: 2026-11-20 21:00 JST = 12:00 UTC.
REFERENCE_NOW = datetime(2026, 11, 20, 21, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


@dataclass(frozen=True)
class Shop:
    name: str
    dialect: str  # SQLAlchemy dialect name the DDL is written for
    schema: str
    seed: str = "seed.sql"

    @property
    def folder(self) -> Path:
        return SHOPS_DIR / self.name


SHOPS = {
    "eccube4": Shop("eccube4", "postgresql", "schema.postgresql.sql"),
    "magento2": Shop("magento2", "mysql", "schema.mariadb.sql"),
}


def split_statements(sql: str) -> list[str]:
    """The statements of an SQL script, without comments, split on top-level semicolons.

    Semicolons inside '...' strings (with '' and backslash escapes: MySQL's default; the
    PostgreSQL files have no backslash, which would be a plain character there), "..." and `...`
    identifiers, -- line comments and /* */ block comments do not split. Dollar-quoted
    PostgreSQL bodies are not supported (the shop files have none): one raises ValueError.
    """
    statements: list[str] = []
    current: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end == -1 else end + 1
            current.append("\n")
        elif ch == "/" and sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            if end == -1:
                raise ValueError("unterminated /* comment")
            i = end + 2
            current.append(" ")
        elif ch in "'\"`":
            j = i + 1
            while True:
                if j >= n:
                    raise ValueError(f"unterminated {ch} quote starting at offset {i}")
                if ch == "'" and sql[j] == "\\":
                    j += 2
                    continue
                if sql[j] == ch:
                    if j + 1 < n and sql[j + 1] == ch:  # doubled quote
                        j += 2
                        continue
                    break
                j += 1
            current.append(sql[i : j + 1])
            i = j + 1
        elif ch == "$" and re.match(r"\$\w*\$", sql[i:]):
            raise ValueError("dollar-quoted strings are not supported")
        elif ch == ";":
            statement = "".join(current).strip()
            if statement:
                statements.append(statement)
            current = []
            i += 1
        else:
            current.append(ch)
            i += 1
    tail = "".join(current).strip()
    if tail:
        statements.append(tail)
    return statements


def shop_tables(name: str) -> list[str]:
    """The tables the shop's schema file creates, in creation order."""
    shop = SHOPS[name]
    script = (shop.folder / shop.schema).read_text(encoding="utf-8")
    return [
        m.group(1)
        for statement in split_statements(script)
        if (m := re.match(r"CREATE\s+TABLE\s+(\w+)", statement, re.IGNORECASE))
    ]


def _check_dialect(engine: Engine, shop: Shop) -> None:
    if engine.dialect.name != shop.dialect:
        raise ValueError(f"{shop.name} is written for {shop.dialect}, not {engine.dialect.name}")


def drop_shop(engine: Engine, name: str) -> None:
    """Drop the shop's tables (only those its schema file creates)."""
    shop = SHOPS[name]
    _check_dialect(engine, shop)
    with engine.begin() as conn:
        cursor = conn.connection.cursor()
        try:
            if shop.dialect == "mysql":
                cursor.execute("SET FOREIGN_KEY_CHECKS=0")
            for table in reversed(shop_tables(name)):
                suffix = " CASCADE" if shop.dialect == "postgresql" else ""
                cursor.execute(f"DROP TABLE IF EXISTS {table}{suffix}")
            if shop.dialect == "mysql":
                cursor.execute("SET FOREIGN_KEY_CHECKS=1")
        finally:
            cursor.close()


def load_shop(engine: Engine, name: str) -> None:
    """Drop the shop's tables, then create them and insert the seed rows.

    Statements go to the driver's own cursor without parameters, so nothing in them is taken
    for a placeholder; schema and seed run on one connection and are committed together (on
    MySQL each DDL statement commits by itself, and the session's time_zone and sql_mode, which
    the Magento seed sets, are put back afterwards).
    """
    shop = SHOPS[name]
    _check_dialect(engine, shop)
    drop_shop(engine, name)
    scripts = [shop.folder / shop.schema, shop.folder / shop.seed]
    with engine.begin() as conn:
        cursor = conn.connection.cursor()
        try:
            saved = None
            if shop.dialect == "mysql":  # the seed sets time_zone and sql_mode for its session
                cursor.execute("SELECT @@SESSION.time_zone, @@SESSION.sql_mode")
                saved = cursor.fetchone()
            for script in scripts:
                for statement in split_statements(script.read_text(encoding="utf-8")):
                    cursor.execute(statement)
            if saved is not None:  # leave the pooled connection as it was
                cursor.execute("SET SESSION time_zone = %s, SESSION sql_mode = %s", saved)
        finally:
            cursor.close()
