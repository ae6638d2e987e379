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


# -- configuration: one line and exit 3, within a second ---------------------------------------

import os  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from tests.conftest import base_config, write_config  # noqa: E402

BOMB = "lol: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"l{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 9)
)


def _mutate(path: tuple[str, ...], value: object):
    def apply(data: dict) -> dict:
        target = data
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = value
        return data

    return apply


CONFIG_CASES = [
    ("alias bomb", None, "timezone: Asia/Tokyo\nsender: *a8\n", "refused: more than 100,000"),
    ("deep nesting", None, "timezone: " + "[" * 3000 + "]" * 3000 + "\n", "refused: nested"),
    ("not utf-8", None, b"timezone: Asia/Tokyo\n# caf\xe9\n", "line 2: the configuration is not"),
    ("zone Asia", _mutate(("timezone",), "Asia"), None, "timezone: unknown time zone"),
    ("zone 300", _mutate(("timezone",), "A" * 300), None, "timezone: unknown time zone"),
    ("huge ttl", _mutate(("shop", "cart_ttl"), 10**20), None, "shop.cart_ttl: must be a positive"),
    ("huge lookback", _mutate(("shop", "lookback"), "9999999999d"), None, "at most 3650 days"),
    ("huge lease", _mutate(("state", "lease"), "99999999999m"), None, "state.lease: must be at"),
    ("bad port", _mutate(("shop", "url"), "postgresql://u@h:99999999/db"), None, "port must be"),
    ("port text", _mutate(("shop", "url"), "postgresql://u@h:abc/db"), None, "not a database"),
    ("smtp timeout", _mutate(("email", "smtp"), {"timeout": -1}), None, "smtp.timeout"),
]


@pytest.mark.parametrize(
    "mutate,text,expected", [c[1:] for c in CONFIG_CASES], ids=[c[0] for c in CONFIG_CASES]
)
def test_a_hostile_configuration_is_one_line_and_exit_3_within_seconds(
    tmp_path: Path, mutate, text, expected: str
) -> None:
    path = tmp_path / "config.yaml"
    if mutate is not None:
        path = write_config(tmp_path, mutate(base_config(f"sqlite:///{tmp_path}/s.db", tmp_path)))
    elif isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text((BOMB if "*a8" in text else "") + text, encoding="utf-8")
    started = time.monotonic()
    result = CliRunner().invoke(main, ["check", "--config", str(path)])
    # A hang guard, not a speed test: a YAML bomb or a runaway check takes far longer; 5 s
    # leaves room for a loaded CI machine (1.02 s was seen at load 8).
    assert time.monotonic() - started < 5.0
    assert result.exit_code == 3, result.output
    assert result.stderr.count("\n") == 1 and expected in result.stderr, result.stderr


@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "directory"])
def test_only_a_regular_file_is_read_as_configuration(tmp_path: Path, special: str) -> None:
    if special == "fifo":
        path = tmp_path / "config.yaml"
        os.mkfifo(path)
    elif special == "directory":
        path = tmp_path
    else:
        path = Path(special)
    started = time.monotonic()
    result = CliRunner().invoke(main, ["check", "--config", str(path)])
    # A hang guard, not a speed test: a YAML bomb or a runaway check takes far longer; 5 s
    # leaves room for a loaded CI machine (1.02 s was seen at load 8).
    assert time.monotonic() - started < 5.0
    assert result.exit_code in (2, 3), result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args,expected",
    [
        (["sweep", "--now", "0001-01-01"], "'0001-01-01' is outside 1970-01-01 to 2199-12-31"),
        (["search", "--to", "9999-12-31"], "--to: '9999-12-31' is outside"),
        (["search", "--limit", "99999999999999999999"], "is not in the range"),
        (["templates", "preview", "140001", "--order", "9" * 65], "is longer than 64 characters"),
        (
            ["report", "--from", "1970-01-01", "--to", "2099-12-31", "--by", "day"],
            "would be 47,482 rows, more than 3,700",
        ),
    ],
)
def test_arguments_out_of_range_are_usage_errors(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    path = write_config(tmp_path, base_config(f"sqlite:///{tmp_path}/s.db", tmp_path))
    result = CliRunner().invoke(main, [*args, "--config", str(path)])
    assert result.exit_code == 2, result.output
    assert expected in result.stderr


def test_a_template_error_that_is_not_jinja_syntax_is_one_line_and_exit_6(
    tmp_path: Path,
) -> None:
    from cartnudge.config import BUNDLED_TEMPLATES_DIR

    templates = tmp_path / "templates"
    shutil.copytree(BUNDLED_TEMPLATES_DIR, templates)
    subject = sorted(templates.glob("*/subject.txt.j2"))[0]
    subject.write_text("{{ 1/0 }}", encoding="utf-8")
    data = base_config(f"sqlite:///{tmp_path}/s.db", tmp_path)
    data["templates_dir"] = str(templates)
    result = CliRunner().invoke(
        main, ["templates", "list", "--config", str(write_config(tmp_path, data))]
    )
    assert result.exit_code == 6, result.output
    assert "ZeroDivisionError: division by zero" in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_renamed_column_in_order_items_stops_the_sweep_with_one_line_and_exit_4(
    sqlite_shop, tmp_path: Path
) -> None:
    from datetime import datetime

    from cartnudge.config import BUNDLED_SQL_DIR

    sqlite_shop.abandoned(datetime(2026, 11, 22, 8, 0), email="hanako@example.jp")
    sql = tmp_path / "sql"
    shutil.copytree(BUNDLED_SQL_DIR, sql)
    query = sql / "order_items.sql"
    query.write_text(
        query.read_text(encoding="utf-8").replace(" AS quantity", " AS qty"), encoding="utf-8"
    )
    data = base_config(sqlite_shop.url, tmp_path)
    data["shop"]["sql_dir"] = str(sql)
    path = write_config(tmp_path, data)
    result = CliRunner().invoke(
        main, ["sweep", "--config", str(path), "--now", "2026-11-22T12:00Z", "--quiet"]
    )
    assert (result.exit_code, result.stderr) == (
        4,
        f"cartnudge: error: {query}: missing column(s) quantity\n",
    )


def test_a_huge_random_delay_is_a_usage_error(tmp_path: Path) -> None:
    """Found by the argument fuzz test: ``--random-delay 999…`` overflowed time_t (exit 70)."""
    path = write_config(tmp_path, base_config(f"sqlite:///{tmp_path}/s.db", tmp_path))
    result = CliRunner().invoke(main, ["sweep", "--config", str(path), "--random-delay", "9" * 26])
    assert result.exit_code == 2, result.output
    assert "--random-delay" in result.stderr and "longer than 3600 seconds" in result.stderr
