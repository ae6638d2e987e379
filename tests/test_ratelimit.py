"""The rate limit: the pure schedule (GCRA token buckets) and the thread-safe limiter, on a fake
clock. No test sleeps."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartnudge.channels.ratelimit import Limiter
from cartnudge.core.ratelimit import RateLimit, Schedule


def send_times(limit: RateLimit, count: int, now: float = 0.0) -> list[float]:
    """When ``count`` messages asked for at ``now`` all at once may leave."""
    schedule = Schedule.start(limit, now)
    times = []
    for _ in range(count):
        at, schedule = schedule.reserve(now)
        times.append(at)
    return times


@pytest.mark.parametrize(
    "limit,count,expected",
    [
        # 2 a second: a burst of 2 (one second's worth) at once, then one every 0.5 s.
        (RateLimit(per_second=2), 5, [0, 0, 0.5, 1.0, 1.5]),
        # 1 a second: no burst beyond the first message.
        (RateLimit(per_second=1), 3, [0, 1, 2]),
        # 120 an hour: a burst of one minute's share (2), then one every 30 s.
        (RateLimit(per_hour=120), 4, [0, 0, 30, 60]),
        # both: the slower of the two decides (10/s, but 3600/h = 1/s after a burst of 60).
        (RateLimit(per_second=10, per_hour=3600), 3, [0, 0, 0]),
        (RateLimit(), 3, [0, 0, 0]),  # no limit
    ],
)
def test_messages_asked_for_at_once_leave_at_the_limits_pace(
    limit: RateLimit, count: int, expected: list[float]
) -> None:
    assert send_times(limit, count) == pytest.approx(expected)


def test_the_hourly_limit_holds_after_its_burst() -> None:
    # 10/s and 3600/h (one a second, a burst of one minute's share: 60). Message k may leave
    # at (k - 9) × 0.1 s by the per-second bucket and at k - 59 s by the hourly one: the
    # hourly one decides from k = 65 on, then one a second.
    times = send_times(RateLimit(per_second=10, per_hour=3600), 80)
    assert times[59] == pytest.approx(5.0)  # (59 - 9) × 0.1: the per-second pace
    assert times[64] == pytest.approx(5.5)
    assert times[65] == pytest.approx(6.0)  # 65 - 59
    assert times[79] - times[65] == pytest.approx(14.0)  # one a second


@given(
    per_second=st.floats(min_value=0.5, max_value=2000),
    per_hour=st.one_of(st.none(), st.floats(min_value=60, max_value=1e6)),
    count=st.integers(min_value=1, max_value=3000),
)
def test_no_minute_carries_more_than_the_limit_plus_its_burst(
    per_second: float, per_hour: float | None, count: int
) -> None:
    """Over any 60 s window at most 60 × per_second + one second's burst (1.7 % over at most
    for a limit of one a second or more)."""
    times = send_times(RateLimit(per_second, per_hour), count)
    allowed = 60 * per_second + max(1.0, per_second) + 1e-6
    j = 0
    for i, start in enumerate(times):
        while j < len(times) and times[j] < start + 60:
            j += 1
        assert j - i <= allowed


def test_a_pause_stops_everything_until_then_and_restarts_without_a_burst() -> None:
    schedule = Schedule.start(RateLimit(per_second=4), 0.0)
    schedule = schedule.pause(until=10.0)
    times = []
    for _ in range(3):
        at, schedule = schedule.reserve(1.0)
        times.append(at)
    assert times == pytest.approx([10.0, 10.25, 10.5])


def test_a_pause_applies_without_a_configured_limit_too() -> None:
    schedule = Schedule.start(RateLimit(), 0.0).pause(until=3.0)
    assert schedule.earliest(1.0) == 3.0
    assert schedule.earliest(5.0) == 5.0


def test_a_late_caller_does_not_get_a_burst_for_the_time_nobody_sent() -> None:
    # Idle for an hour, the bucket is full, not fuller: one second's worth at once.
    schedule = Schedule.start(RateLimit(per_second=2), 0.0)
    times = []
    for _ in range(4):
        at, schedule = schedule.reserve(3600.0)
        times.append(at)
    assert times == pytest.approx([3600, 3600, 3600.5, 3601])


@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan")])
def test_a_limit_must_be_a_positive_number(bad: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimit(per_second=bad)


class FakeClock:
    """A monotonic clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.lock = threading.Lock()
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.slept.append(seconds)
            self.now = max(self.now, self.now + seconds)


def test_the_limiter_sleeps_for_each_slot_on_its_clock() -> None:
    clock = FakeClock()
    limiter = Limiter(RateLimit(per_second=5), clock=clock, sleep=clock.sleep)
    waits = [limiter.wait() for _ in range(10)]
    # 5 at once (one second's burst), then one every 0.2 s as the clock moves with each sleep.
    assert waits[:5] == pytest.approx([0, 0, 0, 0, 0])
    assert waits[5:] == pytest.approx([0.2] * 5)
    assert clock.now == pytest.approx(101.0)
    assert limiter.waited == pytest.approx(1.0)


def test_without_a_limit_the_limiter_never_sleeps_until_paused() -> None:
    clock = FakeClock()
    limiter = Limiter(RateLimit(), clock=clock, sleep=clock.sleep)
    assert [limiter.wait() for _ in range(1000)] == [0.0] * 1000
    limiter.pause(2.5)
    assert limiter.wait() == pytest.approx(2.5)
    assert limiter.wait() == 0.0
    assert clock.slept == [2.5]


def test_threads_sharing_a_limiter_get_distinct_slots() -> None:
    """Four workers reserving at the same instant are spread over the limit's pace."""
    clock = FakeClock()
    reserved: list[float] = []
    lock = threading.Lock()

    def sleep(seconds: float) -> None:  # record the slot, do not move the shared clock
        with lock:
            reserved.append(clock.now + seconds)

    limiter = Limiter(RateLimit(per_second=2), clock=clock, sleep=sleep)
    threads = [
        threading.Thread(target=lambda: [limiter.wait() for _ in range(5)]) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 20 messages at 2/s from t=100: 2 at once, then 18 slots 0.5 s apart, each taken once.
    assert sorted(reserved) == pytest.approx([100 + 0.5 * k for k in range(1, 19)])
