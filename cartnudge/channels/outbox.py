"""The file outbox: one ``.eml`` file per message, the embedded default and the demo's channel.

Files are named by delivery id and written through :func:`cartnudge.files.write_file` (a
temporary file beside, then a rename only over a regular file): a re-send of the same delivery
replaces its own file, a reader never sees half a message, and a symlink or special file planted
at a message's name is refused, never written through.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cartnudge.channels.base import Channel, Envelope, Result, SendResult
from cartnudge.errors import ChannelError, FileWriteError
from cartnudge.files import write_file


class OutboxChannel(Channel):
    name = "outbox"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def open(self) -> None:
        """Create the directory; ChannelError (exit 5) when it cannot be created or is not a
        directory, before anything is marked sending."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise ChannelError(
                f"email.outbox_dir {self.directory}: cannot create it ({reason})"
            ) from None
        if not self.directory.is_dir():
            raise ChannelError(f"email.outbox_dir {self.directory}: not a directory")

    def path_for(self, envelope: Envelope) -> Path:
        return self.directory / f"{envelope.delivery_id:012d}.eml"

    def send(self, batch: Sequence[Envelope]) -> list[SendResult]:
        results = []
        for envelope in batch:
            final = self.path_for(envelope)
            try:
                write_file(final, envelope.data, what="outbox message", fsync=True)
            except FileWriteError as exc:
                results.append(SendResult(envelope.delivery_id, Result.TEMPORARY, f"outbox: {exc}"))
                continue
            results.append(SendResult(envelope.delivery_id, Result.SENT, f"written {final.name}"))
        return results
