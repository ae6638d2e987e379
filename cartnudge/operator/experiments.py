"""A/B tests of a step's template and delay (SPEC 2.8): figures per variant and the test's
state, for ``cartnudge experiments`` and ``cartnudge report``.

Each variant's persons are those who entered the test (:class:`cartnudge.state.experiments.
Assignment`: the tested step fell due under the earliest delay of the test and every rule
allowed it), counted once per person, cumulatively since the test started. A person recovered
when they completed any order within ``recovery.attribution_window`` after entering, whichever
variant and link (the holdout comparison's rule, so a later reminder cannot lose the shoppers
who bought before it). The state is :func:`cartnudge.core.stats.evaluate_ab_test` (mixture
SPRT, valid however often it is read) under the design of :func:`cartnudge.core.stats.
plan_ab_test` from ``measure.baseline``, ``measure.min_effect``, ``measure.confidence`` and
``measure.power``; the first "winner" or "no difference" is recorded and kept from then on, as
the test's guarantee requires. Keep those settings and the weights while a test runs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

from cartnudge.core.durations import format_duration
from cartnudge.core.experiments import Experiment
from cartnudge.core.stats import ABDesign, ABResult, Arm, Interval, evaluate_ab_test, plan_ab_test
from cartnudge.operator.lift import Purchase, read_purchases

if TYPE_CHECKING:
    from cartnudge.app import App

STOPPED = "stopped"


@dataclass(frozen=True)
class ArmFigures:
    name: str
    weight: float
    template_id: int
    delay: timedelta
    persons: int = 0  # entered the test in this variant
    sent: int = 0  # messages of the tested step sent in this variant
    clicks: int = 0
    clicked: int = 0  # messages clicked at least once
    recovered: int = 0  # persons who bought within the window after entering
    revenue: int = 0

    def revenue_per_person(self, confidence: float) -> tuple[float, Interval] | None:
        """Mean revenue per person with its normal-approximation interval (mean +- z s/sqrt(n),
        s the sample standard deviation of per-person revenue, zeros included); None below
        2 persons."""
        return None if self._revenue is None else self._interval(confidence)

    _revenue: tuple[float, float] | None = None  # mean, variance (set by collect)

    def _interval(self, confidence: float) -> tuple[float, Interval]:
        assert self._revenue is not None
        mean, variance = self._revenue
        half = NormalDist().inv_cdf(0.5 + confidence / 2) * math.sqrt(variance / self.persons)
        return mean, Interval(mean - half, mean + half)


@dataclass(frozen=True)
class ExperimentReport:
    experiment: Experiment
    design: ABDesign
    arms: tuple[ArmFigures, ...]
    result: ABResult
    state: str  # collecting | winner | no_difference | stopped
    variant: str | None  # the winner, or the variant kept when stopped
    decided_at: datetime | None
    confidence: float


def _arm_counts(
    persons: list[dict[str, Any]], purchases: Iterable[Purchase], window: timedelta
) -> dict[str, tuple[int, int, int, int]]:
    """variant -> (persons, recovered, revenue, revenue squares)."""
    entries: dict[str, list[tuple[datetime, str]]] = {}
    for p in persons:
        entries.setdefault(str(p["customer_id"]), []).append((p["at"], p["variant"]))
    revenue: dict[tuple[str, str], int] = {}
    for purchase in purchases:
        customer = purchase.customer_id
        for at, variant in entries.get(customer, ()):
            if at <= purchase.completed_at <= at + window:
                revenue[(variant, customer)] = revenue.get((variant, customer), 0) + purchase.amount
    out: dict[str, list[int]] = {}
    for p in persons:
        counts = out.setdefault(p["variant"], [0, 0, 0, 0])
        value = revenue.get((p["variant"], str(p["customer_id"])))
        counts[0] += 1
        if value is not None:
            counts[1] += 1
            counts[2] += value
            counts[3] += value * value
    return {k: (v[0], v[1], v[2], v[3]) for k, v in out.items()}


def collect_experiments(app: App, now: datetime, *, record: bool = True) -> list[ExperimentReport]:
    """Every configured A/B test's figures and state; with ``record`` the first decision is
    written (the test's guarantee is about that first time). Raises DatabaseError."""
    cfg = app.config
    if not cfg.experiments:
        return []
    app.deliveries.ensure_ready()
    decisions = app.experiments.decisions()
    out = []
    for exp in cfg.experiments.values():
        persons = app.experiments.arm_persons(exp.name)
        purchases: list[Purchase] = []
        if persons:
            first, last = min(p["at"] for p in persons), max(p["at"] for p in persons)
            purchases = list(read_purchases(app, first, last))
        counts = _arm_counts(persons, purchases, cfg.lift_window)
        sent = {r["variant"]: r for r in app.experiments.arm_deliveries(exp.flow, exp.step)}
        arms = []
        for v in exp.variants:
            n, recovered, revenue, squares = counts.get(v.name, (0, 0, 0, 0))
            stats = None
            if n >= 2:
                stats = (revenue / n, (n * squares - revenue * revenue) / (n * (n - 1)))
            row = sent.get(v.name, {})
            arms.append(
                ArmFigures(
                    v.name,
                    v.weight,
                    v.template_id,
                    v.delay,
                    n,
                    row.get("sent", 0),
                    row.get("clicks", 0),
                    row.get("clicked", 0),
                    recovered,
                    revenue,
                    stats,
                )
            )
        design = plan_ab_test(
            len(exp.variants),
            cfg.baseline,
            cfg.min_effect,
            alpha=1.0 - cfg.confidence,
            power=cfg.power,
        )
        result = evaluate_ab_test([Arm(a.name, a.persons, a.recovered) for a in arms], design)
        known = decisions.get(exp.name)
        if known is None and record and result.state.value != "collecting":
            detail = f"persons {', '.join(f'{a.name} {a.persons}' for a in arms)}"
            app.experiments.decide(exp.name, result.state.value, result.winner, detail, now)
            known = {"state": result.state.value, "variant": result.winner, "decided_at": now}
        state = known["state"] if known else result.state.value
        out.append(
            ExperimentReport(
                exp,
                design,
                tuple(arms),
                result,
                state,
                known["variant"] if known else result.winner,
                known["decided_at"] if known else None,
                cfg.confidence,
            )
        )
    return out


# -- shapes for output: pure -----------------------------------------------------------------

STATE_TEXT = {
    "collecting": "collecting",
    "winner": "winner",
    "no_difference": "no difference",
    STOPPED: "stopped",
}


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.1f}%"


