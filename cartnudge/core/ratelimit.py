"""A channel's rate limit as pure arithmetic: when may the next message leave?

Each limit (messages per second, messages per hour) is a token bucket written as the Generic
Cell Rate Algorithm (GCRA, ITU-T I.371): the state is one number per limit, the *theoretical
arrival time* ``tat``, the time at which the bucket would be full again. A message may leave at
``tat - burst`` at the earliest; reserving it moves ``tat`` on by one emission interval
(``1 / rate``). Nothing here reads a clock or sleeps: the caller passes ``now`` (seconds on any
monotonic clock) and gets back the time at which its message may leave, so several senders
(connections, threads) can each reserve a slot in turn and wait for it.

Bursts: the per-second bucket holds one second's messages (at least one), the per-hour bucket
one minute's share of the hour. So over any minute at most ``60 × per_second + per_second``
messages leave (1.7 % over), and over any hour at most ``per_hour × 61/60``.

A server that asks us to slow down (a 421/451 "too many messages", HTTP 429 with
``Retry-After``) is honoured with :meth:`Schedule.pause`: nothing leaves before that time, and
the buckets start again from there without a burst.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class RateLimit:
    """At most ``per_second`` and at most ``per_hour`` messages (``None``: no such limit)."""

    per_second: float | None = None
    per_hour: float | None = None

    def __post_init__(self) -> None:
        for name, value in (("per_second", self.per_second), ("per_hour", self.per_hour)):
            if value is not None and not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a positive number, not {value!r}")

    @property
    def unlimited(self) -> bool:
        return self.per_second is None and self.per_hour is None

    def buckets(self) -> tuple[Bucket, ...]:
        """The token buckets this limit is made of (none when unlimited)."""
        found = []
        if self.per_second is not None:
            found.append(Bucket(interval=1 / self.per_second, size=max(1.0, self.per_second)))
        if self.per_hour is not None:
            found.append(Bucket(interval=3600 / self.per_hour, size=max(1.0, self.per_hour / 60)))
        return tuple(found)


@dataclass(frozen=True)
class Bucket:
    """One limit: a message every ``interval`` seconds on average, ``size`` of them at once."""

    interval: float
    size: float

    @property
    def burst(self) -> float:
        """How far ahead of ``now`` the theoretical arrival time may run (seconds)."""
        return (self.size - 1) * self.interval


@dataclass(frozen=True)
class Schedule:
    """The state of a rate limit: each bucket's theoretical arrival time, and the time before
    which nothing may leave because the server asked us to wait."""

    buckets: tuple[Bucket, ...]
    tats: tuple[float, ...]
    not_before: float = -math.inf

    @classmethod
    def start(cls, limit: RateLimit, now: float) -> Schedule:
        """A full bucket at ``now``: the first burst may leave at once."""
        buckets = limit.buckets()
        return cls(buckets, tuple(now for _ in buckets))

    def earliest(self, now: float) -> float:
        """When the next message could leave, without reserving it."""
        at = max(now, self.not_before)
        for bucket, tat in zip(self.buckets, self.tats, strict=True):
            at = max(at, tat - bucket.burst)
        return at

    def reserve(self, now: float) -> tuple[float, Schedule]:
        """(the time the next message leaves, the schedule after it): the slot is taken."""
        at = self.earliest(now)
        tats = tuple(
            max(tat, at) + bucket.interval
            for bucket, tat in zip(self.buckets, self.tats, strict=True)
        )
        return at, replace(self, tats=tats)

    def pause(self, until: float) -> Schedule:
        """Nothing leaves before ``until`` (the server asked us to wait); after it, the buckets
        refill from empty, so the sending starts again at the limit's pace, not in a burst."""
        tats = tuple(
            max(tat, until + bucket.burst)
            for bucket, tat in zip(self.buckets, self.tats, strict=True)
        )
        return replace(self, tats=tats, not_before=max(self.not_before, until))
