"""Every documented line runs as printed: each cartnudge command line in the README's code
blocks, each example in every command's --help, and the next steps the demo prints, run
against a demo built here, with only the environment the README tells the user to set.

A line passes when it exits as documented: 0, or the code a following ``$ echo $?`` shows
(and then the README's ``Error:`` line is what the command prints). Paths of a real install
(``/etc/cartnudge...``, ``/var/www``) are mapped into the test's directory, placeholders of
tokens (``"$TOKEN"``, ``eyJ...``) become real tokens from the demo's outbox, and ``> FILE``
redirections write stdout to that file. Only the ``demo`` and ``serve`` lines are not run here
(NOT_RUN says which other test runs them).
"""

from __future__ import annotations

import logging
import os
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cartnudge.cli import main
from cartnudge.demo.simulate import recovery_token

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
NOT_RUN = {
    ("demo",): "builds a whole demo (tests/test_cli.py runs one and its next steps)",
    ("serve",): "a server that runs until stopped (tests/test_web.py runs it as a real process)",
}


def not_run(argv: tuple[str, ...]) -> bool:
    """A command line this test leaves to another test (NOT_RUN says which and why)."""
    return any(argv[: len(path)] == path for path in NOT_RUN)


@dataclass(frozen=True)
class Line:
    where: str  # "README.md:123" or "cartnudge sweep --help"
    argv: tuple[str, ...]  # after "cartnudge"
    exit_code: int = 0
    error: str | None = None  # the "Error: ..." line the README shows, if any
    env: tuple[tuple[str, str], ...] = ()
    stdout_to: str | None = None


def _argv(text: str) -> tuple[tuple[str, ...], str | None] | None:
    """The arguments after the cartnudge executable, and a ``> FILE`` target; None when the
    line is not a cartnudge command."""
    text = text.split("  #", 1)[0].strip()
    words = shlex.split(text, comments=True)
    if not words or not words[0].endswith("cartnudge"):
        return None
    target = None
    if ">" in words:
        at = words.index(">")
        target, words = words[at + 1], words[:at]
    return tuple(words[1:]), target


def readme_lines() -> list[Line]:
    found: list[Line] = []
    lines = README.splitlines()
    block: str | None = None
    exports: list[tuple[str, str]] = []
    for number, raw in enumerate(lines, start=1):
        if raw.startswith("```"):
            block = raw[3:].strip() if block is None else None
            exports = []
            continue
        if block not in ("sh", "console", ""):
            continue
        text = raw[2:] if raw.startswith("$ ") else raw
        if block == "" and not raw.startswith("$ "):
            continue  # output shown in a plain block (the make demo session)
        if block == "console" and not raw.startswith("$ "):
            continue
        if text.startswith("export "):
            for word in shlex.split(text.split("  #", 1)[0])[1:]:
                name, _, value = word.partition("=")
                exports.append((name, value))
            continue
        parsed = _argv(text)
        if parsed is None:
            continue
        argv, target = parsed
        if not_run(argv):
            continue
        exit_code, error = 0, None
        following = lines[number : number + 40]
        for offset, after in enumerate(following):
            if after.startswith("$ echo $?"):
                exit_code = int(following[offset + 1])
                error = next((x for x in following[:offset] if x.startswith("Error: ")), None)
                break
            if after.startswith("$ ") or after.startswith("```"):
                break
        found.append(Line(f"README.md:{number}", argv, exit_code, error, tuple(exports), target))
    return found


