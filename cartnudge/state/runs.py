"""One row per sweep: when it started and finished, and what it counted."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from cartnudge.core.incremental import PastSweep
from cartnudge.state.schema import runs
from cartnudge.state.store import Store


class Runs(Store):
    """The runs table. Raises DatabaseError on failure."""

    def start_run(
        self,
        run_id: str,
        command_name: str,
        now: datetime,
        *,
        host: str,
        pid: int,
        dry_run: bool,
        started_at: datetime,
        mode: str | None = None,
        fingerprint: str | None = None,
    ) -> None:
        self._write(
            "start run",
            lambda c: c.execute(
                runs.insert().values(
                    id=run_id,
                    command=command_name,
                    started_at=started_at,
                    now=now,
                    host=host,
                    pid=pid,
                    dry_run=dry_run,
                    status="running",
                    mode=mode,
                    fingerprint=fingerprint,
                )
            ),
        )

    def finish_run(
        self, run_id: str, status: str, summary_json: str, finished_at: datetime
    ) -> None:
        self._write(
            "finish run",
            lambda c: c.execute(
                update(runs)
                .where(runs.c.id == run_id)
                .values(status=status, summary=summary_json, finished_at=finished_at)
            ),
        )

    def close_dead(
        self, host: str, alive: Callable[[int], bool], started_before: datetime, now: datetime
    ) -> int:
        """Close as ``died`` the runs left ``running`` by a process that is gone: on this
        ``host``, those whose pid is not ``alive``; on any host, those started before
        ``started_before`` (no sweep runs that long). Returns how many were closed."""
        stmt = select(runs.c.id, runs.c.host, runs.c.pid, runs.c.started_at).where(
            runs.c.status == "running"
        )
        rows = self._read("running runs", lambda c: list(c.execute(stmt)))
        dead = [
            r.id
            for r in rows
            if (r.host == host and r.pid is not None and not alive(r.pid))
            or r.started_at < started_before
        ]
        if not dead:
            return 0
        close = (
            update(runs)
            .where(runs.c.id.in_(dead), runs.c.status == "running")
            .values(status="died", finished_at=now)
        )
        return self._write("close dead runs", lambda c: c.execute(close).rowcount)

    def last_sweep_now(self) -> datetime | None:
        """The ``now`` of the latest sweep that finished (recoveries are read from there on)."""
        stmt = select(func.max(runs.c.now)).where(
            runs.c.command == "sweep",
            runs.c.dry_run.is_(False),
            runs.c.status.in_(("ok", "problems")),
        )
        return self._read("last sweep", lambda c: c.execute(stmt).scalar())

    def sweep_history(self) -> list[PastSweep]:
        """For choosing what a sweep reads (cartnudge.core.incremental.plan_reads): the
        non-dry-run sweeps started since the latest completed one (that one included), the
        latest completed full sweep, and the one with the latest ``now``; latest started
        first, each once."""
        c = runs.c
        real = (c.command == "sweep", c.dry_run.is_(False))
        completed = c.status.in_(("ok", "problems"))
        cols = (c.id, c.now, c.status, c.mode, c.fingerprint, c.started_at)

        def read(conn: Any) -> list[Any]:
            last = conn.execute(select(func.max(c.started_at)).where(*real, completed)).scalar()
            rows = list(
                conn.execute(
                    select(*cols).where(*real, c.started_at >= last)
                    if last is not None
                    else select(*cols).where(*real)
                )
            )
            rows += conn.execute(
                select(*cols)
                .where(*real, completed, c.mode == "full")
                .order_by(c.started_at.desc())
                .limit(1)
            ).all()
            rows += conn.execute(select(*cols).where(*real).order_by(c.now.desc()).limit(1)).all()
            return rows

        rows = self._read("sweep history", read)
        unique = {r.id: r for r in rows}.values()
        return [
            PastSweep(r.now, r.status, r.mode == "full", r.fingerprint)
            for r in sorted(unique, key=lambda r: (r.started_at, r.now), reverse=True)
        ]

    def signing_keys_since(self, since: datetime) -> dict[str, datetime]:
        """Per signing-key fingerprint recorded by a run (``signing_key`` in its summary), the
        latest ``now`` of a run since ``since`` that signed with it: the links it signed
        stay valid until then plus their lifetime."""
        stmt = select(runs.c.now, runs.c.summary).where(
            runs.c.now >= since,
            runs.c.dry_run.is_(False),
            runs.c.command.in_(("sweep", "send-bulk")),
        )
        out: dict[str, datetime] = {}

        def read(conn: object) -> None:
            for row in conn.execute(stmt):  # type: ignore[attr-defined]
                try:
                    fingerprint = json.loads(row.summary or "{}").get("signing_key")
                except (ValueError, AttributeError):
                    continue
                if isinstance(fingerprint, str) and fingerprint:
                    out[fingerprint] = max(out.get(fingerprint, row.now), row.now)

        self._read("signing keys", read)
        return out
