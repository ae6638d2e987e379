"""The files cartnudge ships besides its code: the shop contract (``sql/``), the message
templates, the commented example configuration and the cron/systemd examples.

An installed cartnudge (``pip install``, a wheel) carries them inside the package, in
``cartnudge/_data/`` (setup.py's build hook copies them there), and reads them through
:mod:`importlib.resources`; a checkout (an editable install, ``make demo``) reads the top-level
copies an operator edits. Either way the caller gets a real directory path, because Jinja2's
loader and the SQL reader take paths.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

CHECKOUT_ROOT = Path(__file__).resolve().parent.parent

# What `cartnudge init` copies for a shop to edit (the build hook bundles the same names).
OPERATOR_FILES = ("sql", "templates", "config.example.yaml", "crontab.example", "systemd")


def bundled_path(name: str) -> Path:
    """The shipped file or directory ``name`` (one of :data:`OPERATOR_FILES`).

    When neither the installed package nor a checkout has it (a broken install), the path
    where the install should have put it: the caller's "not found" names it."""
    if name not in OPERATOR_FILES:
        raise ValueError(f"not a bundled file: {name!r}")
    installed = files("cartnudge").joinpath("_data", name)
    if installed.is_dir() or installed.is_file():
        return Path(str(installed))
    checkout = CHECKOUT_ROOT / name
    if checkout.exists() and (CHECKOUT_ROOT / "pyproject.toml").is_file():
        return checkout
    return Path(str(installed))


def sql_dir() -> Path:
    """The shipped shop contract (``sql/``)."""
    return bundled_path("sql")


def templates_dir() -> Path:
    """The shipped message templates (``templates/``)."""
    return bundled_path("templates")
