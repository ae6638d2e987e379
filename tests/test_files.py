"""Safe writes (issue 10, point 9): every file cartnudge writes goes to a temporary file beside
it and is renamed only over a regular file or nothing; symlinks, FIFOs, devices and directories
are refused with one line; ``demo --dir`` never replaces a shop without ``--force``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from cartnudge.channels.base import Envelope, Result
from cartnudge.channels.outbox import OutboxChannel
from cartnudge.cli import main
from cartnudge.errors import EXIT_FILE, ChannelError, FileWriteError
from cartnudge.files import write_file


def leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]


def test_a_new_file_and_a_regular_file_are_written_whole(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    write_file(target, "一行目\n", what="--out")
    assert target.read_text(encoding="utf-8") == "一行目\n"
    write_file(target, b"second", what="--out", mode=0o600)
    assert target.read_bytes() == b"second"
    assert target.stat().st_mode & 0o777 == 0o600
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("kind", ["symlink", "dangling symlink", "fifo", "directory", "device"])
def test_a_special_file_at_the_target_is_refused_and_left_alone(tmp_path: Path, kind: str) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious", encoding="utf-8")
    target = tmp_path / "target"
    if kind == "symlink":
        target.symlink_to(victim)
    elif kind == "dangling symlink":
        target.symlink_to(tmp_path / "nowhere")
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "directory":
        target.mkdir()
    else:
        target = Path("/dev/null")
    with pytest.raises(FileWriteError) as caught:
        write_file(target, "x", what="--html")
    assert str(caught.value).startswith(f"--html {target}: refusing to write over ")
    assert "\n" not in str(caught.value)
    assert caught.value.exit_code == EXIT_FILE == 9
    assert victim.read_text(encoding="utf-8") == "precious"
    assert not (tmp_path / "nowhere").exists()
    assert leftovers(tmp_path) == []
    if kind == "device":
        assert Path("/dev/null").is_char_device()


def test_a_directory_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(FileWriteError, match=r"^--out .*: cannot write there \("):
        write_file(tmp_path / "missing" / "x.txt", "x", what="--out")


def envelope(delivery_id: int) -> Envelope:
    return Envelope(
        delivery_id=delivery_id,
        recipient="hanako@example.jp",
        sender="shop@example.jp",
        message_id=f"<{delivery_id}@example.jp>",
        data=f"Subject: {delivery_id}\r\n\r\nbody\r\n".encode(),
    )


def test_the_outbox_refuses_a_symlink_planted_at_a_message_name(tmp_path: Path) -> None:
    outbox = OutboxChannel(tmp_path / "outbox")
    outbox.open()
    victim = tmp_path / "victim"
    victim.write_text("precious", encoding="utf-8")
    outbox.path_for(envelope(1)).symlink_to(victim)
    results = outbox.send([envelope(1), envelope(2)])
    assert [r.result for r in results] == [Result.TEMPORARY, Result.SENT]
    assert "refusing to write over a symbolic link" in results[0].detail
    assert victim.read_text(encoding="utf-8") == "precious"
    assert outbox.path_for(envelope(2)).read_bytes() == envelope(2).data


def test_an_outbox_directory_that_cannot_be_created_fails_at_open(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(ChannelError, match=r"^email.outbox_dir .*: cannot create it"):
        OutboxChannel(blocker / "outbox").open()


def test_preview_output_refuses_a_symlink(tmp_path: Path, config_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious", encoding="utf-8")
    link = tmp_path / "preview.txt"
    link.symlink_to(victim)
    args = ["templates", "preview", "140001", "--config", str(config_path), "--output"]
    result = CliRunner().invoke(main, [*args, str(link)])
    assert result.exit_code == 9
    assert result.stderr.startswith(f"cartnudge: error: --output {link}: refusing to write over")
    assert victim.read_text(encoding="utf-8") == "precious"
    written = tmp_path / "preview-ok.txt"
    result = CliRunner().invoke(main, [*args, str(written)])
    assert result.exit_code == 0, result.output
    assert written.read_text(encoding="utf-8").startswith("Subject: ")


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    from tests.conftest import base_config, write_config

    return write_config(tmp_path, base_config(f"sqlite:///{tmp_path / 'shop.db'}", tmp_path))


def test_demo_refuses_to_replace_an_existing_shop_or_configuration_without_force(
    tmp_path: Path,
) -> None:
    for name in ("shop.db", "config.yaml"):
        directory = tmp_path / name.replace(".", "-")
        directory.mkdir()
        (directory / name).write_text("a real shop's file", encoding="utf-8")
        result = CliRunner().invoke(main, ["demo", "--dir", str(directory), "--customers", "10"])
        assert result.exit_code == 9, result.output
        assert result.stderr == (
            f"cartnudge: error: demo --dir: {directory / name} already exists; "
            "give --force to replace an earlier demo, or another --dir\n"
        )
        assert (directory / name).read_text(encoding="utf-8") == "a real shop's file"
        assert sorted(p.name for p in directory.iterdir()) == [name]
