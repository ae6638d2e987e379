"""The report's read queries over deliveries, recoveries and skips."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from cartnudge.core.attribution import RULES as ATTRIBUTION_RULES
from cartnudge.core.rules import DeliveryStatus
from cartnudge.state.schema import coupons, deliveries, recoveries, skips
from cartnudge.state.store import Store

_REPORT_KEYS = {
    "flow": ("flow",),
    "variant": ("flow", "step", "channel", "template_id"),
    "bucket": ("flow", "bucket"),
    "reason": ("flow", "reason"),
    # Breakdowns of a flow by one dimension (the column "value"): the message's channel, the
    # kind of its step (delay, price_drop, low_stock; bulk for a mailing), and whether it
    # carried a coupon code (with_code, without_code).
    "channel": ("flow", "value"),
    "trigger": ("flow", "value"),
    "coupon": ("flow", "value"),
}
BREAKDOWNS = ("channel", "trigger", "coupon")
StepKinds = Mapping[tuple[str, int], str]  # (flow, step) -> trigger kind, for trigger steps


def _dimension(level: str, step_kinds: StepKinds) -> Any:
    """The breakdown value of a delivery row for ``level`` (see _REPORT_KEYS)."""
    from sqlalchemy import and_, case, exists, literal

    d = deliveries.c
    if level == "channel":
        return d.channel
    if level == "coupon":
        code = coupons.alias("held_code")  # its own name: the coupon query joins coupons too
        held = exists().where(code.c.delivery_id == d.id)
        return case((held, literal("with_code")), else_=literal("without_code"))
    whens = [
        (and_(d.flow == flow, d.step == step), literal(kind))
        for (flow, step), kind in sorted(step_kinds.items())
    ]
    whens.append((d.flow.like("bulk:%"), literal("bulk")))
    return case(*whens, else_=literal("delay"))


@dataclass(frozen=True)
class Cohort:
    """What one report query counts: the deliveries of carts abandoned in [``start``, ``end``)
    (naive UTC; a delivery without an abandonment time by when its row was made), grouped per
    ``level`` (:data:`_REPORT_KEYS`); ``bounds``: the series' bucket bounds (level "bucket");
    ``step_kinds``: the trigger steps (the "trigger" breakdown)."""

    start: datetime
    end: datetime
    level: str
    bounds: Sequence[datetime] = ()
    step_kinds: StepKinds | None = None

    def rows(
        self, cols: list[Any], *, join: Any = None, where: Sequence[Any] = ()
    ) -> tuple[Any, list[Any]]:
        """(the cohort's rows as a subquery, its group keys): the delivery's flow, step,
        channel and template, then ``cols``, then what the level groups by besides (the series
        bucket, a breakdown's value); from ``join`` (deliveries joined to another table) when
        given, of the rows that also meet ``where``."""
        d = deliveries.c
        at = func.coalesce(d.abandoned_at, d.created_at)
        out = [d.flow, d.step, d.channel, d.template_id, *cols]
        if self.level == "bucket":
            out.append(_report_bucket(at, self.bounds).label("bucket"))
        if self.level in BREAKDOWNS:
            out.append(_dimension(self.level, self.step_kinds or {}).label("value"))
        query = select(*out) if join is None else select(*out).select_from(join)
        rows = query.where(at >= self.start, at < self.end, *where).subquery()
        return rows, [rows.c[k] for k in _REPORT_KEYS[self.level]]


class ReportQueries(Store):
    """Aggregates for ``cartnudge report``. Raises DatabaseError on failure."""

    def report_deliveries(self, cohort: Cohort) -> list[dict[str, Any]]:
        """Delivery rows by status and distinct orders, per ``level``: "flow", "variant"
        (flow, step, channel, template_id), "bucket" (flow, bucket) or a breakdown
        (``BREAKDOWNS``: flow, value; ``step_kinds`` names the trigger steps)."""
        from sqlalchemy import case

        d = deliveries.c
        held_out = DeliveryStatus.HELD_OUT.value  # the holdout is reported apart (holdout_persons)
        rows, keys = cohort.rows([d.status, d.order_id, d.clicks], where=[d.status != held_out])

        def status_rows(*statuses: DeliveryStatus) -> Any:
            return func.sum(case((rows.c.status.in_([s.value for s in statuses]), 1), else_=0))

        sent = DeliveryStatus.SENT
        stmt = select(
            *keys,
            func.count(rows.c.order_id.distinct()).label("orders"),
            func.count(case((rows.c.status == sent.value, rows.c.order_id)).distinct()).label(
                "reminded"
            ),
            status_rows(sent).label("sent"),
            status_rows(DeliveryStatus.FAILED).label("failed"),
            status_rows(DeliveryStatus.IN_DOUBT).label("in_doubt"),
            status_rows(DeliveryStatus.RETRY).label("retry"),
            status_rows(DeliveryStatus.CLAIMED, DeliveryStatus.SENDING).label("in_progress"),
            func.sum(func.coalesce(rows.c.clicks, 0)).label("clicks"),
            func.count(case((rows.c.clicks > 0, rows.c.order_id)).distinct()).label("clicked"),
        ).group_by(*keys)
        counts = (
            "orders",
            "reminded",
            "sent",
            "failed",
            "in_doubt",
            "retry",
            "in_progress",
            "clicks",
            "clicked",
        )
        return self._read("report deliveries", lambda c: _report_rows(c.execute(stmt), counts))

    def report_recoveries(self, cohort: Cohort) -> list[dict[str, Any]]:
        """Recovered (distinct abandoned) orders and their purchases' total, per ``level`` of
        the delivery each was attributed to; of them, those whose delivery was clicked
        ("clicked") and those per attribution rule (``core.attribution.RULES``)."""
        from sqlalchemy import case

        d, r = deliveries.c, recoveries.c
        rows, keys = cohort.rows(
            [r.abandoned_order_id, r.amount, r.attribution, d.clicks],
            join=recoveries.join(deliveries, r.delivery_id == d.id),
        )
        order = rows.c.abandoned_order_id

        def distinct_where(condition: Any) -> Any:
            return func.count(case((condition, order)).distinct())

        rules = ATTRIBUTION_RULES
        stmt = select(
            *keys,
            func.count(order.distinct()).label("orders"),
            func.sum(rows.c.amount).label("revenue"),
            distinct_where(rows.c.clicks > 0).label("clicked"),
            *(distinct_where(rows.c.attribution == rule).label(rule) for rule in rules),
        ).group_by(*keys)
        counts = ("orders", "revenue", "clicked", *rules)
        return self._read("report recoveries", lambda c: _report_rows(c.execute(stmt), counts))

    def report_coupons(self, cohort: Cohort) -> list[dict[str, Any]]:
        """Codes held by the cohort's sent messages per ``level`` ("flow", "variant" or
        "bucket"), further grouped by discount text, whether redeemed, and the redeeming
        order's amount: ``codes`` per group. The discount cost is priced from these in
        Python (:func:`cartnudge.core.coupons.discount_cost`: the texts are the shop's)."""
        from sqlalchemy import case

        d, c = deliveries.c, coupons.c
        redeemed = case((c.redeemed_order_id.is_not(None), 1), else_=0)
        rows, keys = cohort.rows(
            [c.discount, redeemed.label("redeemed"), c.redeemed_amount],
            join=coupons.join(deliveries, c.delivery_id == d.id),
            where=[d.status == DeliveryStatus.SENT.value],
        )
        extra = [rows.c.discount, rows.c.redeemed, rows.c.redeemed_amount]
        stmt = select(*keys, *extra, func.count().label("codes")).group_by(*keys, *extra)

        def read(conn: Any) -> list[dict[str, Any]]:
            out = _report_rows(conn.execute(stmt), ("codes", "redeemed"))
            for row in out:
                if row["redeemed_amount"] is not None:
                    row["redeemed_amount"] = int(row["redeemed_amount"])
            return out

        return self._read("report coupons", read)

    def holdout_persons(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """For the flows with a holdout row among the carts abandoned in [start, end): per
        flow, step, customer, status (sent | held_out) and holdout level ("holdout: flow" or
        "holdout: step", in the error column; None for sent rows), the first (would-be)
        reminder time ``at`` and the first abandonment time. One row per person and step:
        the comparison needs each person's own time (SPEC 2.9)."""
        from sqlalchemy import case

        d = deliveries.c
        held = DeliveryStatus.HELD_OUT.value
        in_period = (d.abandoned_at >= start, d.abandoned_at < end)
        flows = select(d.flow).where(d.status == held, *in_period).distinct()
        level = case((d.status == held, d.error), else_=None)
        stmt = (
            select(
                d.flow,
                d.step,
                d.customer_id,
                d.status,
                level.label("level"),
                func.min(d.sent_at).label("at"),
                func.min(d.abandoned_at).label("abandoned_at"),
            )
            .where(
                d.flow.in_(flows),
                d.status.in_((DeliveryStatus.SENT.value, held)),
                d.customer_id.is_not(None),
                d.sent_at.is_not(None),
                *in_period,
            )
            .group_by(d.flow, d.step, d.customer_id, d.status, level)
        )
        return self._read("holdout persons", lambda c: [dict(r._mapping) for r in c.execute(stmt)])

    def report_skips(self, cohort: Cohort) -> list[dict[str, Any]]:
        """Distinct orders skipped and never delivered in that flow (any status), per ``level``:
        "reason" (flow, reason), "flow" (any reason) or "bucket" (flow, bucket, any reason).
        An order reminded first and skipped later (e.g. "purchased" once it was bought after
        the reminder) was not skipped in the report's sense."""
        s, d = skips.c, deliveries.c
        delivered = select(d.id).where(d.order_id == s.order_id, d.flow == s.flow).exists()
        cols = [s.flow, s.reason, s.order_id]
        if cohort.level == "bucket":
            cols.append(_report_bucket(s.abandoned_at, cohort.bounds).label("bucket"))
        in_period = (s.abandoned_at >= cohort.start, s.abandoned_at < cohort.end)
        rows = select(*cols).where(*in_period, ~delivered).subquery()
        keys = [rows.c[k] for k in _REPORT_KEYS[cohort.level]]
        stmt = select(*keys, func.count(rows.c.order_id.distinct()).label("orders")).group_by(*keys)
        return self._read("report skips", lambda c: _report_rows(c.execute(stmt), ("orders",)))

    def known_abandoned(
        self, start: datetime, end: datetime
    ) -> dict[tuple[str, str], tuple[datetime, int]]:
        """Orders of the confirm and input flows abandoned in [start, end) that cartnudge has
        records of (a delivery or a skip), as (order id, flow) -> (abandoned_at, amount): the
        report's abandoned base keeps them after the shop moved them out of abandoned state
        (bought back, cancelled)."""
        d, s = deliveries.c, skips.c
        flows = ("confirm", "input")
        out: dict[tuple[str, str], tuple[datetime, int]] = {}

        def read(conn: Any) -> None:
            for row in conn.execute(
                select(s.order_id, s.flow, s.abandoned_at).where(
                    s.abandoned_at >= start, s.abandoned_at < end, s.flow.in_(flows)
                )
            ):
                out[(row.order_id, row.flow)] = (row.abandoned_at, 0)
            for row in conn.execute(
                select(d.order_id, d.flow, d.abandoned_at, func.max(d.amount))
                .where(d.abandoned_at >= start, d.abandoned_at < end, d.flow.in_(flows))
                .group_by(d.order_id, d.flow, d.abandoned_at)
            ):
                out[(row[0], row[1])] = (row[2], int(row[3] or 0))

        self._read("report abandoned", read)
        return out


def _report_bucket(at: Any, bounds: Sequence[datetime]) -> Any:
    """The index of the bucket ``at`` falls in, as a balanced tree of CASEs over the bounds:
    plain SQL on every backend, and log2(buckets) comparisons per row however long the series
    (local days, weeks and months do not fit one date function across SQLite, PostgreSQL and
    MariaDB, nor DST)."""
    from sqlalchemy import case, literal_column

    if len(bounds) < 2:
        raise ValueError("a series needs at least one bucket (two bounds)")

    def node(lo: int, hi: int) -> Any:  # buckets lo..hi; bucket k starts at bounds[k]
        if lo == hi:
            return literal_column(str(lo))
        mid = (lo + hi + 1) // 2
        return case((at < bounds[mid], node(lo, mid - 1)), else_=node(mid, hi))

    return node(0, len(bounds) - 2)


def _report_rows(result: Any, counts: Sequence[str]) -> list[dict[str, Any]]:
    """Plain dicts, sums as ints (MariaDB's SUM is a DECIMAL, and NULL for no rows)."""
    out = []
    for row in result:
        item = dict(row._mapping)
        for name in counts:
            item[name] = int(item[name] or 0)
        out.append(item)
    return out
