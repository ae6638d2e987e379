"""One sweep in its own OS process, for the idempotency tests (tests/test_idempotency.py).

    python -m tests.sweeper_process --config PATH --now 2026-11-22T12:00:00 [options]

Builds the App from the configuration file, runs one :class:`cartnudge.sweep.Sweep` through the
configured e-mail channel (the file outbox in the tests), wrapped as the options ask, and prints
the run's summary as one line of JSON on stdout. The token signing key comes from the
environment variable the configuration names (the tests pass it).

Options that make the process misbehave on purpose:

--pause-per-batch S   sleep S seconds in every batch before handing it over, so that two
                      sweeps running at once really interleave.
--gate DIR --name N   a start barrier: write DIR/N.ready once everything is imported and built,
                      then wait for DIR/go before sweeping (the test creates it when every
                      process is ready), so that two processes start sweeping together.
--crash-after N       hand messages to the channel one at a time and die with ``os._exit(70)``
                      right after the N-th one has been written: a kill -9 while SMTP sends.
--crash-after-claim   die with ``os._exit(71)`` right after the first claim has been committed,
                      before anything was handed to a channel.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from cartnudge.app import App
from cartnudge.channels.base import Channel, Envelope, SendResult
from cartnudge.config import load_config
from cartnudge.sweep import Sweep

EXIT_CRASH_SENDING = 70
EXIT_CRASH_CLAIMED = 71


class MisbehavingChannel(Channel):
    """Wraps the real channel: pauses per batch, or dies after the N-th message."""

    def __init__(self, inner: Channel, *, pause: float, crash_after: int | None) -> None:
        self.inner = inner
        self.name = inner.name
        self.pause = pause
        self.crash_after = crash_after
        self.handed = 0

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self.inner.close()

    def send(self, batch: Sequence[Envelope]) -> list[SendResult]:
        if self.pause:
            time.sleep(self.pause)
        if self.crash_after is None:
            return self.inner.send(batch)
        results: list[SendResult] = []
        for envelope in batch:
            results.extend(self.inner.send([envelope]))
            self.handed += 1
            if self.handed >= self.crash_after:
                sys.stdout.flush()
                os._exit(EXIT_CRASH_SENDING)  # no cleanup, no commit: as kill -9 would
        return results


def wait_at_gate(gate: Path, name: str, timeout: float = 60.0) -> None:
    (gate / f"{name}.ready").write_text(str(os.getpid()), encoding="utf-8")
    deadline = time.monotonic() + timeout
    while not (gate / "go").exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"{name}: nobody opened the gate {gate}")
        time.sleep(0.005)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.sweeper_process")
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--now", required=True, type=datetime.fromisoformat)
    parser.add_argument("--pause-per-batch", type=float, default=0.0)
    parser.add_argument("--gate", type=Path)
    parser.add_argument("--name", default="sweeper")
    parser.add_argument("--crash-after", type=int)
    parser.add_argument("--crash-after-claim", action="store_true")
    args = parser.parse_args(argv)

    app = App(load_config(args.config))
    store = app.deliveries
    if args.crash_after_claim:
        real_claim = store.claim

        def claim_then_die(*a, **kw):  # type: ignore[no-untyped-def]
            real_claim(*a, **kw)  # committed when it returns
            sys.stdout.flush()
            os._exit(EXIT_CRASH_CLAIMED)

        store.claim = claim_then_die  # type: ignore[method-assign]
    channel = MisbehavingChannel(
        app.email_channel(), pause=args.pause_per_batch, crash_after=args.crash_after
    )
    if args.gate is not None:
        store.ensure_ready()  # connect before the gate, not after
        app.reader  # noqa: B018 - build it before the gate too
        wait_at_gate(args.gate, args.name)
    try:
        summary = Sweep(app, channel, now=args.now.replace(tzinfo=None)).run()
    finally:
        app.dispose()
    print(json.dumps(summary.to_dict()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
