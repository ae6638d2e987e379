"""Holdout groups (SPEC 2.9) and A/B tests (SPEC 2.8): which shoppers a flow, or one of its
steps, deliberately does not remind, and which variant of a step's template and delay each
shopper gets. Pure: the assignment is :func:`cartnudge.core.stats.in_holdout` /
:func:`cartnudge.core.stats.assign` of the person's key under a salt naming the experiment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from cartnudge.core.stats import assign, in_holdout

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


# -- A/B tests of a step's content and timing (SPEC 2.8) --------------------------------------


@dataclass(frozen=True)
class Variant:
    """One arm: its template and delay (the step's own when the variant does not change them)
    and its relative weight."""

    name: str
    weight: float
    template_id: int
    delay: timedelta


@dataclass(frozen=True)
class Experiment:
    """An A/B test of one step of a flow. The first variant is the control. Every person is
    assigned by :func:`cartnudge.core.stats.assign` of their key under ``salt``: the same
    variant on every sweep, host and order."""

    name: str
    flow: str
    step: int
    variants: tuple[Variant, ...]

    @property
    def salt(self) -> str:
        return f"ab:{self.flow}:{self.name}"

    @property
    def earliest(self) -> timedelta:
        """The earliest delay of any variant: when a shopper enters the test (is assigned),
        whichever variant's reminder comes later (intention to treat)."""
        return min(v.delay for v in self.variants)

    def variant(self, name: str) -> Variant:
        return next(v for v in self.variants if v.name == name)

    def assign(self, person_key: str, kept: str | None = None) -> Variant:
        """The person's variant; ``kept`` (a stopped test's chosen variant) for everyone."""
        if kept is not None:
            return self.variant(kept)
        return self.variant(
            assign(person_key, self.salt, [(v.name, v.weight) for v in self.variants])
        )
