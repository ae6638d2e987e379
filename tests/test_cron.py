"""A cron citizen: healthcheck pings, a Prometheus textfile, --json also on errors, log lines
with time and level (stderr, --log-file), -v and --config before or after the subcommand, a
randomised start delay, and a --now in the future refused."""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cartnudge.cli import main
from cartnudge.config import BUNDLED_SQL_DIR
from tests.conftest import base_config, write_config
from tests.http_server import HttpServer, Reply, free_port
from tests.shop import ShopBuilder

NOW = datetime(2026, 11, 22, 12, 0)
NOW_ARG = "2026-11-22T21:00"
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (INFO|WARNING|ERROR|DEBUG) cartnudge: ")


@pytest.fixture(autouse=True)
def restore_cartnudge_logger() -> Iterator[None]:
    logger = logging.getLogger("cartnudge")
    handlers, level, propagate = logger.handlers[:], logger.level, logger.propagate
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
    logger.propagate = propagate


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def config(tmp_path: Path, shop: ShopBuilder, **top: object) -> Path:
    data = base_config(shop.url, tmp_path)
    data.update(top)
    return write_config(tmp_path, data)


def one_due(shop: ShopBuilder) -> None:
    shop.abandoned(NOW - timedelta(hours=4))


# -- healthcheck pings -------------------------------------------------------------------------


def test_a_sweep_pings_start_and_success(sqlite_shop: ShopBuilder, tmp_path: Path) -> None:
    one_due(sqlite_shop)
    with HttpServer(Reply(200, body="OK")) as server:
        path = config(tmp_path, sqlite_shop, healthcheck={"url": f"{server.url}/ping/abc"})
        result = invoke("sweep", "--config", str(path), "--now", NOW_ARG, "--quiet")
    assert result.exit_code == 0, result.stderr
    assert [(r.method, r.path) for r in server.requests] == [
        ("POST", "/ping/abc/start"),
        ("POST", "/ping/abc"),
    ]


