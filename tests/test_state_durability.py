"""The SQLite state's journal and sync settings (README, "Delivery guarantees"): WAL, every
``sending`` mark (and every write outside the sweep's hot path) committed with
synchronous=FULL, claims, skips and outcomes with synchronous=NORMAL. Observed through the
SQL the connection really runs, so a change of policy fails here."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from cartnudge.core.rules import DeliveryStatus
from cartnudge.engines import build_engine
from cartnudge.state.deliveries import ClaimRequest, Deliveries, Outcome
from cartnudge.state.store import migrate

NOW = datetime(2026, 11, 22, 3, 0)


def _store(tmp_path: Path) -> tuple[Any, list[str]]:
    engine = build_engine(f"sqlite:///{tmp_path / 'state.db'}", writer=True, key="state.url")
    migrate(engine)
    seen: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _sql(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith(("PRAGMA synchronous", "BEGIN")):
            seen.append(statement)

    return engine, seen


def _request(n: int) -> ClaimRequest:
    return ClaimRequest(
        order_id=str(n),
        flow="cart",
        step=0,
        episode=0,
        channel="email",
        customer_id=str(n),
        recipient=f"c{n}@example.jp",
        template_id=140001,
        amount=1000,
        abandoned_at=NOW - timedelta(hours=4),
        episode_started_at=NOW - timedelta(hours=4),
        due_at=NOW - timedelta(hours=1),
    )


def test_the_state_file_is_in_wal_mode(tmp_path: Path) -> None:
    engine, _seen = _store(tmp_path)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_sending_marks_wait_for_the_disk_and_claims_and_outcomes_do_not(tmp_path: Path) -> None:
    engine, seen = _store(tmp_path)
    deliveries = Deliveries(engine)
    claimed = deliveries.claim([_request(1), _request(2)], NOW, timedelta(minutes=15))
    assert seen[-2:] == ["PRAGMA synchronous=NORMAL", "BEGIN IMMEDIATE"]
    deliveries.mark_sending([c.id for c in claimed], NOW, timedelta(minutes=15))
    assert seen[-2:] == ["PRAGMA synchronous=FULL", "BEGIN IMMEDIATE"]
    deliveries.record([Outcome(c.id, DeliveryStatus.SENT, "250 ok") for c in claimed], NOW)
    assert seen[-2:] == ["PRAGMA synchronous=NORMAL", "BEGIN IMMEDIATE"]
    with engine.begin() as conn:  # anything else (runs, suppressions, migrations): durable
        conn.execute(text("SELECT 1"))
    assert seen[-2:] == ["PRAGMA synchronous=FULL", "BEGIN IMMEDIATE"]
    with engine.connect() as conn:
        statuses = conn.execute(text("SELECT status FROM cartnudge_deliveries")).scalars().all()
    assert statuses == ["sent", "sent"]


def test_an_in_memory_state_keeps_its_journal_and_full_sync(tmp_path: Path) -> None:
    engine = build_engine("sqlite://", writer=True, key="state.url")
    seen: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _sql(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    with engine.begin() as conn:
        conn.execute(text("SELECT 1"))
    assert not any(s.startswith("PRAGMA synchronous") for s in seen)
