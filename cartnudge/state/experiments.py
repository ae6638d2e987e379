"""A/B tests: assignments (who entered which variant, when) and decisions (winner, no
difference, stopped with a kept variant)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select

from cartnudge.state.schema import assignments, deliveries, experiments
from cartnudge.state.store import Store, _insert_ignoring_conflicts


@dataclass(frozen=True)
class Assignment:
    experiment: str
    order_id: str
    episode: int
    variant: str
    customer_id: str | None
    abandoned_at: datetime


class Experiments(Store):
    """The assignments and experiments tables. Raises DatabaseError on failure."""

    def record_assignments(self, found: Sequence[Assignment], now: datetime) -> None:
        """Insert each (experiment, order, episode) once: the first time it entered the test."""
        if not found:
            return
        rows = [
            dict(
                experiment=a.experiment,
                order_id=a.order_id,
                episode=a.episode,
                variant=a.variant,
                customer_id=a.customer_id,
                abandoned_at=a.abandoned_at,
                assigned_at=now,
            )
            for a in {(a.experiment, a.order_id, a.episode): a for a in found}.values()
        ]
        self._write(
            "record assignments",
            lambda c: c.execute(_insert_ignoring_conflicts(c, assignments), rows),
        )

    def decisions(self) -> dict[str, dict[str, Any]]:
        """Every recorded decision by experiment name."""
        stmt = select(experiments)
        return self._read(
            "experiments", lambda c: {r.name: dict(r._mapping) for r in c.execute(stmt)}
        )

    def decide(
        self, name: str, state: str, variant: str | None, detail: str, now: datetime
    ) -> bool:
        """Record the first decision of ``name``; False when one was already recorded (a stop
        replaces a winner or no-difference decision, never another stop)."""

        def run(conn: Any) -> bool:
            known = conn.execute(
                select(experiments.c.state).where(experiments.c.name == name)
            ).scalar_one_or_none()
            if known is not None and (known == "stopped" or state != "stopped"):
                return False
            if known is not None:
                conn.execute(delete(experiments).where(experiments.c.name == name))
            conn.execute(
                experiments.insert().values(
                    name=name, state=state, variant=variant, detail=detail[:500], decided_at=now
                )
            )
            return True

        return self._write("record experiment decision", run)

    def arm_persons(self, name: str) -> list[dict[str, Any]]:
        """Per assigned person (customer) of ``name``: variant, first assignment time."""
        a = assignments.c
        stmt = (
            select(a.variant, a.customer_id, func.min(a.assigned_at).label("at"))
            .where(a.experiment == name, a.customer_id.is_not(None))
            .group_by(a.variant, a.customer_id)
        )
        return self._read("assignments", lambda c: [dict(r._mapping) for r in c.execute(stmt)])

    def arm_deliveries(self, flow: str, step: int) -> list[dict[str, Any]]:
        """Per variant of a flow's step: messages sent and clicks."""
        d = deliveries.c
        stmt = (
            select(
                d.variant,
                func.count().label("sent"),
                func.sum(func.coalesce(d.clicks, 0)).label("clicks"),
                func.count(func.nullif(d.clicks, 0)).label("clicked"),
            )
            .where(d.flow == flow, d.step == step, d.status == "sent", d.variant.is_not(None))
            .group_by(d.variant)
        )
        return self._read(
            "arm deliveries",
            lambda c: [
                {k: (int(v or 0) if k != "variant" else v) for k, v in r._mapping.items()}
                for r in c.execute(stmt)
            ],
        )
