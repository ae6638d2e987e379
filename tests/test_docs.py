"""The docs stay honest: every command is in the README's command reference, and every exit code
cartnudge uses is in the README's table."""

from __future__ import annotations

import re
from pathlib import Path

import click

from cartnudge import errors
from cartnudge.cli import main

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def command_paths(group: click.Group, prefix: str = "cartnudge") -> list[str]:
    paths = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            paths += command_paths(command, path)
        else:
            paths.append(path)
    return paths


def test_every_command_is_in_the_readme_command_reference() -> None:
    reference = README.split("## Command reference", 1)[1]
    missing = [p for p in command_paths(main) if f"`{p}`" not in reference]
    assert missing == []


def test_every_exit_code_is_documented_in_the_readme() -> None:
    table = README.split("### Exit codes", 1)[1]
    codes = {v for k, v in vars(errors).items() if k.startswith("EXIT_")}
    documented = {int(m) for m in re.findall(r"^\| (\d+) \|", table, flags=re.M)}
    assert codes <= documented


def test_the_readme_starts_with_the_two_setup_commands() -> None:
    setup = README.split("## Set-up", 1)[1].split("```", 2)[1]
    assert [line.split("#")[0].strip() for line in setup.strip().splitlines()[1:]] == [
        "make demo",
        "make test",
    ]
