"""Holdout groups (SPEC 2.9): which shoppers a flow, or one of its steps, deliberately does not
remind, so the report can measure what the reminders add. Pure: the assignment is
:func:`cartnudge.core.stats.in_holdout` of the person's key under a salt naming the experiment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cartnudge.core.stats import in_holdout

FLOW = "flow"
STEP = "step"


@dataclass(frozen=True)
class HoldoutPlan:
    """A flow's holdout: ``share`` of persons (0 to 1) get nothing from the flow; for a step
    in ``step_shares``, that share of the other persons get nothing from that step only.

    ``name`` is part of the salt: a new name draws a new, independent holdout (persons keep
    their group as long as the name and the share stay; raising a share only adds persons)."""

    flow: str
    share: float = 0.0
    name: str = "1"
    step_shares: dict[int, float] = field(default_factory=dict)

    @property
    def salt(self) -> str:
        return f"holdout:{self.flow}:{self.name}"

    def step_salt(self, step: int) -> str:
        return f"{self.salt}:step{step}"

    def level(self, person_key: str, step: int) -> str | None:
        """Whether the person (a key from :mod:`cartnudge.core.persons`) is held out of
        ``step`` of the flow: "flow" (in the flow's holdout), "step" (in that step's), or
        None (reminded)."""
        if self.share and in_holdout(person_key, self.salt, self.share):
            return FLOW
        step_share = self.step_shares.get(step, 0.0)
        if step_share and in_holdout(person_key, self.step_salt(step), step_share):
            return STEP
        return None

    def share_for(self, step: int | None) -> float:
        """The holdout share the report compares against: the flow's, or the step's."""
        return self.share if step is None else self.step_shares.get(step, 0.0)