def command_paths(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from command_paths(sub, (*path, name))


def help_lines() -> list[Line]:
    found = []
    for path in command_paths(main):
        if path in NOT_RUN:
            continue
        text = CliRunner().invoke(main, [*path, "--help"]).output
        examples = text.split("Example", 1)[1].split("Options:", 1)[0] if "Example" in text else ""
        for raw in examples.splitlines()[1:]:
            parsed = _argv(raw.strip())
            if parsed:
                found.append(Line(f"cartnudge {' '.join(path)} --help".replace("  ", " "), *[
                    parsed[0]], stdout_to=parsed[1]))  # fmt: skip
    return found


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A small demo in a fresh directory (the working directory of every line)."""
    work = tmp_path_factory.mktemp("docs")
    old = Path.cwd()
    os.chdir(work)
    logger = logging.getLogger("cartnudge")
    saved = logger.handlers[:], logger.level, logger.propagate
    try:
        result = CliRunner().invoke(main, ["demo", "--dir", "demo", "--days", "1"])
        assert result.exit_code == 0, result.output
        (work / "old-optouts.csv").write_text("address,reason\nold@example.jp,opt_out\n")
        (work / "codes.csv").write_text("code,discount\nWELCOME-0001,500円\n", encoding="utf-8")
        (work / "phones.csv").write_bytes(
            "address,reason\r\n090-1234-5678,苦情\r\n".encode("cp932")
        )
        yield work
    finally:
        os.chdir(old)
        logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


def _tokens(work: Path) -> tuple[str, str]:
    message = next((work / "demo" / "outbox").glob("*.eml")).read_bytes()
    recovery = recovery_token(message)
    assert recovery
    text = message.decode("ascii", "replace")
    unsubscribe = re.findall(r"unsubscribe[^\s]*?token=3D([A-Za-z0-9_.-]+)", text)
    if not unsubscribe:
        from email import message_from_bytes
        from email.policy import default

        body = message_from_bytes(message, policy=default).get_body(("plain",)).get_content()
        unsubscribe = re.findall(r"unsubscribe\?token=([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)", body)
    return recovery, unsubscribe[0]


def _map(word: str, work: Path, tokens: tuple[str, str], line: Line) -> str:
    command = line.argv
    config = str(work / "demo" / "config.yaml")
    word = word.replace("/etc/cartnudge/config.yaml", config).replace("/etc/cartnudge.yaml", config)
    # Each line that makes a directory gets its own (init refuses to overwrite).
    word = word.replace("/etc/cartnudge", str(work / f"etc-cartnudge-{abs(hash(line))}"))
    word = word.replace("/var/www/", str(work) + "/")
    if word == "$TOKEN" or word.startswith("eyJ") and "..." in word:
        unsubscribe = "unsubscribe" in command or "--token" in command
        return tokens[1] if unsubscribe else tokens[0]
    return word


def run(line: Line, work: Path) -> None:
    tokens = _tokens(work)
    argv = [_map(w, work, tokens, line) for w in line.argv]
    env = {k: None for k in os.environ if k.startswith("CARTNUDGE_")}
    env.update({k: _map(v, work, tokens, line) for k, v in line.env})
    if not env.get("CARTNUDGE_CONFIG") and "--config" not in argv:
        # The README's set-up exports CARTNUDGE_CONFIG; --help examples rely on it.
        env["CARTNUDGE_CONFIG"] = str(work / "demo" / "config.yaml")
    logger = logging.getLogger("cartnudge")
    saved = logger.handlers[:], logger.level, logger.propagate
    try:
        result = CliRunner(env=env).invoke(main, argv, input="y\n")
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]
    shown = f"{line.where}: cartnudge {' '.join(line.argv)}\n{result.output}"
    assert result.exception is None or isinstance(result.exception, SystemExit), shown
    assert result.exit_code == line.exit_code, shown
    if line.error:
        assert line.error in result.output, shown
    if line.stdout_to:
        (work / line.stdout_to).write_text(result.stdout)


README_LINES = readme_lines()
HELP_LINES = help_lines()


def test_the_readme_and_the_help_have_command_lines_to_run() -> None:
    assert len(README_LINES) >= 10
    assert len(HELP_LINES) >= 25
    assert any(line.exit_code == 2 for line in README_LINES)


@pytest.mark.slow
@pytest.mark.parametrize("line", README_LINES, ids=lambda line: line.where)
def test_every_readme_command_line_runs_as_printed(demo: Path, line: Line) -> None:
    run(line, demo)


@pytest.mark.slow
@pytest.mark.parametrize(
    "line", HELP_LINES, ids=lambda line: f"{line.where}: {' '.join(line.argv)}"
)
def test_every_help_example_runs_as_printed(demo: Path, line: Line) -> None:
    run(line, demo)
