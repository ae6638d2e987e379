"""Install anywhere: the built wheel carries the shop contract, the templates, the migrations and
the operator's examples, and an installed cartnudge works from any directory.

The test builds the wheel from a copy of the checkout, installs it (no dependencies: they come
from the development environment's site-packages, added by a .pth file, so nothing is
downloaded) into a fresh virtual environment, and runs the demo, check, init-db, a dry-run
sweep and init in a temporary directory, far from the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (
    "cartnudge",
    "sql",
    "templates",
    "systemd",
    "pyproject.toml",
    "setup.py",
    "MANIFEST.in",
    "README.md",
    "LICENSE",
    "config.example.yaml",
    "crontab.example",
)


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{args}: {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the checkout (the checkout stays untouched)."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, src / name)
    out = tmp_path_factory.mktemp("dist")
    result = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-v", "-w", str(out), str(src)],
        cwd=src,
        env=dict(os.environ),
    )  # fmt: skip
    # setuptools prints its deprecation warnings (an old licence table, ...) in the build's log
    assert "DeprecationWarning" not in result.stdout + result.stderr, result.stdout
    (built,) = out.glob("cartnudge-*.whl")
    return built


def test_the_wheel_carries_the_contract_templates_migrations_and_licence(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "cartnudge/_data/sql/abandoned.sql",
        "cartnudge/_data/templates/140001/body.html.j2",
        "cartnudge/_data/templates/140002/template.yaml",
        "cartnudge/_data/config.example.yaml",
        "cartnudge/_data/crontab.example",
        "cartnudge/_data/systemd/cartnudge.timer",
        "cartnudge/state/migrations/script.py.mako",
        "cartnudge/state/migrations/versions/0001_initial.py",
    ):
        assert expected in names
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "License-Expression: MIT" in text


@pytest.mark.slow
def test_an_installed_cartnudge_runs_the_demo_and_its_next_steps_anywhere(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    _run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)],
        cwd=tmp_path,
        env=dict(os.environ),
    )
    python = venv / "bin" / "python"
    site = Path(
        subprocess.check_output(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            text=True,
        ).strip()
    )
    # The dependencies (not cartnudge: only the wheel's copy is importable) from this environment.
    (site / "dev-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
         str(wheel)],
        cwd=tmp_path,
        env=dict(os.environ),
    )  # fmt: skip
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("CARTNUDGE_") and k != "PYTHONPATH"
    }
    cartnudge = str(venv / "bin" / "cartnudge")
    work = tmp_path / "anywhere"
    work.mkdir()
    where = _run(
        [str(python), "-c", "import cartnudge.config as c; print(c.BUNDLED_TEMPLATES_DIR)"],
        cwd=work,
        env=env,
    ).stdout.strip()
    assert where.startswith(str(site)), where

    demo = _run([cartnudge, "demo", "--dir", "shop", "--customers", "60"], cwd=work, env=env)
    assert "sent" in demo.stdout
    config = str(work / "shop" / "config.yaml")
    checked = _run([cartnudge, "check", "--offline", "--config", config], cwd=work, env=env)
    assert f"templates in {site}" in checked.stdout
    assert f"shop contract in {site}" in checked.stdout
    _run([cartnudge, "init-db", "--config", config], cwd=work, env=env)
    _run([cartnudge, "sweep", "--config", config, "--dry-run"], cwd=work, env=env)

    made = _run([cartnudge, "init", "etc"], cwd=work, env=env)
    assert "config.yaml" in made.stdout
    for name in ("sql/abandoned.sql", "templates/140001/subject.txt.j2", "systemd"):
        assert (work / "etc" / name).exists()


def test_init_copies_the_operator_files_and_never_overwrites(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cartnudge.cli import main
    from cartnudge.config import load_config

    target = tmp_path / "etc"
    first = CliRunner().invoke(main, ["init", str(target)])
    assert first.exit_code == 0, first.output
    assert sorted(p.name for p in (target / "sql").glob("*.sql")) == sorted(
        p.name for p in (ROOT / "sql").glob("*.sql")
    )
    config = load_config(target / "config.yaml", environ={"CARTNUDGE_TOKEN_KEYS": "x" * 20})
    assert (config.sql_dir, config.templates_dir) == (target / "sql", target / "templates")
    assert (target / "systemd" / "cartnudge.service").is_file()

    (target / "sql" / "abandoned.sql").write_text("-- the shop's own\n")
    again = CliRunner().invoke(main, ["init", str(target)])
    assert again.exit_code == 1
    assert "already there; nothing was copied" in again.output
    assert (target / "sql" / "abandoned.sql").read_text() == "-- the shop's own\n"


def test_the_demo_writes_its_signing_key_readable_by_its_owner_only(tmp_path: Path) -> None:
    from datetime import datetime

    from cartnudge.config import load_config
    from cartnudge.demo.build import DEMO_KEYS, build_demo

    config_path, _ = build_demo(tmp_path / "demo", now=datetime(2026, 11, 22, 12), customers=10)
    key_file = tmp_path / "demo" / "token-keys"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert load_config(config_path, environ={}).token_keys == (DEMO_KEYS.encode(),)
