"""Incremental lift (SPEC 2.9, ``cartnudge report``): reminded shoppers against the holdout.

Per flow (when it has a flow holdout) and per step (when that step has its own holdout): the
persons of the cohort (carts abandoned in the period) the flow reminded, and those it held out
at the moment it would have reminded them (the sweep records that moment, after every rule:
consent, cap, quiet hours, cart validity, the purchase re-check). Both groups are counted the
same way: a person recovered when they completed any order within the attribution window
(``recovery.attribution_window``) after their first (would-be) reminder, whatever link they
used; their revenue is those orders' total. The statistics are
:func:`cartnudge.core.stats.compare_holdout`'s (rates, lift with its 95 % interval, relative
lift, incremental orders and revenue with intervals, p-value, sample sizes, and "not enough
data yet" with the persons still needed).

The pure part is :func:`build_lift`; :func:`collect_lift` reads the rows. The persons of the
groups are held in memory (one small entry per reminded or held-out person of the period);
completed orders stream from the shop in pages.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cartnudge.core.experiments import FLOW, STEP, HoldoutPlan
from cartnudge.core.stats import GroupCounts, HoldoutComparison, compare_holdout

if TYPE_CHECKING:
    from cartnudge.app import App
    from cartnudge.operator.report import Bucket, Period

REMINDED, HOLDOUT = "reminded", "holdout"


@dataclass(frozen=True)
class PersonRow:
    """One person's first (would-be) reminder of a flow's step (state: holdout_persons)."""

    flow: str
    step: int
    customer_id: str
    group: str  # REMINDED or HOLDOUT
    level: str | None  # FLOW or STEP for the holdout, None for the reminded
    at: datetime
    abandoned_at: datetime


@dataclass(frozen=True)
class Purchase:
    customer_id: str
    completed_at: datetime
    amount: int


@dataclass(frozen=True)
class SeriesPoint:
    bucket: Bucket
    reminded: GroupCounts
    holdout: GroupCounts

    @staticmethod
    def rate(g: GroupCounts) -> float | None:
        return g.recovered / g.persons if g.persons else None


@dataclass(frozen=True)
class Lift:
    """One comparison: a flow (``step`` None) or one step."""

    flow: str
    step: int | None
    share: float  # the configured holdout share (0 when the holdout is no longer configured)
    reminded: GroupCounts
    holdout: GroupCounts
    comparison: HoldoutComparison
    series: tuple[SeriesPoint, ...] = ()
    min_effect: float = 0.0  # the planned lift the sample sizes are for


@dataclass
class _Person:
    at: datetime
    abandoned_at: datetime
    recovered: bool = False
    revenue: int = 0


def _groups(
    rows: Iterable[PersonRow], plans: dict[str, HoldoutPlan]
) -> dict[tuple[str, int | None], dict[str, dict[str, _Person]]]:
    """(flow, step or None) -> group -> customer -> their first time. A flow's comparison
    takes every reminded person and the flow holdout; a step's, the persons that step
    reminded and that step's own holdout."""
    out: dict[tuple[str, int | None], dict[str, dict[str, _Person]]] = {}

    def put(key: tuple[str, int | None], group: str, row: PersonRow) -> None:
        persons = out.setdefault(key, {REMINDED: {}, HOLDOUT: {}})[group]
        known = persons.get(row.customer_id)
        if known is None or row.at < known.at:
            persons[row.customer_id] = _Person(row.at, row.abandoned_at)

    for row in rows:
        plan = plans.get(row.flow)
        if row.group == REMINDED:
            put((row.flow, None), REMINDED, row)
            if plan is None or plan.step_shares.get(row.step):
                put((row.flow, row.step), REMINDED, row)
        elif row.level == STEP:
            put((row.flow, row.step), HOLDOUT, row)
        else:
            put((row.flow, None), HOLDOUT, row)
    # A flow's reminded persons who were also in the flow holdout cannot be: the assignment is
    # per person. A step's comparison exists only where that step has holdout persons.
    return {
        key: groups
        for key, groups in out.items()
        if groups[HOLDOUT]
        or (key[1] is None and key[0] in plans and plans[key[0]].share)
        or (key[1] is not None and key[0] in plans and plans[key[0]].step_shares.get(key[1]))
    }


