"""Safe file writes: every file cartnudge writes (the HTML report, outbox messages, preview
output, the metrics file) goes through :func:`write_file`.

The data goes to a temporary file beside the target (same directory, so the rename is atomic on
one file system) and is renamed over the target only when the target is a regular file or does
not exist. A symlink, FIFO, device node, socket or directory at the target is refused with one
line and is never touched: cartnudge often runs as root from cron, where ``--html /dev/null`` or
a symlink planted in a shared directory must not destroy anything.

Sources: rename(2) replaces the directory entry (a symlink itself, not its target; a device node
itself); ``os.lstat`` sees the entry without following it.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from cartnudge.errors import FileWriteError


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "not a regular file"


def check_target(path: Path, *, what: str) -> None:
    """Raise :class:`FileWriteError` unless ``path`` is a regular file or does not exist.

    ``what`` names the file in the message (an option like ``--html`` or a config key)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise FileWriteError(f"{what} {path}: cannot inspect it ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise FileWriteError(
            f"{what} {path}: refusing to write over {_kind(info.st_mode)}; "
            "give the path of a regular file or a new one"
        )


def write_file(
    path: Path | str,
    data: bytes | str,
    *,
    what: str = "file",
    mode: int = 0o644,
    fsync: bool = False,
) -> Path:
    """Write ``data`` (str is encoded as UTF-8) to ``path`` atomically and return the path.

    Raises :class:`FileWriteError` (one line naming ``what`` and the path) when the target is a
    symlink, FIFO, device, socket or directory, or when the directory cannot be written. The
    temporary file is removed on every failure; the target is never left half written."""
    target = Path(path)
    check_target(target, what=what)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise FileWriteError(f"{what} {target}: cannot write there ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        # Check again just before the rename: a special file may have appeared meanwhile.
        check_target(target, what=what)
        os.replace(tmp, target)
    except FileWriteError:
        Path(tmp).unlink(missing_ok=True)
        raise
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise FileWriteError(f"{what} {target}: cannot write it ({exc.strerror})") from None
    return target


def refuse_existing(paths: list[Path], *, what: str, hint: str) -> None:
    """Raise :class:`FileWriteError` naming the first of ``paths`` that exists (in any form,
    a dangling symlink included). ``hint`` says how to overwrite on purpose (e.g. ``--force``)."""
    for path in paths:
        if os.path.lexists(path):
            raise FileWriteError(f"{what}: {path} already exists; {hint}")
