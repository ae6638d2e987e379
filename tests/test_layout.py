"""The tree reads like the architecture (DESIGN.md): the pure core imports nothing with I/O, the
command line has no import circle, and the rooms depend on each other in one direction only.

Imports are read from the source with ``ast`` (also those inside functions), so a lazy import
cannot hide a dependency.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "cartnudge"

# What the pure core may import: the standard library's pure modules, phonenumbers (metadata
# only, no I/O) and the core itself. Anything else (a database driver, httpx, smtplib, os,
# pathlib, logging, time, the other rooms) is I/O or can reach it.
CORE_ALLOWED = {
    "__future__",
    "bisect",
    "collections",
    "dataclasses",
    "datetime",
    "decimal",
    "enum",
    "fractions",
    "functools",
    "hashlib",
    "hmac",
    "itertools",
    "json",
    "math",
    "operator",
    "phonenumbers",
    "re",
    "statistics",
    "string",
    "typing",
    "unicodedata",
    "zoneinfo",
    "cartnudge.core",
    "cartnudge.errors",
}

# room -> the rooms it may import (besides itself and the shared foundation).
FOUNDATION = {
    "cartnudge.errors",
    "cartnudge.core",
    "cartnudge.config",
    "cartnudge.logs",
    "cartnudge.files",
}
ROOMS = {
    "cartnudge.core": set(),
    "cartnudge.shop": {"cartnudge.engines"},
    "cartnudge.state": {"cartnudge.engines"},
    "cartnudge.messages": {"cartnudge.shop", "cartnudge.channels"},
    "cartnudge.channels": set(),
}


def modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found.append((".".join(parts), path))
    return found


def imports_of(module: str, path: Path) -> set[str]:
    """Every module ``module`` imports, absolute names, with ``from x import y`` as ``x.y``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def within(name: str, prefixes: set[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def is_module(name: str) -> bool:
    """``name`` names a module or package of cartnudge (not a function imported from one)."""
    rel = Path(*name.split("."))
    return (PACKAGE.parent / rel.with_suffix(".py")).is_file() or (
        PACKAGE.parent / rel / "__init__.py"
    ).is_file()


CORE = [(m, p) for m, p in modules() if within(m, {"cartnudge.core"})]


@pytest.mark.parametrize("module,path", CORE, ids=[m for m, _ in CORE])
def test_the_pure_core_imports_nothing_that_does_io(module: str, path: Path) -> None:
    bad = sorted(
        name
        for name in imports_of(module, path)
        if not within(name, CORE_ALLOWED)
        and not any(within(name, {a + "."}) or name.startswith(a + ".") for a in CORE_ALLOWED)
    )
    assert bad == [], f"{module} imports {bad}: the core must stay pure (no I/O)"


def test_the_core_check_would_catch_an_io_import(tmp_path: Path) -> None:
    """The check above is not vacuous: a core module importing sqlalchemy or os is caught."""
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("import os\nfrom sqlalchemy import text\nfrom ..state import store\n")
    names = imports_of("cartnudge.core.sneaky", sneaky)
    assert {"os", "sqlalchemy", "cartnudge.state"} <= names
    assert not any(within(n, CORE_ALLOWED) for n in ("os", "sqlalchemy.text", "cartnudge.state"))


@pytest.mark.parametrize("room", sorted(ROOMS))
def test_each_room_imports_only_the_rooms_below_it(room: str) -> None:
    allowed = {room} | FOUNDATION | ROOMS[room]
    bad = sorted(
        f"{module} -> {name}"
        for module, path in modules()
        if within(module, {room})
        for name in imports_of(module, path)
        if name.startswith("cartnudge") and is_module(name) and not within(name, allowed)
    )
    assert bad == []


def test_nothing_below_the_shell_imports_the_command_line_or_the_sweep() -> None:
    shell = {"cartnudge.cli", "cartnudge.sweep", "cartnudge.app", "cartnudge.operator"}
    bad = sorted(
        f"{module} -> {name}"
        for module, path in modules()
        if within(module, set(ROOMS))
        for name in imports_of(module, path)
        if within(name, shell)
    )
    assert bad == []


def test_the_command_line_has_no_import_circle() -> None:
    """Command modules import cartnudge.cli.common, never the group's package or each other;
    the package's __init__ only assembles the group."""
    cli = [(m, p) for m, p in modules() if within(m, {"cartnudge.cli"})]
    assert len(cli) > 5
    for module, path in cli:
        if module == "cartnudge.cli":
            continue
        own = {n for n in imports_of(module, path) if within(n, {"cartnudge.cli"}) and is_module(n)}
        allowed = {"cartnudge.cli.common", "cartnudge.cli.output", "cartnudge.cli.tabular"}
        assert own <= allowed | {"cartnudge.cli"}, f"{module} imports {own - allowed}"
        # "from cartnudge.cli import common" names the package only to reach common.
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "cartnudge.cli":
                assert {a.name for a in node.names} <= {"common"}, module


def test_importing_any_module_first_works() -> None:
    """No circle at run time either: each module imports on its own in a fresh interpreter."""
    import subprocess

    names = [m for m, _ in modules() if ".migrations" not in m and not m.endswith("__main__")]
    code = (
        "import importlib, sys\n"
        "for n in sys.argv[1:]:\n"
        "    for loaded in [m for m in sys.modules if m.startswith('cartnudge')]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(n)\n"
        "    except Exception as exc:\n"
        "        print(n, type(exc).__name__, exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *names], capture_output=True, text=True, timeout=120
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
