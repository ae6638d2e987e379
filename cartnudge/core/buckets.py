"""Several sweepers dividing the work (README, "Several sweepers"): pure rules, no I/O.

The candidates are split into ``sweep.buckets`` buckets by a hash of the order id: the first 32
bits of the MD5 digest of the id's text (``'123'`` for the integer 123), modulo the number of
buckets. The same hash is computed by the shop's database in the page queries
(:data:`cartnudge.shop.contract.BUCKET_HASH`: ``md5`` on PostgreSQL and MariaDB, this function
registered on SQLite connections), so an order lands in the same bucket on every host, every run
and every database, whether its id is an integer or text.

Sweepers take buckets one at a time from the state (cartnudge.state.buckets); each bucket is
swept once per round, a round being the ``sweep.interval`` the sweep's ``now`` falls in
(:func:`round_start`). The order a sweeper tries the buckets in starts at a place of its own
(:func:`try_order`), so sweepers starting together seldom contend for the same row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta

EPOCH = datetime(1970, 1, 1)
# The once-per-round work that is not a bucket of candidates (recoveries attribution): taken
# through the same table, under this bucket number, by whichever sweeper gets it first.
RECOVERIES_JOB = -1


def bucket_hash(order_id: object) -> int | None:
    """The 32-bit hash of an order id: the first 8 hex digits of the MD5 of its text (an
    integer as its decimal digits, bytes as they are), as an unsigned integer; None for None.

    Equal to the page queries' SQL on PostgreSQL and MariaDB (``md5`` of the id cast to text);
    registered as ``cartnudge_bucket`` on SQLite connections (cartnudge.engines)."""
    if order_id is None:
        return None
    if isinstance(order_id, bytes):
        raw = order_id
    elif isinstance(order_id, bool):
        raw = str(int(order_id)).encode()
    else:
        raw = str(order_id).encode("utf-8", "surrogateescape")
    return int(hashlib.md5(raw, usedforsecurity=False).hexdigest()[:8], 16)


def bucket_of(order_id: object, buckets: int) -> int:
    """Which of ``buckets`` buckets (0 .. buckets-1) the order is in. Raises ValueError for
    ``buckets`` < 1 or an id of None."""
    if buckets < 1:
        raise ValueError(f"buckets must be at least 1 (got {buckets})")
    h = bucket_hash(order_id)
    if h is None:
        raise ValueError("an order id of None is in no bucket")
    return h % buckets


def round_start(now: datetime, interval: timedelta) -> datetime:
    """The start of the round ``now`` (naive UTC) falls in: rounds are ``interval`` long,
    counted from 1970-01-01 00:00 UTC, so every host computes the same one. Raises
    ValueError for an interval under one second."""
    step = int(interval.total_seconds())
    if step < 1:
        raise ValueError(f"the sweep interval must be at least 1 s (got {interval})")
    seconds = int((now - EPOCH).total_seconds())
    return EPOCH + timedelta(seconds=seconds - seconds % step)


def bucket_free(
    swept_for: datetime | None,
    lease_until: datetime | None,
    owner_running: bool,
    *,
    round_: datetime,
    clock: datetime,
) -> bool:
    """Whether a sweeper of round ``round_`` may take a bucket: not swept for this round (nor
    a later one), and nobody's (no lease, a lease over at ``clock``, or the owner's run is no
    longer running). The state's conditional UPDATE says the same in SQL."""
    if swept_for is not None and swept_for >= round_:
        return False
    return lease_until is None or lease_until < clock or not owner_running


def buckets_left(
    buckets: int,
    swept_for: Mapping[int, datetime | None],
    round_: datetime,
) -> list[int]:
    """The buckets (0 .. buckets-1) not yet swept for round ``round_``; a bucket missing from
    ``swept_for`` was never swept."""
    return [
        b
        for b in range(buckets)
        if swept_for.get(b) is None or swept_for[b] < round_  # type: ignore[operator]
    ]


def try_order(buckets: int, start: int) -> list[int]:
    """Every bucket once, starting at ``start`` (modulo ``buckets``) and wrapping around."""
    if buckets < 1:
        return []
    first = start % buckets
    return [(first + i) % buckets for i in range(buckets)]


def stale_buckets(
    buckets: int,
    swept_for: Mapping[int, datetime | None],
    now: datetime,
    interval: timedelta,
) -> list[int]:
    """The buckets (0 .. buckets-1) swept for neither the round ``now`` falls in nor the one
    before: a round went by without them (every sweeper down, or one stuck). A bucket missing
    from ``swept_for`` was never swept."""
    previous = round_start(now, interval) - interval
    return buckets_left(buckets, swept_for, previous)