def _counts(persons: Iterable[_Person]) -> GroupCounts:
    n = recovered = revenue = squares = 0
    for p in persons:
        n += 1
        recovered += p.recovered
        revenue += p.revenue
        squares += p.revenue * p.revenue
    return GroupCounts(n, recovered, revenue, squares)


def build_lift(
    rows: Iterable[PersonRow],
    purchases: Iterable[Purchase],
    *,
    plans: dict[str, HoldoutPlan],
    window: timedelta,
    min_effect: float,
    confidence: float,
    power: float,
    buckets: Sequence[Bucket] = (),
    bounds: Sequence[datetime] = (),
) -> tuple[Lift, ...]:
    """The comparisons from the persons' rows and the purchases (streamed: each is matched
    against the groups as it passes). A person recovered when a purchase of theirs completed
    in [at, at + window]; their revenue is the total of such purchases."""
    groups = _groups(rows, plans)
    by_customer: dict[str, list[_Person]] = {}
    for g in groups.values():
        for persons in g.values():
            for customer, person in persons.items():
                by_customer.setdefault(customer, []).append(person)
    for purchase in purchases:
        for person in by_customer.get(purchase.customer_id, ()):
            if person.at <= purchase.completed_at <= person.at + window:
                person.recovered = True
                person.revenue += purchase.amount

    out = []
    for (flow, step), g in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or -1)):
        plan = plans.get(flow)
        share = plan.share_for(step) if plan else 0.0
        reminded, holdout = _counts(g[REMINDED].values()), _counts(g[HOLDOUT].values())
        comparison = compare_holdout(
            reminded,
            holdout,
            min_effect=min_effect,
            power=power,
            confidence=confidence,
            holdout_share=share or None,
        )
        series = []
        if buckets:

            def in_bucket(
                persons: dict[str, _Person], i: int, size: int = len(buckets)
            ) -> GroupCounts:
                return _counts(
                    p
                    for p in persons.values()
                    if bisect_right(bounds, p.abandoned_at, hi=size) - 1 == i
                )

            series = [
                SeriesPoint(b, in_bucket(g[REMINDED], i), in_bucket(g[HOLDOUT], i))
                for i, b in enumerate(buckets)
            ]
        out.append(
            Lift(flow, step, share, reminded, holdout, comparison, tuple(series), min_effect)
        )
    return tuple(out)


def collect_lift(app: App, period: Period, *, chunk_size: int = 1000) -> tuple[Lift, ...]:
    """Read the holdout persons of the period and their purchases; build the comparisons.
    Raises DatabaseError when a database cannot be read."""
    cfg = app.config
    raw = app.report_queries.holdout_persons(period.start, period.end)
    rows = [
        PersonRow(
            r["flow"],
            int(r["step"]),
            str(r["customer_id"]),
            HOLDOUT if r["status"] == "held_out" else REMINDED,
            (STEP if str(r["level"] or "").endswith(STEP) else FLOW)
            if r["status"] == "held_out"
            else None,
            r["at"],
            r["abandoned_at"],
        )
        for r in raw
    ]
    if not rows:
        return ()
    first, last = min(r.at for r in rows), max(r.at for r in rows)
    return build_lift(
        rows,
        read_purchases(app, first, last, chunk_size=chunk_size),
        plans=cfg.holdouts,
        window=cfg.lift_window,
        min_effect=cfg.min_effect,
        confidence=cfg.confidence,
        power=cfg.power,
        buckets=period.buckets(),
        bounds=period.bounds(),
    )