def test_a_failed_sweep_pings_its_exit_code_with_the_log_tail(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    shutil.copytree(BUNDLED_SQL_DIR, tmp_path / "sql")
    broken = (tmp_path / "sql" / "abandoned.sql").read_text().replace("FROM", "FROM nowhere,", 1)
    (tmp_path / "sql" / "abandoned.sql").write_text(broken)
    with HttpServer(Reply(200, body="OK")) as server:
        data = base_config(sqlite_shop.url, tmp_path)
        data["shop"]["sql_dir"] = str(tmp_path / "sql")
        data["healthcheck"] = {"url": f"{server.url}/p"}
        path = write_config(tmp_path, data)
        result = invoke("sweep", "--config", str(path), "--now", NOW_ARG, "--quiet")
    assert result.exit_code not in (0, 2)
    paths = [r.path for r in server.requests]
    assert paths[-1] == f"/p/{result.exit_code}"
    assert b"cartnudge: error:" in server.requests[-1].body


def test_a_dry_run_pings_nothing(sqlite_shop: ShopBuilder, tmp_path: Path) -> None:
    with HttpServer() as server:
        path = config(tmp_path, sqlite_shop, healthcheck={"url": server.url})
        result = invoke("sweep", "--config", str(path), "--now", NOW_ARG, "--dry-run", "--quiet")
    assert result.exit_code == 0
    assert server.requests == []


def test_an_unreachable_healthcheck_never_fails_the_job(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    one_due(sqlite_shop)
    url = f"http://127.0.0.1:{free_port()}/ping"
    path = config(tmp_path, sqlite_shop, healthcheck={"url": url, "timeout": 2})
    result = invoke("sweep", "--config", str(path), "--now", NOW_ARG, "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["sent"] == 1
    assert "healthcheck ping /start failed: ConnectError" in result.stderr


# -- metrics, --json on errors -------------------------------------------------------------------


def test_the_metrics_file_has_the_summarys_counters_and_the_duration(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    one_due(sqlite_shop)
    path = config(tmp_path, sqlite_shop)
    prom = tmp_path / "cartnudge.prom"
    result = invoke(
        "sweep", "--config", str(path), "--now", NOW_ARG, "-q", "--metrics-file", str(prom)
    )
    assert result.exit_code == 0
    text = prom.read_text()
    assert "cartnudge_sweep_exit_code 0\n" in text
    assert "cartnudge_sweep_sent 1\n" in text
    assert re.search(r"^cartnudge_sweep_duration_seconds \d+\.\d{3}$", text, re.M)
    assert 'cartnudge_sweep_flow{flow="confirm",what="sent"} 1' in text
    assert list(tmp_path.glob(".cartnudge.prom.*")) == []  # no temporary file left
    # Every sample line is "name{labels} number" (the textfile collector's format).
    samples = [line for line in text.splitlines() if not line.startswith("#")]
    assert all(re.fullmatch(r"[a-z_]+(\{[^}]*\})? -?\d+(\.\d+)?", s) for s in samples)


def test_a_failed_sweep_still_writes_its_exit_code_to_the_metrics_file(tmp_path: Path) -> None:
    prom = tmp_path / "m.prom"
    missing = tmp_path / "nope.yaml"
    result = invoke("sweep", "--config", str(missing), "--json", "--metrics-file", str(prom))
    assert result.exit_code == 3
    assert json.loads(result.stdout) == {
        "status": "error",
        "exit_code": 3,
        "error": f"{missing}: cannot read the configuration (No such file or directory)",
    }
    assert "cartnudge_sweep_exit_code 3\n" in prom.read_text()


# -- logs, -v and --config on either side --------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["-v", "--config", "{config}", "sweep"],
        ["sweep", "--config", "{config}", "-v"],
        ["--config", "{config}", "sweep", "-v"],
        ["-v", "sweep", "--config", "{config}"],
    ],
    ids=["both-before", "both-after", "config-before", "v-before"],
)
def test_config_and_v_work_before_and_after_the_subcommand(
    sqlite_shop: ShopBuilder, tmp_path: Path, args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CARTNUDGE_CONFIG", raising=False)
    one_due(sqlite_shop)
    path = config(tmp_path, sqlite_shop)
    argv = [a.replace("{config}", str(path)) for a in args] + ["--now", NOW_ARG, "--quiet"]
    result = invoke(*argv)
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines and all(LOG_LINE.match(line) for line in lines), result.stderr
    assert any("page 1: 1 orders read, 1 due" in line for line in lines)
    assert any("email channel opened" in line for line in lines)
    assert any("email batch of 1: sent 1" in line for line in lines)


def test_the_subcommands_config_wins_over_the_groups(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    path = config(tmp_path, sqlite_shop)
    result = invoke(
        "--config", str(tmp_path / "other.yaml"), "check", "--offline", "--config", str(path)
    )
    assert result.exit_code == 0, result.stderr


def test_log_lines_go_to_the_log_file(sqlite_shop: ShopBuilder, tmp_path: Path) -> None:
    one_due(sqlite_shop)
    path = config(tmp_path, sqlite_shop)
    log_file = tmp_path / "cartnudge.log"
    result = invoke(
        "-v", "--log-file", str(log_file), "sweep", "--config", str(path), "--now", NOW_ARG, "-q"
    )
    logging.getLogger("cartnudge").handlers[0].close()
    assert result.exit_code == 0
    assert result.stderr == ""
    lines = log_file.read_text().splitlines()
    assert lines and all(LOG_LINE.match(line) for line in lines)


# -- refusing the future, spreading the start ----------------------------------------------------


def test_a_sweep_in_the_future_is_refused_without_dry_run_or_force(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    tomorrow = datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0) + timedelta(days=1)
    sqlite_shop.abandoned(tomorrow - timedelta(hours=4))
    path = config(tmp_path, sqlite_shop)
    future = tomorrow.strftime("%Y-%m-%dT%H:%MZ")
    refused = invoke("sweep", "--config", str(path), "--now", future)
    assert refused.exit_code == 2
    assert "is in the future" in refused.stderr
    assert invoke("sweep", "--config", str(path), "--now", future, "--dry-run", "-q").exit_code == 0
    forced = invoke("sweep", "--config", str(path), "--now", future, "--force", "--json")
    assert (forced.exit_code, json.loads(forced.stdout)["sent"]) == (0, 1)


def test_the_random_delay_waits_up_to_the_given_time(
    sqlite_shop: ShopBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    waited: list[float] = []
    monkeypatch.setattr("cartnudge.cli.sweep.random.uniform", lambda a, b: (a + b) / 2)
    monkeypatch.setattr("cartnudge.cli.sweep.time.sleep", waited.append)
    path = config(tmp_path, sqlite_shop)
    result = invoke("sweep", "--config", str(path), "--now", NOW_ARG, "-q", "--random-delay", "5m")
    assert result.exit_code == 0
    assert waited == [150.0]


# -- refusing a mistyped SQLite path ------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["sweep", "--now", NOW_ARG],
        ["sweep", "--dry-run", "--now", NOW_ARG],
        ["init-db"],
        ["check", "--offline"],
        ["search", "--format", "csv"],
        ["report", "--from", "2026-11-01", "--to", "2026-11-30"],
        ["suppressions", "list"],
        ["unsubscribe", "hanako@example.jp"],
    ],
    ids=" ".join,
)
def test_a_missing_sqlite_shop_file_is_refused_and_never_created(
    tmp_path: Path, command: list[str]
) -> None:
    missing = tmp_path / "shpo.db"  # a typo
    path = write_config(tmp_path, base_config(f"sqlite:///{missing}", tmp_path))
    result = invoke(*command, "--config", str(path))
    assert result.exit_code == 4, result.output
    assert result.stderr == (
        f"cartnudge: error: shop.url: the SQLite file {missing} does not exist "
        "(check the path; cartnudge never creates a shop database)\n"
    )
    assert not missing.exists()


# -- check opens each enabled channel ----------------------------------------------------------


def test_check_logs_in_to_the_smtp_server_and_reaches_the_sms_gateway(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    from tests.smtp_server import running_server

    with running_server(credentials=("cartnudge", "pw")) as smtp, HttpServer() as gateway:
        data = base_config(sqlite_shop.url, tmp_path)
        data["email"] = {
            "transport": "smtp",
            "smtp": {"host": "127.0.0.1", "port": smtp.port, "username": "cartnudge",
                     "password_env": "CN_SMTP_PW"},
        }  # fmt: skip
        data["sms"] = {"enabled": True, "provider": "webhook", "sender": "MIDORIYA",
                       "url": f"{gateway.url}/v1/messages"}  # fmt: skip
        path = write_config(tmp_path, data)
        runner = CliRunner(env={"CN_SMTP_PW": "pw"})
        result = runner.invoke(main, ["check", "--config", str(path)], catch_exceptions=False)
        offline = runner.invoke(main, ["check", "--config", str(path), "--offline"])
        where = (smtp.port, gateway.url)
    assert result.exit_code == 0, result.output
    assert f"ok   email SMTP 127.0.0.1:{where[0]} (none, logged in)" in result.stdout
    assert f"ok   sms webhook {where[1]} (reachable)" in result.stdout
    assert [r.method for r in gateway.requests] == ["HEAD"]  # reached, nothing sent
    assert offline.exit_code == 0 and "SMTP" not in offline.stdout


def test_check_reports_every_channel_that_cannot_be_opened_and_exits_5(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    data = base_config(sqlite_shop.url, tmp_path)
    data["email"] = {"transport": "smtp", "smtp": {"host": "127.0.0.1", "port": free_port()}}
    data["sms"] = {"enabled": True, "provider": "webhook", "sender": "MIDORIYA",
                   "url": f"http://127.0.0.1:{free_port()}/sms"}  # fmt: skip
    path = write_config(tmp_path, data)
    result = invoke("check", "--config", str(path))
    assert result.exit_code == 5
    fails = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert [line.split()[1] for line in fails] == ["email", "sms"]
    assert result.stderr.startswith("cartnudge: error: email channel: ")
    assert "\ncartnudge: error: sms channel: " in result.stderr  # one line per channel
