"""Build hook: the wheel carries the operator-facing files of the checkout.

``sql/``, ``templates/``, ``config.example.yaml`` and the cron/systemd examples live at the top of
the repository, where an operator reads and copies them. ``build_py`` copies them into
``cartnudge/_data/`` of the built package, so an installed cartnudge reads the same files
through ``importlib.resources`` (``cartnudge.bundled``); an editable install reads the
checkout's own copies. Everything else is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLED = ("sql", "templates", "config.example.yaml", "crontab.example", "systemd")


class BuildWithResources(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's files directly
        target = Path(self.build_lib) / "cartnudge" / "_data"
        target.mkdir(parents=True, exist_ok=True)
        for name in BUNDLED:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(
                    source,
                    target / name,
                    dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                )
            else:
                shutil.copy2(source, target / name)


setup(cmdclass={"build_py": BuildWithResources})
