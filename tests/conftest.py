"""Shared fixtures: databases (SQLite always; PostgreSQL and MariaDB when their URLs are given),
a tiny shop builder, and configuration files.

Real-database tests are parametrised over ``backend``. PostgreSQL and MariaDB run when
CARTNUDGE_TEST_POSTGRES_URL / CARTNUDGE_TEST_MYSQL_URL are set (``.ci/run`` sets both) and are
skipped with a reason otherwise. With CARTNUDGE_REQUIRE_REAL_DBS=1 a missing URL is a failure,
so CI cannot pass without them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine, MetaData, make_url, text

from cartnudge.demo.schema import metadata as shop_metadata
from cartnudge.engines import build_engine
from cartnudge.state.schema import metadata as state_metadata
from tests.shop import ShopBuilder

# Hypothesis profiles: "ci" (CI=true) is bounded and derandomised so the whole suite stays within
# CI's time and fails the same way twice; "deep" searches far more (HYPOTHESIS_PROFILE=deep, for
# a local run after touching a property-tested module); "default" is Hypothesis's own.
# A test's own @settings(max_examples=...) still wins over the profile.
settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True, print_blob=True)
settings.register_profile(
    "deep", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") == "true" else "default")
)

TOKEN_ENV = "CARTNUDGE_TEST_TOKEN_KEYS"
TOKEN_KEYS = "test-signing-key-0123456789"

BACKENDS = {
    "sqlite": None,
    "postgres": "CARTNUDGE_TEST_POSTGRES_URL",
    "mysql": "CARTNUDGE_TEST_MYSQL_URL",
}


def backend_url(backend: str, tmp_path: Path) -> str:
    """The database URL for ``backend``, or skip (fail under CARTNUDGE_REQUIRE_REAL_DBS)."""
    env = BACKENDS[backend]
    if env is None:
        return f"sqlite:///{tmp_path / 'shop.db'}"
    url = os.environ.get(env)
    if not url:
        message = f"{backend}: set {env} to run against a real server (.ci/run does)"
        if os.environ.get("CARTNUDGE_REQUIRE_REAL_DBS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return worker_database(url)


_CREATED: dict[str, str] = {}


def worker_database(url: str) -> str:
    """Under pytest-xdist (``make test`` runs two workers), each worker gets a database of its
    own beside the given one (``<name>_gw0``, created when missing), so that workers never
    drop each other's tables; without xdist, the URL as given."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    if url in _CREATED:
        return _CREATED[url]
    parsed = make_url(url)
    name = f"{parsed.database}_{worker}"
    admin = build_engine(url)
    try:
        with admin.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                exists = conn.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
                ).first()
                if not exists:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
                # What .ci/run sets on its own database: commits need not wait for the disk.
                conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
            else:
                conn.execute(text(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4"))
    finally:
        admin.dispose()
    _CREATED[url] = parsed.set(database=name).render_as_string(hide_password=False)
    return _CREATED[url]


def reset_database(engine: Engine) -> None:
    """Drop every table the shop and cartnudge use, so each test starts from nothing."""
    with engine.begin() as conn:
        if conn.dialect.name == "mysql":
            conn.execute(text("SET FOREIGN_KEY_CHECKS=0"))
        reflected = MetaData()
        reflected.reflect(conn)
        ours = (
            set(shop_metadata.tables) | set(state_metadata.tables) | {"cartnudge_alembic_version"}
        )
        for table in reversed(reflected.sorted_tables):
            if table.name in ours:
                table.drop(conn)
        if conn.dialect.name == "mysql":
            conn.execute(text("SET FOREIGN_KEY_CHECKS=1"))


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ]
)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def clean_database(backend: str, tmp_path: Path) -> str:
    """The URL of ``backend``'s test database with none of the shop's or cartnudge's tables
    (for a test that needs a fresh one per Hypothesis example, where fixtures run once)."""
    url = backend_url(backend, tmp_path)
    engine = build_engine(url)
    try:
        reset_database(engine)
    finally:
        engine.dispose()
    return url


@pytest.fixture
def db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A clean database of each backend (the shop and cartnudge's tables live together)."""
    yield clean_database(backend, tmp_path)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'shop.db'}"


@pytest.fixture
def shop(db_url: str) -> Iterator[ShopBuilder]:
    builder = ShopBuilder.create(db_url)
    yield builder
    builder.dispose()


@pytest.fixture
def sqlite_shop(sqlite_url: str) -> Iterator[ShopBuilder]:
    builder = ShopBuilder.create(sqlite_url)
    yield builder
    builder.dispose()


@pytest.fixture(autouse=True)
def token_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN_KEYS)


def base_config(db_url: str, tmp_path: Path) -> dict:
    """A complete, valid configuration for tests, as a dict to tweak before writing."""
    return {
        "timezone": "Asia/Tokyo",
        "shop": {"url": db_url, "cart_ttl": 1440},
        "sender": {
            "name": "テスト商店",
            "email": "shop@example.jp",
            "postal_address": "東京都千代田区1-1",
            "contact": "03-0000-0000",
        },
        "flows": {"confirm": {"enabled": True, "target": "all", "delay": "3h"}},
        "email": {"transport": "outbox", "outbox_dir": str(tmp_path / "outbox")},
        "recovery": {"keys_env": TOKEN_ENV},
        "sweep": {"chunk_size": 50, "send_batch": 5},
    }


def write_config(tmp_path: Path, data: dict, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def config_data(shop: ShopBuilder, tmp_path: Path) -> dict:
    return base_config(shop.url, tmp_path)


@pytest.fixture(autouse=True)
def no_log_destination_from_an_earlier_test() -> Iterator[None]:
    """``--log-file``/``--syslog`` are remembered by cartnudge.logs for the rest of the process
    (a later ``-v`` keeps them): start each test without an earlier test's, so its CLI calls do
    not open that test's log file (a leaked file handle, a ResourceWarning under -W error)."""
    from cartnudge import logs

    destination = getattr(logs, "_destination", None)
    saved = dict(destination) if destination is not None else None
    if destination is not None:
        destination.update(log_file=None, syslog=False)
    yield
    if destination is not None and saved is not None:
        destination.clear()
        destination.update(saved)
