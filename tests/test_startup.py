"""Start-up: each command imports only what it needs (issue 14, point 2).

Structural tests, not timed ones: which packages a fresh interpreter has in ``sys.modules``
after a command. The times themselves are measured by ``bench/startup_bench.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest

from cartnudge.cli import COMMANDS, main
from cartnudge.state.store import head_revision
from tests.conftest import base_config, write_config
from tests.shop import ShopBuilder

HEAVY = ("sqlalchemy", "pydantic", "jinja2", "rich", "httpx", "alembic", "cryptography", "yaml")

# Runs the command line in this interpreter's environment, then prints the heavy packages that
# ended up imported (and the exit code), as JSON on stderr's last line.
PROBE = (
    f"HEAVY = {set(HEAVY)!r}\n"
    + """
import json, sys
from cartnudge.cli import main
code = 0
try:
    main(sys.argv[1:], prog_name="cartnudge")
except SystemExit as exc:
    code = exc.code
heavy = sorted({m.split(".")[0] for m in sys.modules} & HEAVY)
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""
)


def imported_by(*args: str, cwd: Path | None = None, env: dict | None = None) -> dict:
    """Run ``cartnudge ARGS`` in a fresh interpreter; the exit code and the heavy packages."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
        check=False,
    )
    return json.loads(done.stderr.strip().splitlines()[-1])


def test_version_imports_no_database_template_output_or_http_library() -> None:
    assert imported_by("--version") == {"code": 0, "heavy": []}


def test_the_groups_help_imports_no_command_module() -> None:
    assert imported_by("--help") == {"code": 0, "heavy": []}


def test_the_probe_would_see_a_heavy_import() -> None:
    """Not vacuous: a command's own help imports its module, and report's imports rich."""
    assert "rich" in imported_by("report", "--help")["heavy"]


@pytest.mark.slow
def test_a_quiet_sweep_on_the_outbox_loads_no_http_client_rich_or_alembic(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    sqlite_shop.abandoned(datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=4))
    path = write_config(tmp_path, base_config(sqlite_shop.url, tmp_path))
    found = imported_by("--config", str(path), "sweep", "--quiet", cwd=tmp_path)
    assert found["code"] == 0
    assert set(found["heavy"]) & {"rich", "httpx", "alembic", "cryptography"} == set()
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1  # it did send


@pytest.mark.parametrize("limit", [20, 45, 60, 200])
def test_the_help_table_says_what_each_command_says_of_itself(limit: int) -> None:
    """``cartnudge --help`` shows the summaries of :data:`COMMANDS` without importing the
    commands: each must shorten to exactly what the command's own help would."""
    for name, (_module, _attribute, summary) in COMMANDS.items():
        stand_in = click.Command(name, help=summary)
        assert stand_in.get_short_help_str(limit) == main.commands[name].get_short_help_str(
            limit
        ), name


def test_the_groups_help_lists_every_command_once() -> None:
    from click.testing import CliRunner

    out = CliRunner().invoke(main, ["--help"]).output
    listed = [line.split()[0] for line in out.split("Commands:", 1)[1].splitlines() if line.strip()]
    assert listed == sorted(COMMANDS)


def test_every_command_name_maps_to_the_command_of_that_name() -> None:
    for name in COMMANDS:
        assert main.commands[name].name == name


def test_the_schema_head_read_from_the_migration_files_is_alembics() -> None:
    """The sweep checks the state schema without importing Alembic (head_revision reads the
    migration files' revision lines): it must agree with Alembic itself."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", "cartnudge.state:migrations")
    assert head_revision() == ScriptDirectory.from_config(cfg).get_current_head()
