"""Bucket leases: several sweepers sharing this state divide the candidates (README, "Several
sweepers"; the pure rules are in cartnudge.core.buckets).

One row per bucket and number of buckets (``sweep.buckets``; hosts configured with different
numbers use different rows, so they never skip each other's work: they only both do it). A
sweeper takes a row with one conditional UPDATE (the same on SQLite, PostgreSQL and MariaDB):
it succeeds only while the row is not swept for this round and nobody holds it (no lease, a
lease that is over on the database's clock, or an owner whose run is no longer ``running``).
The database serialises the UPDATEs of one row, and PostgreSQL and InnoDB re-check the WHERE
on the row's newest version, so exactly one sweeper gets each bucket per round. No coordinator
process: a dead sweeper's bucket is free again when its lease ends (or at once when a later
sweep on its host closes its run as died).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, or_, select, update

from cartnudge.state.schema import runs, sweep_buckets
from cartnudge.state.store import Store, _insert_ignoring_conflicts

t = sweep_buckets.c


@dataclass(frozen=True)
class BucketRow:
    """One bucket's state: ``swept_for`` the start of the round it was last swept for."""

    bucket: int
    owner: str | None
    lease_until: datetime | None
    swept_for: datetime | None
    swept_at: datetime | None


def _free(
    count: int, round_: datetime, clock: datetime, again_before: datetime | None = None
) -> object:
    """SQL: a row of ``count`` buckets a sweeper of round ``round_`` may take at ``clock``
    (cartnudge.core.buckets.bucket_free); with ``again_before``, also one swept in this round
    by a sweep whose ``now`` was before it (``sweep --every-bucket``)."""
    owner_running = exists().where(runs.c.id == t.owner, runs.c.status == "running")
    if again_before is None:
        not_swept = or_(t.swept_for.is_(None), t.swept_for < round_)
    else:
        not_swept = or_(t.swept_at.is_(None), t.swept_at < again_before)
    return and_(
        t.buckets == count,
        not_swept,
        or_(t.owner.is_(None), t.lease_until.is_(None), t.lease_until < clock, ~owner_running),
    )


class Buckets(Store):
    """The bucket leases. Every method raises DatabaseError on failure."""

    def ensure(self, count: int, extra: tuple[int, ...] = ()) -> None:
        """Create the rows of buckets 0 .. count-1 (and of ``extra`` bucket numbers) that do
        not exist yet; sweepers creating them at once leave one row each."""
        want = set(range(count)) | set(extra)
        have = self._read(
            "bucket rows",
            lambda c: {r[0] for r in c.execute(select(t.bucket).where(t.buckets == count))},
        )
        missing = sorted(want - have)
        if not missing:
            return

        def run(conn: object) -> None:
            stmt = _insert_ignoring_conflicts(conn, sweep_buckets)
            conn.execute(stmt, [{"buckets": count, "bucket": b} for b in missing])  # type: ignore[attr-defined]

        self._write("create bucket rows", run)

    def free(
        self, count: int, round_: datetime, clock: datetime, again_before: datetime | None = None
    ) -> list[int]:
        """The buckets of ``count`` a sweeper of round ``round_`` may take now (a snapshot: the
        taking itself is :meth:`take`); ``again_before`` as for :meth:`take`."""
        stmt = select(t.bucket).where(_free(count, round_, clock, again_before)).order_by(t.bucket)
        return self._read("free buckets", lambda c: [r[0] for r in c.execute(stmt)])

    def take(
        self, count: int, bucket: int, run_id: str, round_: datetime, clock: datetime,
        until: datetime, again_before: datetime | None = None,
    ) -> bool:  # fmt: skip
        """Take ``bucket`` for run ``run_id`` until ``until`` if it is still free (one
        conditional UPDATE); True when this run got it. With ``again_before`` (a sweep's
        ``now``), a bucket already swept in this round by an earlier sweep is free too."""
        stmt = (
            update(sweep_buckets)
            .where(t.bucket == bucket, _free(count, round_, clock, again_before))
            .values(owner=run_id, lease_until=until)
        )
        return self._write("take bucket", lambda c: c.execute(stmt).rowcount) == 1

    def renew(self, count: int, bucket: int, run_id: str, until: datetime) -> bool:
        """Extend this run's lease on ``bucket``; False when the run no longer owns it (its
        lease ran out and another sweeper took it)."""
        stmt = (
            update(sweep_buckets)
            .where(t.buckets == count, t.bucket == bucket, t.owner == run_id)
            .values(lease_until=until)
        )
        return self._write("renew bucket", lambda c: c.execute(stmt).rowcount, durable=False) == 1

    def done(self, count: int, bucket: int, run_id: str, round_: datetime, at: datetime) -> bool:
        """Mark ``bucket`` swept for round ``round_`` by this run and let it go; False when the
        run no longer owned it."""
        stmt = (
            update(sweep_buckets)
            .where(t.buckets == count, t.bucket == bucket, t.owner == run_id)
            .values(owner=None, lease_until=None, swept_for=round_, swept_at=at, swept_by=run_id)
        )
        return self._write("bucket swept", lambda c: c.execute(stmt).rowcount) == 1

    def release_all(self, run_id: str) -> int:
        """Let go of every bucket this run still holds, unswept (a run that stops early): the
        others may take them at once. Returns how many."""
        stmt = update(sweep_buckets).where(t.owner == run_id).values(owner=None, lease_until=None)
        return self._write("release buckets", lambda c: c.execute(stmt).rowcount)

    def rows(self, count: int) -> list[BucketRow]:
        """Every row of ``count`` buckets (the recoveries job's included), by bucket."""
        stmt = (
            select(t.bucket, t.owner, t.lease_until, t.swept_for, t.swept_at)
            .where(t.buckets == count)
            .order_by(t.bucket)
        )
        return self._read("bucket rows", lambda c: [BucketRow(*r) for r in c.execute(stmt)])
