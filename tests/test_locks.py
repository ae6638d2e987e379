"""Every wait on a lock is bounded (issue 10, point 8): a sweep blocked by a lock on
cartnudge's tables gives up after ``state.lock_timeout`` with one line and exit 4, on the three
databases, instead of waiting forever while cron runs pile up."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from cartnudge.cli import main
from cartnudge.engines import build_engine
from tests.conftest import base_config, write_config
from tests.shop import ShopBuilder

NOW = datetime(2026, 11, 22, 12, 0)


@pytest.fixture(autouse=True)
def restore_cartnudge_logger() -> Iterator[None]:
    logger = logging.getLogger("cartnudge")
    handlers, level, propagate = logger.handlers[:], logger.level, logger.propagate
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
    logger.propagate = propagate


def test_a_sweep_blocked_by_a_lock_gives_up_with_one_line_and_exit_4(
    shop: ShopBuilder, backend: str, tmp_path: Path
) -> None:
    shop.abandoned(NOW - timedelta(hours=4), email="hanako@example.jp")
    data = base_config(shop.url, tmp_path)
    data["state"] = {"lock_timeout": "1s"}
    path = write_config(tmp_path, data)
    holder = build_engine(shop.url)
    raw = None
    conn = None
    try:
        if backend == "sqlite":
            raw = sqlite3.connect(shop.url.removeprefix("sqlite:///"), isolation_level=None)
            raw.execute("BEGIN EXCLUSIVE")
        else:
            conn = holder.connect()
            if backend == "postgres":
                conn.execute(text("BEGIN"))
                conn.execute(text("LOCK TABLE cartnudge_deliveries IN ACCESS EXCLUSIVE MODE"))
            else:
                conn.execute(text("LOCK TABLES cartnudge_deliveries WRITE"))
        started = time.monotonic()
        result = CliRunner().invoke(
            main, ["sweep", "--config", str(path), "--now", "2026-11-22T21:00", "--quiet"]
        )
        waited = time.monotonic() - started
    finally:
        if raw is not None:
            raw.execute("ROLLBACK")
            raw.close()
        if conn is not None:
            if backend == "mysql":
                conn.execute(text("UNLOCK TABLES"))
            conn.close()
        holder.dispose()
    assert result.exit_code == 4, result.output
    assert result.stderr.startswith("cartnudge: error: ")
    assert result.stderr.count("\n") == 1
    assert "lock" in result.stderr.lower()
    assert waited < 20
