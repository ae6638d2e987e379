"""The demo against a real SMTP server, and the progress bar only on a terminal."""

from __future__ import annotations

import email
import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from cartnudge.cli import main
from cartnudge.cli.output import progress_reporter
from cartnudge.demo.build import DEMO_KEYS, DEMO_KEYS_ENV
from tests.smtp_server import running_server


@pytest.mark.slow
def test_the_demo_can_send_to_a_local_smtp_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DEMO_KEYS_ENV, DEMO_KEYS)
    with running_server() as server:
        result = CliRunner().invoke(
            main,
            ["demo", "--dir", str(tmp_path / "demo"), "--customers", "200",
             "--smtp", f"127.0.0.1:{server.port}", "--days", "0"],
        )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    total = next(line for line in result.stdout.splitlines() if line.startswith("│ total"))
    assert len(server.handler.messages) == int(total.split("│")[3].replace(",", "")) > 0
    assert f"messages: SMTP 127.0.0.1:{server.port}" in result.stdout
    assert not list((tmp_path / "demo" / "outbox").glob("*.eml"))  # nothing in the outbox
    first = email.message_from_bytes(server.handler.messages[0].content)
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert server.handler.connections == 1  # one connection for the whole sweep


def test_a_bad_smtp_address_for_the_demo_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--dir", str(tmp_path), "--smtp", "nohostport"])
    assert result.exit_code == 2
    assert "'nohostport' is not HOST:PORT" in result.stderr


def test_no_progress_bar_is_drawn_when_stderr_is_not_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    captured = io.StringIO()
    monkeypatch.setattr("sys.stderr", captured)
    with progress_reporter(enabled=True) as on_progress:
        on_progress(10)
    assert captured.getvalue() == ""


def test_a_progress_bar_is_drawn_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    captured = Terminal()
    monkeypatch.setattr("sys.stderr", captured)
    with progress_reporter(enabled=True) as on_progress:
        on_progress(1234)
    assert "sweeping" in captured.getvalue()
