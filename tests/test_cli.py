"""The command line: exit codes, output streams and the cron path, one invocation per test,
with the exact exit code asserted. Shop-backed tests run on every backend."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import delete, func, insert, select

from cartnudge.cli import main
from cartnudge.config import BUNDLED_SQL_DIR, BUNDLED_TEMPLATES_DIR
from cartnudge.demo.build import DEMO_KEYS_ENV
from cartnudge.demo.schema import metadata as shop_metadata
from cartnudge.demo.schema import order_items
from cartnudge.engines import build_engine, redact
from cartnudge.messages.tokens import RECOVERY, UNSUBSCRIBE, _b64, _unb64, sign_token
from cartnudge.state.schema import deliveries, runs
from tests.conftest import TOKEN_KEYS, base_config, write_config
from tests.shop import ShopBuilder

NOW = datetime(2026, 11, 22, 12, 0)  # naive UTC, as inside cartnudge
NOW_ARG = "2026-11-22T21:00"  # the same moment, read in the configured Asia/Tokyo
KEYS = (TOKEN_KEYS.encode(),)


@pytest.fixture(autouse=True)
def restore_cartnudge_logger() -> Iterator[None]:
    """Each invocation points the 'cartnudge' logger at the runner's stderr and stops it
    propagating; put it back so later tests (and caplog) see an untouched logger."""
    logger = logging.getLogger("cartnudge")
    handlers, level, propagate = logger.handlers[:], logger.level, logger.propagate
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
    logger.propagate = propagate


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def config_file(tmp_path: Path, url: str, **top_level: object) -> Path:
    data = base_config(url, tmp_path)
    data.update(top_level)
    return write_config(tmp_path, data)


def count(url: str, table) -> int:
    engine = build_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table)).scalar_one()
    finally:
        engine.dispose()


def summary(result: Result) -> dict:
    data = json.loads(result.stdout)
    data.pop("run_id")
    return data


# -- help ------------------------------------------------------------------------------------


def command_paths(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from command_paths(sub, (*path, name))


@pytest.mark.parametrize(
    "path", list(command_paths(main)), ids=lambda p: " ".join(("cartnudge", *p))
)
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    result = invoke(*path, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout


# -- exit codes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command", [["sweep"], ["init-db"], ["check"], ["token", "verify", "x.y"]], ids=" ".join
)
def test_a_configuration_error_exits_3_with_one_line_on_stderr(
    tmp_path: Path, command: list[str]
) -> None:
    data = base_config("sqlite:///shop.db", tmp_path)
    data["flows"]["confirm"]["delai"] = "3h"
    path = write_config(tmp_path, data)
    result = invoke(*command, "--config", str(path))
    assert (result.exit_code, result.stdout, result.stderr) == (
        3,
        "",
        f"cartnudge: error: {path}: unknown key flows.confirm.delai\n",
    )


def test_a_missing_configuration_file_named_by_cartnudge_config_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nowhere.yaml"
    monkeypatch.setenv("CARTNUDGE_CONFIG", str(missing))
    result = invoke("sweep")
    assert (result.exit_code, result.stderr) == (
        3,
        f"cartnudge: error: {missing}: cannot read the configuration (No such file or directory)\n",
    )


@pytest.mark.parametrize(
    "command", [["sweep"], ["token", "verify", "x.y"]], ids=lambda c: " ".join(c)
)
def test_a_bad_now_is_a_usage_error_exiting_2(
    sqlite_shop: ShopBuilder, tmp_path: Path, command: list[str]
) -> None:
    path = config_file(tmp_path, sqlite_shop.url)
    result = invoke(*command, "--config", str(path), "--now", "yesterday")
    assert result.exit_code == 2
    assert "Invalid value for --now: 'yesterday' is not an ISO date-time" in result.stderr
    assert count(sqlite_shop.url, runs) == 0


@pytest.mark.parametrize("command", ["sweep", "init-db", "check"])
def test_an_unreachable_database_exits_4(tmp_path: Path, command: str) -> None:
    path = config_file(tmp_path, "sqlite:///no-such-directory/shop.db")
    result = invoke(command, "--config", str(path))
    assert result.exit_code == 4
    assert result.stderr.startswith("cartnudge: error: ")
    assert "does not exist (check the path; cartnudge never creates" in result.stderr
    assert result.stderr.count("\n") == 1


def test_an_unreachable_database_server_exits_4(tmp_path: Path) -> None:
    path = config_file(tmp_path, "postgresql://cartnudge@127.0.0.1:1/shop")
    result = invoke("check", "--config", str(path))
    assert result.exit_code == 4
    assert result.stderr.startswith(
        "cartnudge: error: shop database postgresql://cartnudge@127.0.0.1:1/shop: "
    )
    assert result.stderr.count("\n") == 1


def test_a_sweep_before_init_db_exits_4_and_says_to_run_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = build_engine(url)
    shop_metadata.create_all(engine)  # the shop's tables, none of cartnudge's
    engine.dispose()
    path = config_file(tmp_path, url)
    result = invoke("sweep", "--config", str(path), "--now", NOW_ARG)
    assert result.exit_code == 4
    assert result.stderr.startswith("cartnudge: error: state database is at no cartnudge tables")
    assert result.stderr.endswith(": run 'cartnudge init-db'\n")
    check = invoke("check", "--config", str(path))
    assert check.exit_code == 4
    assert "ok   shop database" in check.stdout
    assert "run 'cartnudge init-db'" in check.stderr


def test_a_broken_template_exits_6_naming_the_file_and_line(tmp_path: Path) -> None:
    shutil.copytree(BUNDLED_TEMPLATES_DIR, tmp_path / "templates")
    body = tmp_path / "templates" / "140001" / "body.txt.j2"
    body.write_text("{{ customer_name }} 様\n{% for item in items %}\n", encoding="utf-8")
    path = config_file(tmp_path, "sqlite:///shop.db", templates_dir="templates")
    result = invoke("sweep", "--config", str(path))
    assert result.exit_code == 6
    assert result.stderr.startswith(f"cartnudge: error: template 140001: {body}:")
    assert result.stderr.count("\n") == 1


def test_a_permanently_failed_delivery_exits_1_and_reports_even_when_quiet(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    order_id = shop.abandoned(NOW - timedelta(hours=4))
    with shop.engine.begin() as conn:  # an order without items cannot be reminded
        conn.execute(delete(order_items).where(order_items.c.order_id == order_id))
    path = write_config(tmp_path, config_data)
    result = invoke("sweep", "--config", str(path), "--now", NOW_ARG, "--quiet")
    assert result.exit_code == 1
    assert "failed" in result.stdout
    assert f"has no items ({BUNDLED_SQL_DIR / 'order_items.sql'})" in result.stderr
    # A full sweep (--full) reads the failed cart again: delivered for good, never retried.
    as_json = invoke("sweep", "--config", str(path), "--now", NOW_ARG, "--json", "--full")
    assert as_json.exit_code == 0  # the failure was recorded; nothing is due any more
    assert summary(as_json)["skipped"] == {"already_delivered": 1}


def test_in_doubt_deliveries_exit_1(shop: ShopBuilder, config_data: dict, tmp_path: Path) -> None:
    with shop.engine.begin() as conn:  # a sweep died while the channel had this message
        conn.execute(
            insert(deliveries).values(
                order_id="999",
                flow="confirm",
                step=0,
                episode=1,
                channel="email",
                status="sending",
                recipient="hanako@example.jp",
                lease_until=NOW - timedelta(hours=1),
                attempts=1,
                created_at=NOW - timedelta(hours=2),
                updated_at=NOW - timedelta(hours=2),
            )
        )
    path = write_config(tmp_path, config_data)
    result = invoke("sweep", "--config", str(path), "--now", NOW_ARG, "--json")
    assert result.exit_code == 1
    assert (summary(result)["in_doubt_found"], summary(result)["status"]) == (1, "problems")
    assert "1 deliveries are in doubt" in result.stderr


# -- sweep -----------------------------------------------------------------------------------


def build_shop(shop: ShopBuilder) -> None:
    """One cart of each fate at NOW, with the tests' 3h delay and 1440-minute validity."""
    shop.abandoned(NOW - timedelta(hours=4))  # due: sent
    shop.abandoned(NOW - timedelta(hours=5), email_optin=False)  # skipped: no_consent
    shop.abandoned(NOW - timedelta(hours=6), fraud_result="HOLD")  # skipped: fraud_result
    shop.abandoned(NOW - timedelta(hours=7), status="visitor")  # SHOP visitor: not_abandoned
    bought = shop.abandoned(NOW - timedelta(hours=8))  # bought since: purchased
    shop.complete_purchase(shop.customer_of(bought), NOW - timedelta(hours=7))
    shop.abandoned(NOW - timedelta(hours=2))  # not yet due: not even a candidate
    shop.abandoned(NOW - timedelta(hours=30))  # cart expired: not even a candidate


