"""The rate limit shared by a channel's connections or concurrent requests: a thread-safe wrapper
around the pure :class:`cartnudge.core.ratelimit.Schedule` with an injectable clock and sleep.

Each sender calls :meth:`Limiter.wait` before a message: it reserves the next slot under a lock
and sleeps, outside the lock, until that slot. A server that asks us to slow down is honoured
with :meth:`Limiter.pause`. Without a limit and before any pause, ``wait`` costs one attribute
read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from cartnudge.core.ratelimit import RateLimit, Schedule


class Limiter:
    """``limit`` for every caller of :meth:`wait`, across threads."""

    def __init__(
        self,
        limit: RateLimit,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit = limit
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._schedule = Schedule.start(limit, clock())
        self._free = limit.unlimited  # no limit and never paused: wait() returns at once
        self.waited = 0.0  # seconds slept in total, for the summary and the benchmark

    def wait(self) -> float:
        """Block until one more message may leave; the seconds waited."""
        if self._free:
            return 0.0
        with self._lock:
            now = self._clock()
            at, self._schedule = self._schedule.reserve(now)
        delay = at - now
        if delay > 1e-9:  # not a rounding error of the float arithmetic
            self._sleep(delay)
            with self._lock:
                self.waited += delay
            return delay
        return 0.0

    def pause(self, seconds: float) -> None:
        """Send nothing for ``seconds`` from now (the server asked us to slow down)."""
        with self._lock:
            self._schedule = self._schedule.pause(self._clock() + max(0.0, seconds))
            self._free = False


def unlimited() -> Limiter:
    """A limiter that never waits (until paused)."""
    return Limiter(RateLimit())
