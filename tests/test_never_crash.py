"""Never a traceback (issue 10, point 7): an unexpected error is one line with its own exit code
(70, not 1: monitoring must tell a bug from a bounce); the traceback only with ``-vv``."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from cartnudge.cli import main
from cartnudge.errors import EXIT_DELIVERY_PROBLEMS, EXIT_INTERNAL


@pytest.fixture(autouse=True)
def restore_cartnudge_logger() -> Iterator[None]:
    logger = logging.getLogger("cartnudge")
    handlers, level, propagate = logger.handlers[:], logger.level, logger.propagate
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
    logger.propagate = propagate


def broken_load_app(config_path: str) -> None:
    raise ZeroDivisionError("division by zero near hanako@example.jp")


def test_an_unexpected_error_is_one_masked_line_with_its_own_exit_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("cartnudge.cli.templates.load_app", broken_load_app)
    result = CliRunner().invoke(main, ["templates", "list"])
    assert result.exit_code == EXIT_INTERNAL == 70 != EXIT_DELIVERY_PROBLEMS
    assert result.stderr == (
        "cartnudge: internal error (a bug, please report it; -vv shows where): "
        "ZeroDivisionError: division by zero near h***@example.jp\n"
    )
    assert "Traceback" not in result.output


def test_the_traceback_of_an_unexpected_error_is_shown_with_vv_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("cartnudge.cli.templates.load_app", broken_load_app)
    result = CliRunner().invoke(main, ["-vv", "templates", "list"])
    assert result.exit_code == 70
    assert "Traceback (most recent call last):" in result.stderr
    assert "broken_load_app" in result.stderr
    assert "hanako@" not in result.stderr