def read_purchases(
    app: App, first: datetime, last: datetime, *, chunk_size: int = 1000
) -> Iterator[Purchase]:
    """The shop's completed orders of known customers from ``first`` to ``last`` plus the lift
    window (``lift_window``, its end included), read a page of ``chunk_size`` at a time, for
    the persons reminded or held out (or assigned a variant) between ``first`` and ``last``.
    Raises DatabaseError when the shop cannot be read."""
    until = last + app.config.lift_window + timedelta(seconds=1)
    for page in app.reader.completed_orders(
        completed_from=first, completed_to=until, chunk_size=chunk_size
    ):
        for row in page:
            if row["customer_id"] is not None:
                yield Purchase(
                    str(row["customer_id"]), row["completed_at"], _amount(row["total_amount"])
                )


def _amount(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


# -- shapes for output: pure -----------------------------------------------------------------

VERDICT_TEXT = {
    "not_enough_data": "not enough data yet",
    "lift": "the reminders add recoveries",
    "no_clear_lift": "no clear lift (the interval includes 0)",
    "negative_lift": "the reminders lose recoveries",
}


def _pct(value: float | None, *, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value * 100:+.1f}%" if signed else f"{value * 100:.1f}%"


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return "< 0.0001" if value < 0.0001 else f"{value:.4f}"


def _pt(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.1f} pt"


def _num(value: float | None, *, yen: bool = False) -> str:
    if value is None:
        return "-"
    text = f"{abs(value):,.0f}" if yen else f"{abs(value):,.1f}"
    sign = "-" if value < 0 else "+"
    return f"{sign}¥{text}" if yen else f"{sign}{text}"


def _ci(interval: Any, fmt: Any) -> str:
    return "" if interval is None else f" ({fmt(interval.low)} to {fmt(interval.high)})"


def lift_title(lift: Lift) -> str:
    where = f"{lift.flow} flow" if lift.step is None else f"{lift.flow} flow, step {lift.step}"
    return f"{where}: reminded vs holdout ({lift.share * 100:g}% held out)"


def lift_figures(lift: Lift) -> list[tuple[str, str]]:
    """The comparison as (label, text) rows, the same on the terminal and in the HTML page."""
    c, r, h = lift.comparison, lift.reminded, lift.holdout
    level = f"{c.confidence * 100:g}%"
    rows = [
        ("verdict", VERDICT_TEXT[c.verdict.value]),
        ("reminded persons", f"{r.persons:,}"),
        ("holdout persons", f"{h.persons:,}"),
        ("reminded: recovered", f"{r.recovered:,} ({_pct(c.reminded_rate)})"),
        ("holdout: recovered", f"{h.recovered:,} ({_pct(c.holdout_rate)})"),
        (f"lift ({level} CI)", _pt(c.lift) + _ci(c.lift_ci, _pt)),
        (
            f"relative lift ({level} CI)",
            _pct(c.relative_lift, signed=True)
            + _ci(c.relative_lift_ci, lambda v: _pct(v, signed=True)),
        ),
        ("p-value", _p(c.p_value)),
        (
            f"incremental orders ({level} CI)",
            _num(c.incremental_orders) + _ci(c.incremental_orders_ci, _num),
        ),
        (
            f"incremental revenue ({level} CI)",
            _num(c.incremental_revenue, yen=True)
            + _ci(c.incremental_revenue_ci, lambda v: _num(v, yen=True)),
        ),
    ]
    if c.needed is not None:
        rows.append(
            (
                f"persons needed to see {lift_effect_text(lift)}",
                f"{c.needed.treated:,} reminded, {c.needed.control:,} holdout",
            )
        )
    if c.still_needed is not None and (c.still_needed.treated or c.still_needed.control):
        rows.append(
            (
                "still needed",
                f"{c.still_needed.treated:,} reminded, {c.still_needed.control:,} holdout",
            )
        )
    return rows


def lift_effect_text(lift: Lift) -> str:
    """The planned effect in words (``measure.min_effect``)."""
    return f"a lift of {lift.min_effect * 100:g} pt"


def _interval(interval: Any) -> dict[str, float] | None:
    return None if interval is None else {"low": interval.low, "high": interval.high}


def lift_to_dict(lift: Lift) -> dict[str, Any]:
    """JSON-ready: every figure of the comparison, intervals as {low, high}, rates as
    fractions; null where the data cannot give a figure yet."""
    c = lift.comparison

    def group(g: GroupCounts) -> dict[str, Any]:
        return {"persons": g.persons, "recovered": g.recovered, "revenue": g.revenue}

    return {
        "flow": lift.flow,
        "step": lift.step,
        "holdout_share": lift.share,
        "verdict": c.verdict.value,
        "confidence": c.confidence,
        "reminded": group(lift.reminded),
        "holdout": group(lift.holdout),
        "reminded_rate": c.reminded_rate,
        "holdout_rate": c.holdout_rate,
        "lift": c.lift,
        "lift_ci": _interval(c.lift_ci),
        "relative_lift": c.relative_lift,
        "relative_lift_ci": _interval(c.relative_lift_ci),
        "p_value": c.p_value,
        "incremental_orders": c.incremental_orders,
        "incremental_orders_ci": _interval(c.incremental_orders_ci),
        "incremental_revenue": c.incremental_revenue,
        "incremental_revenue_ci": _interval(c.incremental_revenue_ci),
        "needed": None if c.needed is None else vars(c.needed),
        "still_needed": None if c.still_needed is None else vars(c.still_needed),
        "series": [
            {
                "bucket": p.bucket.label,
                "reminded_persons": p.reminded.persons,
                "reminded_recovered": p.reminded.recovered,
                "holdout_persons": p.holdout.persons,
                "holdout_recovered": p.holdout.recovered,
            }
            for p in lift.series
        ],
    }


LIFT_CSV_COLUMNS = (
    "holdout_share",
    "verdict",
    "reminded_persons",
    "holdout_persons",
    "reminded_rate",
    "holdout_rate",
    "lift",
    "lift_low",
    "lift_high",
    "relative_lift",
    "p_value",
    "incremental_orders",
    "incremental_orders_low",
    "incremental_orders_high",
    "incremental_revenue",
    "incremental_revenue_low",
    "incremental_revenue_high",
    "needed_reminded",
    "needed_holdout",
)


def lift_csv_row(lift: Lift) -> dict[str, Any]:
    """The comparison as one flat CSV row (scope ``holdout``; blank: not available yet)."""
    c = lift.comparison

    def r(v: float | None) -> Any:
        return "" if v is None else round(v, 6)

    return {
        "flow": lift.flow,
        "scope": "holdout",
        "step": lift.step,
        "holdout_share": lift.share,
        "verdict": c.verdict.value,
        "reminded_persons": lift.reminded.persons,
        "holdout_persons": lift.holdout.persons,
        "reminded_rate": r(c.reminded_rate),
        "holdout_rate": r(c.holdout_rate),
        "lift": r(c.lift),
        "lift_low": r(c.lift_ci.low if c.lift_ci else None),
        "lift_high": r(c.lift_ci.high if c.lift_ci else None),
        "relative_lift": r(c.relative_lift),
        "p_value": r(c.p_value),
        "incremental_orders": r(c.incremental_orders),
        "incremental_orders_low": r(
            c.incremental_orders_ci.low if c.incremental_orders_ci else None
        ),
        "incremental_orders_high": r(
            c.incremental_orders_ci.high if c.incremental_orders_ci else None
        ),
        "incremental_revenue": r(c.incremental_revenue),
        "incremental_revenue_low": r(
            c.incremental_revenue_ci.low if c.incremental_revenue_ci else None
        ),
        "incremental_revenue_high": r(
            c.incremental_revenue_ci.high if c.incremental_revenue_ci else None
        ),
        "needed_reminded": c.needed.treated if c.needed else "",
        "needed_holdout": c.needed.control if c.needed else "",
    }