def test_sweep_json_prints_one_object_whose_counts_match_the_shop(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    build_shop(shop)
    path = write_config(tmp_path, config_data)
    result = invoke("sweep", "--config", str(path), "--now", NOW_ARG, "--json")
    assert result.exit_code == 0
    assert result.stdout.count("\n") == 1
    expected = {
        "now": "2026-11-22T12:00:00+00:00",
        "dry_run": False,
        "candidates": 5,
        "due": 1,
        "sent": 1,
        "would_send": 0,
        "failed": 0,
        "retry_later": 0,
        "claimed_elsewhere": 0,
        "waiting": 0,
        "in_doubt_found": 0,
        "invalid_rows": 0,
        "skipped": {"fraud_result": 1, "no_consent": 1, "not_abandoned": 1, "purchased": 1},
        "flows": {"confirm": {"candidates": 5, "due": 1, "sent": 1, "skipped": 4}},
        "mode": "full",
        "mode_reason": "no previous sweep on record",
        "shop_rows_read": 5,
        "status": "ok",
    }
    counts = summary(result)
    assert {key: counts[key] for key in expected} == expected
    assert {key: value for key, value in counts.items() if key not in expected and value} == {}
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    assert count(shop.url, deliveries) == 1


def test_sweep_dry_run_reports_would_send_and_sends_and_writes_nothing(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    build_shop(shop)
    path = write_config(tmp_path, config_data)
    result = invoke("sweep", "--config", str(path), "--now", NOW_ARG, "--dry-run", "--json")
    table = invoke("sweep", "--config", str(path), "--now", NOW_ARG, "--dry-run")
    assert (result.exit_code, table.exit_code) == (0, 0)
    counts = summary(result)
    assert (counts["dry_run"], counts["would_send"], counts["sent"]) == (True, 1, 0)
    assert "(dry run)" in table.stdout and "would send" in table.stdout
    assert list((tmp_path / "outbox").glob("*")) == []
    assert (count(shop.url, deliveries), count(shop.url, runs)) == (0, 0)


@pytest.mark.parametrize("now", ["2026-11-22T09:00", "2026-11-22T00:00Z"])
def test_sweep_now_replays_that_time_read_in_the_configured_time_zone(
    shop: ShopBuilder, config_data: dict, tmp_path: Path, now: str
) -> None:
    # 09:00 in Tokyo is 00:00 UTC: the first cart is 4h old then (due), the second 2h (not yet).
    # Read as UTC, both would be due.
    shop.abandoned(datetime(2026, 11, 21, 20, 0))
    shop.abandoned(datetime(2026, 11, 21, 22, 0))
    path = write_config(tmp_path, config_data)
    result = invoke("sweep", "--config", str(path), "--now", now, "--json")
    assert result.exit_code == 0
    counts = summary(result)
    assert (counts["now"], counts["candidates"], counts["sent"]) == (
        "2026-11-22T00:00:00+00:00",
        1,
        1,
    )


def test_sweep_quiet_prints_nothing_when_all_went_well(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    build_shop(shop)
    path = write_config(tmp_path, config_data)
    result = invoke("sweep", "--config", str(path), "--now", NOW_ARG, "--quiet")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1


def test_sweep_prints_a_summary_table_by_default(sqlite_shop: ShopBuilder, tmp_path: Path) -> None:
    build_shop(sqlite_shop)
    path = config_file(tmp_path, sqlite_shop.url)
    result = invoke("sweep", "--config", str(path), "--now", NOW_ARG)
    assert result.exit_code == 0
    assert "cartnudge sweep 2026-11-22 21:00 JST" in result.stdout
    assert "skipped: no_consent" in result.stdout
    assert result.stderr == ""


@pytest.mark.slow
def test_the_cron_job_python_m_cartnudge_sweep_quiet_is_silent_on_success(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    sqlite_shop.abandoned(now - timedelta(hours=4))
    path = config_file(tmp_path, sqlite_shop.url)
    done = subprocess.run(
        [sys.executable, "-m", "cartnudge", "sweep", "--quiet"],
        cwd=tmp_path,
        env={**os.environ, "CARTNUDGE_CONFIG": str(path)},
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1


# -- init-db and check -----------------------------------------------------------------------


def test_init_db_is_idempotent(db_url: str, tmp_path: Path) -> None:
    path = config_file(tmp_path, db_url)
    first = invoke("init-db", "--config", str(path))
    second = invoke("init-db", "--config", str(path))
    assert (first.exit_code, second.exit_code) == (0, 0)
    assert first.stdout == second.stdout
    assert first.stdout.startswith("cartnudge tables at revision ")
    assert first.stdout.endswith(f" in {redact(db_url)}\n")
    assert count(db_url, deliveries) == 0


def test_check_prints_one_ok_line_per_check(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    path = write_config(tmp_path, config_data)
    result = invoke("check", "--config", str(path))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert all(line.startswith("ok   ") for line in lines)
    assert {
        f"ok   configuration {path}",
        f"ok   shop database {redact(shop.url)}",
        f"ok   shop contract in {BUNDLED_SQL_DIR}",
        f"ok   state database {redact(shop.url)}",
        # check names the optional columns the shop's files provide (issue 9, point 3)
        "ok   abandoned.sql optional columns: customer_status, customer_name, email, "
        "email_consent, storefront, lp_id, abandoned_step, last_activity_at, fraud_result, "
        "fraud_action, purchased_at, phone, sms_consent, push_token, push_consent, line_user_id, "
        "line_consent, logged_in, ad_input_enabled",
        "ok   order_items.sql optional columns: category, image_url, product_url",
        "ok   completed_orders.sql optional columns: recovery_token, coupon_code",
        "ok   product_status.sql: prices and stock for trigger steps",
    } <= set(lines)


def test_check_exits_4_naming_the_sql_file_when_a_contract_column_is_missing(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    shutil.copytree(BUNDLED_SQL_DIR, tmp_path / "sql")
    query = tmp_path / "sql" / "abandoned.sql"
    text = query.read_text(encoding="utf-8")
    line = "  o.total_amount     AS total_amount,\n"
    assert line in text
    query.write_text(text.replace(line, ""), encoding="utf-8")
    config_data["shop"]["sql_dir"] = "sql"  # relative to the configuration file
    path = write_config(tmp_path, config_data)
    result = invoke("check", "--config", str(path))
    assert result.exit_code == 4
    assert result.stderr == f"cartnudge: error: {query}: missing column(s) total_amount\n"
    assert f"ok   shop database {redact(shop.url)}" in result.stdout


# -- demo and tokens -------------------------------------------------------------------------


@pytest.mark.slow
def test_demo_plays_days_of_sweeps_with_recoveries_and_shows_what_they_earned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DEMO_KEYS_ENV, raising=False)  # the demo needs nothing set
    monkeypatch.chdir(tmp_path)
    result = invoke("demo", "--dir", "demo", "--customers", "300", "--days", "2")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("demo shop: 300 customers, ")
    total = next(line for line in result.stdout.splitlines() if line.startswith("│ total"))
    sweeps, sent, opened, recovered, revenue = [c.strip() for c in total.split("│")[2:7]]
    assert int(sweeps) == 49  # hourly over two days, both ends included
    files = list((tmp_path / "demo" / "outbox").glob("*.eml"))
    assert len(files) == int(sent.replace(",", "")) > 0
    assert int(opened) > int(recovered) > 0 and revenue != "¥0"
    assert "messages: demo/outbox/ (one .eml file per message)" in result.stdout
    assert (tmp_path / "demo" / "report.html").is_file()
    # The report the demo points at shows the recoveries and their revenue.
    command = next(line for line in result.stdout.splitlines() if line.startswith("next:"))
    args = command.split(" report ", 1)[1].split()
    shown = invoke("report", *args, "--format", "json")
    assert shown.exit_code == 0, shown.stderr
    flows = json.loads(shown.stdout)["flows"]
    assert sum(f["recovered"] for f in flows) == int(recovered)
    assert f"¥{sum(f['recovered_revenue'] for f in flows):,}" == revenue


def unsubscribe_token(expires_at: datetime = NOW + timedelta(days=30)) -> str:
    """An opt-out token for delivery 1 (tokens name only the delivery)."""
    return sign_token({"d": 1}, KEYS, kind=UNSUBSCRIBE, expires_at=expires_at)


def delivered_once(shop: ShopBuilder, tmp_path: Path, **cart: object) -> tuple[int, Path]:
    """A cart reminded by a real sweep: delivery 1. Returns (order id, config path)."""
    order_id = shop.abandoned(NOW - timedelta(hours=4), **cart)
    path = config_file(tmp_path, shop.url)
    assert invoke("sweep", "--config", str(path), "--now", NOW_ARG, "--quiet").exit_code == 0
    return order_id, path


def test_token_verify_prints_an_opt_out_token_as_json(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    _, path = delivered_once(sqlite_shop, tmp_path, email="Hanako@example.jp")
    result = invoke(
        "token", "verify", "--config", str(path), "--now", NOW_ARG, "--kind", "unsubscribe",
        unsubscribe_token(),
    )  # fmt: skip
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "kind": "unsubscribe",
        "address": "hanako@example.jp",
        "channel": "email",
        "delivery_id": 1,
        "expires_at": "2026-12-22T12:00:00+00:00",
    }


def test_token_verify_refuses_a_genuine_token_naming_no_delivery(tmp_path: Path) -> None:
    builder = ShopBuilder.create(f"sqlite:///{tmp_path / 'empty.db'}")
    path = config_file(tmp_path, builder.url)
    result = invoke(
        "token", "verify", "--config", str(path), "--now", NOW_ARG, "--kind", "unsubscribe",
        unsubscribe_token(),
    )  # fmt: skip
    builder.dispose()
    assert (result.exit_code, result.stderr) == (
        7,
        "cartnudge: error: token names delivery 1, which cartnudge has no record of\n",
    )


def test_token_verify_prints_a_recovery_token_with_the_items_to_restore(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    order_id, path = delivered_once(sqlite_shop, tmp_path, items=((1, 2),))
    token = sign_token({"d": 1}, KEYS, kind=RECOVERY, expires_at=NOW + timedelta(days=14))
    result = invoke("token", "verify", "--config", str(path), "--now", NOW_ARG, token)
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert (payload["kind"], payload["order_id"], payload["flow"]) == (
        "recovery",
        str(order_id),
        "confirm",
    )
    assert [(i["product_id"], i["quantity"]) for i in payload["items"]] == [(1, 2)]


def tampered() -> str:
    """The opt-out token with another delivery written into its payload."""
    body, mac = unsubscribe_token().split(".")
    raw = _unb64(body).replace(b'"d":1', b'"d":2')
    return f"{_b64(raw)}.{mac}"


@pytest.mark.parametrize(
    ("token", "message"),
    [
        pytest.param(
            tampered(),
            "token signature is not valid (tampered, or signed with an unknown key)",
            id="tampered",
        ),
        pytest.param(
            unsubscribe_token(expires_at=NOW - timedelta(seconds=1)),
            "token expired at 2026-11-22T11:59:59+00:00",
            id="expired",
        ),
        pytest.param(
            "not-a-token",
            "token is malformed (expected two base64url parts joined by '.')",
            id="malformed",
        ),
    ],
)
def test_token_verify_refuses_a_bad_token_with_exit_7(
    tmp_path: Path, token: str, message: str
) -> None:
    path = config_file(tmp_path, "sqlite:///shop.db")
    args = ("--config", str(path), "--now", NOW_ARG, "--kind", "unsubscribe", token)
    result = invoke("token", "verify", *args)
    assert (result.exit_code, result.stdout, result.stderr) == (
        7,
        "",
        f"cartnudge: error: {message}\n",
    )
