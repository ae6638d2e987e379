"""An in-memory channel for tests: records what was sent, answers as scripted."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cartnudge.channels.base import Channel, Envelope, Result, SendResult


class MemoryChannel(Channel):
    name = "memory"

    def __init__(self, answer: Callable[[Envelope], SendResult] | None = None) -> None:
        self.sent: list[Envelope] = []
        self.opened = 0
        self.closed = 0
        self._answer = answer

    def open(self) -> None:
        self.opened += 1

    def close(self) -> None:
        self.closed += 1

    def send(self, batch: Sequence[Envelope]) -> list[SendResult]:
        results = []
        for envelope in batch:
            result = (
                self._answer(envelope)
                if self._answer
                else SendResult(envelope.delivery_id, Result.SENT, "250 ok")
            )
            if result.result is Result.SENT:
                self.sent.append(envelope)
            results.append(result)
        return results