def state_text(r: ExperimentReport) -> str:
    text = STATE_TEXT.get(r.state, r.state)
    if r.state == "winner":
        return f"winner: {r.variant}"
    if r.state == STOPPED:
        return f"stopped, kept {r.variant}"
    if r.state == "collecting":
        return f"collecting (up to {r.result.still_needed:,} more persons per variant)"
    return text


def arm_rows(r: ExperimentReport) -> list[list[str]]:
    """One row per variant: variant, weight, template, delay, persons, sent, clicks, click
    rate, recovered, recovery rate (CI), lift vs control (CI), p-value, revenue per person
    (CI)."""
    rows = []
    for arm, res in zip(r.arms, r.result.arms, strict=True):
        rev = arm.revenue_per_person(r.confidence)
        rows.append(
            [
                arm.name,
                f"{arm.weight:g}",
                str(arm.template_id),
                format_duration(arm.delay),
                f"{arm.persons:,}",
                f"{arm.sent:,}",
                f"{arm.clicks:,}",
                _pct(arm.clicked / arm.sent if arm.sent else None),
                f"{arm.recovered:,}",
                _pct(res.rate)
                + (
                    ""
                    if res.rate_ci is None
                    else f" ({_pct(res.rate_ci.low)}-{_pct(res.rate_ci.high)})"
                ),
                "control"
                if res.lift is None and arm is r.arms[0]
                else (
                    "-"
                    if res.lift is None or res.lift_ci is None
                    else f"{res.lift * 100:+.1f} pt ({res.lift_ci.low * 100:+.1f} to "
                    f"{res.lift_ci.high * 100:+.1f})"
                ),
                "-" if res.p_value is None else f"{res.p_value:.4f}",
                "-"
                if rev is None
                else f"¥{rev[0]:,.0f} (¥{max(0.0, rev[1].low):,.0f}-¥{rev[1].high:,.0f})",
            ]
        )
    return rows


ARM_HEADERS = (
    "variant",
    "weight",
    "template",
    "delay",
    "persons",
    "sent",
    "clicks",
    "click rate",
    "recovered",
    "recovery rate (CI)",
    "lift vs control (CI)",
    "p-value",
    "revenue per person (CI)",
)


def experiment_to_dict(r: ExperimentReport) -> dict[str, Any]:
    e = r.experiment

    def iv(i: Interval | None) -> dict[str, float] | None:
        return None if i is None else {"low": i.low, "high": i.high}

    arms = []
    for arm, res in zip(r.arms, r.result.arms, strict=True):
        rev = arm.revenue_per_person(r.confidence)
        arms.append(
            {
                "variant": arm.name,
                "weight": arm.weight,
                "template_id": arm.template_id,
                "delay": format_duration(arm.delay),
                "persons": arm.persons,
                "sent": arm.sent,
                "clicks": arm.clicks,
                "clicked": arm.clicked,
                "recovered": arm.recovered,
                "revenue": arm.revenue,
                "recovery_rate": res.rate,
                "recovery_rate_ci": iv(res.rate_ci),
                "lift": res.lift,
                "lift_ci": iv(res.lift_ci),
                "p_value": res.p_value,
                "revenue_per_person": None if rev is None else rev[0],
                "revenue_per_person_ci": None if rev is None else iv(rev[1]),
            }
        )
    return {
        "experiment": e.name,
        "flow": e.flow,
        "step": e.step,
        "state": r.state,
        "variant": r.variant,
        "decided_at": None if r.decided_at is None else r.decided_at.isoformat(),
        "still_needed_per_variant": r.result.still_needed,
        "max_per_variant": r.design.max_per_arm,
        "alpha": r.design.alpha,
        "arms": arms,
    }
