"""The file outbox: one ``.eml`` file per message, the embedded default and the demo's channel.

Files are named by delivery id and written to a temporary name, then renamed: a re-send of the
same delivery replaces its own file, and a reader never sees half a message.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from cartnudge.channels.base import Channel, Envelope, Result, SendResult


class OutboxChannel(Channel):
    name = "outbox"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)

    def path_for(self, envelope: Envelope) -> Path:
        return self.directory / f"{envelope.delivery_id:012d}.eml"

    def send(self, batch: Sequence[Envelope]) -> list[SendResult]:
        results = []
        for envelope in batch:
            final = self.path_for(envelope)
            temp = final.with_suffix(".tmp")
            try:
                with open(temp, "wb") as fh:
                    fh.write(envelope.data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(temp, final)
            except OSError as exc:
                results.append(
                    SendResult(
                        envelope.delivery_id, Result.TEMPORARY, f"outbox: {exc.strerror} ({final})"
                    )
                )
                continue
            results.append(SendResult(envelope.delivery_id, Result.SENT, f"written {final.name}"))
        return results
