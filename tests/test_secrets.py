"""Nothing secret or personal leaves (issue 10, point 6): a server that echoes the AUTH exchange
puts neither the password nor its base64 into stderr, ``--json`` or the state database; every
output masks addresses and phone numbers in every form."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cartnudge.cli import main
from cartnudge.logs import mask_pii
from cartnudge.state.schema import deliveries, runs
from tests.conftest import base_config, write_config
from tests.shop import ShopBuilder
from tests.smtp_server import running_server

NOW = datetime(2026, 11, 22, 12, 0)
USER = "shop-account"
PASSWORD = "wrong-Passw0rd-that-is-secret"
ADDRESS = "hanako.yamada@example.jp"


@pytest.fixture(autouse=True)
def restore_cartnudge_logger() -> Iterator[None]:
    logger = logging.getLogger("cartnudge")
    handlers, level, propagate = logger.handlers[:], logger.level, logger.propagate
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
    logger.propagate = propagate


def forbidden() -> list[str]:
    plain = (b"\0" + USER.encode() + b"\0" + PASSWORD.encode(),)
    forms = [PASSWORD, ADDRESS]
    for blob in (*plain, PASSWORD.encode()):
        encoded = base64.b64encode(blob).decode()
        forms += [encoded, encoded.rstrip("=")]
    return forms


def test_an_echoed_auth_exchange_never_reaches_any_output(
    shop: ShopBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop.abandoned(NOW - timedelta(hours=4), email=ADDRESS)
    monkeypatch.setenv("CARTNUDGE_TEST_SMTP_PASSWORD", PASSWORD)
    with running_server(credentials=(USER, "the-right-password")) as server:
        server.script.echo_auth = True
        data = base_config(shop.url, tmp_path)
        data["email"] = {
            "transport": "smtp",
            "smtp": {
                "host": "127.0.0.1",
                "port": server.port,
                "username": USER,
                "password_env": "CARTNUDGE_TEST_SMTP_PASSWORD",
            },
        }
        path = write_config(tmp_path, data)
        result = CliRunner().invoke(
            main,
            ["-vv", "sweep", "--config", str(path), "--now", "2026-11-22T21:00", "--json"],
        )
    assert result.exit_code == 5, result.output
    assert "535 5.7.8 Authentication failed for ***" in result.stdout  # the reply, scrubbed
    with shop.engine.connect() as conn:
        stored = [str(r.summary) for r in conn.execute(select(runs))]
        stored += [str(r.error) for r in conn.execute(select(deliveries))]
    outputs = {"stdout": result.stdout, "stderr": result.stderr, "state": "\n".join(stored)}
    for where, text in outputs.items():
        for secret in forbidden():
            assert secret not in text, f"{secret!r} in {where}"


@pytest.mark.parametrize(
    "text,masked",
    [
        ("recipient:someone@example.jp refused", "recipient:s***@example.jp refused"),
        ("to=<hanako@example.jp>", "to=<h***@example.jp>"),
        ("山田@example.jp", "山***@example.jp"),
        ("hanako@例え.jp", "h***@例え.jp"),
        ("tel 090.1234.5678", "tel ***5678"),
        ("tel 090-1234-5678", "tel ***5678"),
        ("+81 90 1234 5678", "***5678"),
        ("postgresql://cartnudge@db.example.jp/shop", "postgresql://cartnudge@db.example.jp/shop"),
        ("mysql://u:pw@host.example.jp/db", "mysql://u:pw@host.example.jp/db"),
        ("order 2026.11.22 id 4711", "order 2026.11.22 id 4711"),
    ],
)
def test_masking_catches_every_form_of_address_and_phone(text: str, masked: str) -> None:
    assert mask_pii(text) == masked


def test_suppressions_import_reports_rejected_rows_masked(tmp_path: Path) -> None:
    shop = ShopBuilder.create(f"sqlite:///{tmp_path / 'shop.db'}")
    shop.dispose()
    from cartnudge.engines import build_engine
    from cartnudge.state.store import migrate

    engine = build_engine(shop.url, writer=True)
    migrate(engine)
    engine.dispose()
    path = write_config(tmp_path, base_config(shop.url, tmp_path))
    rows = tmp_path / "rows.csv"
    rows.write_text("address\nhanako@example.jp x\n090-1234-5678\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["suppressions", "import", "--config", str(path), str(rows)])
    assert "hanako@example.jp" not in result.output
    assert "090-1234-5678" not in result.output
    assert "h***@example.jp" in result.stderr


def test_a_server_answer_quoting_the_recipient_is_stored_masked(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    sqlite_shop.abandoned(NOW - timedelta(hours=4), email=ADDRESS)
    with running_server() as server:
        server.script.rcpt_replies[ADDRESS] = f"550 5.1.1 <{ADDRESS}>: Recipient address rejected"
        data = base_config(sqlite_shop.url, tmp_path)
        data["email"] = {"transport": "smtp", "smtp": {"host": "127.0.0.1", "port": server.port}}
        path = write_config(tmp_path, data)
        result = CliRunner().invoke(
            main, ["sweep", "--config", str(path), "--now", "2026-11-22T21:00", "--json"]
        )
    assert result.exit_code == 1, result.output
    with sqlite_shop.engine.connect() as conn:
        (error,) = [r.error for r in conn.execute(select(deliveries))]
    assert error == "550 5.1.1 <h***@example.jp>: Recipient address rejected"
    assert ADDRESS not in result.output
