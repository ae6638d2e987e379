"""What the reminders achieved for the carts abandoned in a period (SPEC 3, ``cartnudge report``).

Every figure is about one cohort: the carts abandoned on the period's local days (the configured
time zone, both ends inclusive), whenever they were reminded or bought. Figures per flow
(``confirm`` and ``input`` always, each bulk mailing ``bulk:<campaign>`` when there is one), per
step, channel and template (the variant), and, with ``by``, per local day, ISO week (Monday to
Sunday) or month. DEFINITIONS says what each figure counts; the report prints them.

The pure part, :func:`build_report`, takes plain rows (dataclasses) and returns a
:class:`Report`. The I/O part, :func:`collect`, gets those rows: abandoned orders stream from
the shop in keyset pages (sql/abandoned.sql) and are counted as they pass, joined by the ones
cartnudge recorded that the shop has bought back since (the base does not shrink); cartnudge's
own rows are grouped and counted in SQL (StateStore, "report queries"). Nothing unbounded is held.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from cartnudge.core.attribution import RULES
from cartnudge.core.coupons import CouponSeeker, coupon_seekers, discount_cost
from cartnudge.core.rules import SkipReason
from cartnudge.logs import mask_pii
from cartnudge.operator.lift import (
    LIFT_CSV_COLUMNS,
    Lift,
    collect_lift,
    lift_csv_row,
    lift_to_dict,
)

if TYPE_CHECKING:
    from cartnudge.app import App
    from cartnudge.operator.experiments import ExperimentReport

BY_CHOICES = ("day", "week", "month")
CORE_FLOWS = ("confirm", "input")  # always reported, as the source platform's two screens
PAGE = 1000
RATE_LABEL = "recovery rate (recovered ÷ reminded orders)"
CLICK_RATE_LABEL = "click rate (clicked ÷ reminded orders)"
CLICK_TO_PURCHASE_LABEL = "click-to-purchase rate (clicked and recovered ÷ clicked orders)"
ATTRIBUTION_RULES = RULES  # url, cart, click, window: strictest first, the order they are tried in
# Every reason a sweep records (cartnudge.sweep.UNRECORDED_SKIPS are not skips in this sense).
SKIP_REASONS = tuple(
    r.value for r in SkipReason if r not in (SkipReason.FLOW_DISABLED, SkipReason.ALREADY_DELIVERED)
)

DEFINITIONS = {
    "cohort": "carts abandoned on the period's days (configured time zone, both ends "
    "included); every figure is about them, whenever they were reminded or bought",
    "abandoned": "orders abandoned in the period: the shop's rows in abandoned state and "
    "the ones cartnudge reminded or skipped since bought back (the base does not shrink); "
    "abandoned_step 'input' in the input flow, any other step in confirm; "
    "not applicable to bulk mailings",
    "targeted": "distinct orders with a delivery in the flow (any status; a holdout "
    "shopper's would-be reminder is counted in the holdout section only)",
    "skipped": "distinct orders with a recorded skip reason and no delivery in the flow "
    "(never reminded); an order can have several reasons",
    "sent": "messages sent (delivery rows with status sent)",
    "failed": "messages that failed permanently",
    "in_doubt": "messages a sweep died while sending: maybe sent, never re-sent",
    "retry": "messages waiting for a retry after a temporary failure",
    "in_progress": "messages claimed or being sent by a running sweep",
    "reminded": "distinct orders with at least one sent message",
    "recovered": "distinct abandoned orders bought back through a reminder (attributed "
    "purchases, url, cart, click or window attribution)",
    "recovered_by": "recovered orders by the rule that attributed them: url (the purchase "
    "carried the reminder's token), cart (the shop recorded that the purchase came from the "
    "reminded cart), click (bought within the attribution window after clicking the "
    "reminder), window (bought within the window after the reminder was sent)",
    "recovery_rate": "recovered ÷ reminded orders",
    "recovered_revenue": "yen, total of the attributed purchases",
    "clicks": "clicks on the reminders' recovery links (each resolution of a recovery token "
    "by the shop's restore page or GET /r/<token>; opens are not tracked)",
    "clicked": "distinct orders with at least one click on a reminder",
    "click_rate": "clicked ÷ reminded orders",
    "click_to_purchase_rate": "recovered orders whose attributed reminder was clicked ÷ "
    "clicked orders",
    "coupons_given": "coupon codes held by the group's sent messages",
    "coupons_redeemed": "of those codes, the ones a completed order used (its coupon_code)",
    "discount_cost": "yen, what the redeemed codes cost: a fixed discount ('500円') as it is, "
    "a percentage ('10%') of the redeeming order's total_amount, rounded half up",
    "discount_unknown": "redeemed codes whose cost is not known (a discount that is neither "
    "yen nor a percentage, or a percentage redeemed before cartnudge kept the order's "
    "amount); not in discount_cost",
    "recovered_revenue_net": "recovered revenue minus the discount cost (every redeemed code "
    "of the group counts, whichever order used it)",
    "coupon_seekers": "shoppers (keys merged, addresses masked) who abandoned at least "
    "coupons.seeker_after other carts after their first code",
    "breakdowns": "a flow's messages by channel, by trigger (the kind of step: delay, "
    "price_drop, low_stock; bulk for a mailing) and by coupon (with_code: the message "
    "carried a code, without_code); each row counts the orders and messages of that value, so "
    "an order reminded through two values is in both",
    "series": "buckets by the local abandonment day, ISO week (Monday start) or month, "
    "clipped to the period",
    "holdouts": "per flow and step with a holdout: persons reminded vs persons held out "
    "(recorded when they would have been reminded); in both groups a person recovered when "
    "they completed any order within recovery.attribution_window after that (would-be) "
    "reminder; lift = difference of the two rates with its confidence interval (Newcombe), "
    "incremental orders and revenue = lift x reminded persons, p-value of the two-proportion "
    "z-test; 'not enough data yet' until both groups reach the sample needed for "
    "measure.min_effect",
}


# -- the period --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    """One point of the series: its label and the period's days it covers (inclusive)."""

    label: str
    first: date
    last: date


def _bucket_start(day: date, by: str) -> date:
    if by == "week":
        return day - timedelta(days=day.weekday())
    if by == "month":
        return day.replace(day=1)
    return day


def _next_bucket(start: date, by: str) -> date:
    if by == "week":
        return start + timedelta(days=7)
    if by == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=1)


def _label(start: date, by: str) -> str:
    if by == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if by == "month":
        return f"{start:%Y-%m}"
    return start.isoformat()


def auto_by(first: date, last: date) -> str:
    """A series step that draws well for the period (for the HTML page without ``--by``)."""
    days = (last - first).days + 1
    return "day" if days <= 62 else "week" if days <= 371 else "month"


@dataclass(frozen=True)
class Period:
    """The local days ``first`` to ``last`` inclusive in ``tz``; ``by`` adds a series."""

    first: date
    last: date
    tz: ZoneInfo
    by: str | None = None

    def __post_init__(self) -> None:
        if self.first > self.last:
            raise ValueError(f"the period starts ({self.first}) after it ends ({self.last})")
        if self.by is not None and self.by not in BY_CHOICES:
            raise ValueError(f"by {self.by!r} is not one of {', '.join(BY_CHOICES)}")

    def _utc(self, day: date) -> datetime:
        return datetime.combine(day, time(), self.tz).astimezone(UTC).replace(tzinfo=None)

    @property
    def start(self) -> datetime:
        """The first day's local midnight, naive UTC."""
        return self._utc(self.first)

    @property
    def end(self) -> datetime:
        """The local midnight after the last day, naive UTC (exclusive)."""
        return self._utc(self.last + timedelta(days=1))

    def buckets(self) -> list[Bucket]:
        if self.by is None:
            return []
        out, start = [], _bucket_start(self.first, self.by)
        while start <= self.last:
            following = _next_bucket(start, self.by)
            out.append(
                Bucket(
                    _label(start, self.by),
                    max(start, self.first),
                    min(following - timedelta(days=1), self.last),
                )
            )
            start = following
        return out

    def bounds(self) -> list[datetime]:
        """UTC instants splitting [start, end) into the buckets (len(buckets) + 1 of them)."""
        buckets = self.buckets()
        return [self._utc(b.first) for b in buckets] + [self.end] if buckets else []


# -- rows in: what the queries return ----------------------------------------------------------


@dataclass(frozen=True)
class AbandonedRow:
    """An abandoned order of the period: from the shop (sql/abandoned.sql) or cartnudge's
    records of it."""

    order_id: str
    flow: str
    abandoned_at: datetime  # naive UTC
    amount: int


@dataclass(frozen=True)
class _Group:
    """What identifies a group. ``level``: "flow" (the whole flow), "variant" (one step,
    channel and template) or "bucket" (one point of the series)."""

    level: str
    flow: str
    step: int | None = None
    channel: str | None = None
    template_id: int | None = None
    bucket: int | None = None
    orders: int = 0  # distinct orders (deliveries: any status; recoveries: abandoned orders)
    value: str | None = None  # a breakdown's value (level "channel", "trigger" or "coupon")


@dataclass(frozen=True)
class DeliveryGroup(_Group):
    """Delivery rows of one group."""

    reminded: int = 0  # distinct orders with a sent row
    sent: int = 0
    failed: int = 0
    in_doubt: int = 0
    retry: int = 0
    in_progress: int = 0
    clicks: int = 0  # clicks on the group's deliveries
    clicked: int = 0  # distinct orders with a clicked delivery


@dataclass(frozen=True)
class RecoveryGroup(_Group):
    """Recoveries of one group (the level of the delivery each was attributed to)."""

    revenue: int = 0
    clicked: int = 0  # distinct abandoned orders whose attributed delivery was clicked
    url: int = 0  # distinct abandoned orders per attribution rule
    cart: int = 0
    click: int = 0
    window: int = 0


@dataclass(frozen=True)
class CouponGroup(_Group):
    """Coupon codes held by one group's sent messages, priced (:func:`coupon_groups`)."""

    given: int = 0
    redeemed: int = 0
    discount_cost: int = 0  # yen, of the redeemed codes whose cost is known
    discount_unknown: int = 0  # redeemed codes whose cost is not known


def coupon_groups(level: str, rows: Iterable[dict[str, Any]]) -> list[CouponGroup]:
    """Price the rows of ``ReportQueries.report_coupons`` (codes per group, discount text,
    redeemed or not and the redeeming order's amount) into one :class:`CouponGroup` per group:
    :func:`cartnudge.core.coupons.discount_cost` per redeemed code."""
    sums: dict[tuple, list[int]] = {}
    for row in rows:
        key = tuple(
            row.get(k) for k in ("flow", "step", "channel", "template_id", "bucket", "value")
        )
        total = sums.setdefault(key, [0, 0, 0, 0])
        codes = int(row["codes"])
        total[0] += codes
        if row["redeemed"]:
            total[1] += codes
            cost = discount_cost(str(row["discount"]), row.get("redeemed_amount"))
            if cost is None:
                total[3] += codes
            else:
                total[2] += cost * codes
    return [
        CouponGroup(
            level,
            flow,
            step,
            channel,
            template_id,
            bucket,
            value=value,
            given=given,
            redeemed=redeemed,
            discount_cost=cost,
            discount_unknown=unknown,
        )
        for (flow, step, channel, template_id, bucket, value), (given, redeemed, cost, unknown) in (
            sums.items()
        )
    ]


@dataclass(frozen=True)
class SkipGroup:
    """Skipped, never-delivered orders of one group. ``level``: "reason" (one reason),
    "flow" (any reason) or "bucket" (any reason, one point of the series)."""

    level: str
    flow: str
    reason: str | None = None
    bucket: int | None = None
    orders: int = 0


# -- the report --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """The figures of a flow, a variant or a point of the series. ``None``: not applicable
    (the abandoned count of a bulk mailing or a variant, the skips of a variant)."""

    abandoned: int | None = None
    abandoned_amount: int | None = None
    targeted: int = 0
    skipped: int | None = None
    sent: int = 0
    failed: int = 0
    in_doubt: int = 0
    retry: int = 0
    in_progress: int = 0
    reminded: int = 0
    recovered: int = 0
    revenue: int = 0
    clicks: int = 0
    clicked: int = 0
    clicked_recovered: int = 0
    recovered_url: int = 0
    recovered_click: int = 0
    recovered_window: int = 0
    coupons_given: int = 0
    coupons_redeemed: int = 0
    discount_cost: int = 0
    discount_unknown: int = 0

    @property
    def revenue_net(self) -> int:
        """Recovered revenue minus the discount cost of the redeemed codes (yen)."""
        return self.revenue - self.discount_cost

    @property
    def recovery_rate(self) -> Fraction | None:
        """recovered ÷ reminded orders; None when no order was reminded."""
        return Fraction(self.recovered, self.reminded) if self.reminded else None

    @property
    def click_rate(self) -> Fraction | None:
        """clicked ÷ reminded orders; None when no order was reminded."""
        return Fraction(self.clicked, self.reminded) if self.reminded else None

    @property
    def click_to_purchase_rate(self) -> Fraction | None:
        """Recovered orders whose attributed reminder was clicked ÷ clicked orders; None when
        nothing was clicked."""
        return Fraction(self.clicked_recovered, self.clicked) if self.clicked else None

    def recovered_by(self) -> dict[str, int]:
        """Recovered orders per attribution rule (url, cart, click, window)."""
        return {
            "url": self.recovered_url,
            "click": self.recovered_click,
            "window": self.recovered_window,
        }


@dataclass(frozen=True)
class Variant:
    step: int | None
    channel: str | None
    template_id: int | None
    figures: Figures


# The breakdowns of a flow (issue 13 point 6), each by one dimension of its messages: the
# channel, the kind of step (delay, price_drop, low_stock; bulk for a mailing) and whether the
# message carried a coupon code (with_code, without_code).
BREAKDOWNS = ("channel", "trigger", "coupon")
_BREAKDOWN_ORDER = {
    "trigger": ("delay", "price_drop", "low_stock", "bulk"),
    "coupon": ("with_code", "without_code"),
}


def _breakdown_order(dimension: str, value: str) -> tuple[int, str]:
    known = _BREAKDOWN_ORDER.get(dimension, ())
    return (known.index(value) if value in known else len(known), value)


@dataclass(frozen=True)
class FlowReport:
    flow: str
    totals: Figures
    skipped_by_reason: dict[str, int]
    variants: tuple[Variant, ...] = ()
    series: tuple[tuple[Bucket, Figures], ...] = ()
    # (dimension, ((value, figures), ...)) for each of BREAKDOWNS that has rows
    breakdowns: tuple[tuple[str, tuple[tuple[str, Figures], ...]], ...] = ()

    def breakdown(self, dimension: str) -> tuple[tuple[str, Figures], ...]:
        """The rows of one breakdown (empty when the flow has none)."""
        return next((rows for dim, rows in self.breakdowns if dim == dimension), ())


@dataclass(frozen=True)
class Report:
    period: Period
    flows: tuple[FlowReport, ...] = field(default_factory=tuple)
    holdouts: tuple[Lift, ...] = ()  # reminded vs holdout per flow and step (SPEC 2.9)
    experiments: tuple[ExperimentReport, ...] = ()  # A/B tests, since each started (SPEC 2.8)
    # Shoppers who kept abandoning carts after receiving codes (coupons.seeker_after or more).
    coupon_seekers: tuple[CouponSeeker, ...] = ()

    def flow(self, name: str) -> FlowReport:
        return next(f for f in self.flows if f.flow == name)

    def without_series(self) -> Report:
        return replace(
            self,
            period=replace(self.period, by=None),
            flows=tuple(replace(f, series=()) for f in self.flows),
            holdouts=tuple(replace(h, series=()) for h in self.holdouts),
        )


def flow_of(abandoned_step: Any) -> str:
    """The flow an abandoned order belongs to: 'input' for the LP form, else 'confirm'."""
    return "input" if str(abandoned_step or "").strip().lower() == "input" else "confirm"


def _flow_order(flow: str) -> tuple[int, str]:
    return (CORE_FLOWS.index(flow), "") if flow in CORE_FLOWS else (len(CORE_FLOWS), flow)


def _variant_order(key: tuple[int | None, str | None, int | None]) -> tuple:
    step, channel, template_id = key
    return (
        step is None,
        step or 0,
        channel is None,
        channel or "",
        template_id is None,
        template_id or 0,
    )


def _figures(
    d: DeliveryGroup | None,
    r: RecoveryGroup | None,
    c: CouponGroup | None = None,
    *,
    abandoned: tuple[int, int] | None = None,
    skipped: int | None = None,
) -> Figures:
    d = d or DeliveryGroup("", "")
    r = r or RecoveryGroup("", "")
    c = c or CouponGroup("", "")
    return Figures(
        abandoned=abandoned[0] if abandoned else None,
        abandoned_amount=abandoned[1] if abandoned else None,
        targeted=d.orders,
        skipped=skipped,
        sent=d.sent,
        failed=d.failed,
        in_doubt=d.in_doubt,
        retry=d.retry,
        in_progress=d.in_progress,
        reminded=d.reminded,
        recovered=r.orders,
        revenue=r.revenue,
        clicks=d.clicks,
        clicked=d.clicked,
        clicked_recovered=r.clicked,
        recovered_url=r.url,
        recovered_click=r.click,
        recovered_window=r.window,
        coupons_given=c.given,
        coupons_redeemed=c.redeemed,
        discount_cost=c.discount_cost,
        discount_unknown=c.discount_unknown,
    )


def build_report(
    period: Period,
    abandoned: Iterable[AbandonedRow],
    deliveries: Iterable[DeliveryGroup],
    recoveries: Iterable[RecoveryGroup],
    skips: Iterable[SkipGroup],
    coupons: Iterable[CouponGroup] = (),
) -> Report:
    """The report from the cohort's rows. ``abandoned`` is consumed as a stream (counted, not
    held); the groups are small (a few per flow, step, channel, template and bucket)."""
    count: Counter[tuple[str, int | None]] = Counter()
    amount: Counter[tuple[str, int | None]] = Counter()
    buckets, bounds = period.buckets(), period.bounds()
    for row in abandoned:
        keys: list[tuple[str, int | None]] = [(row.flow, None)]
        if buckets:  # the last bucket starting at or before abandoned_at
            keys.append((row.flow, bisect_right(bounds, row.abandoned_at, hi=len(buckets)) - 1))
        for key in keys:
            count[key] += 1
            amount[key] += row.amount

    deliveries, recoveries, coupons = list(deliveries), list(recoveries), list(coupons)
    d_by = {(g.level, g.flow, g.step, g.channel, g.template_id, g.bucket): g for g in deliveries}
    r_by = {(g.level, g.flow, g.step, g.channel, g.template_id, g.bucket): g for g in recoveries}
    c_by = {(g.level, g.flow, g.step, g.channel, g.template_id, g.bucket): g for g in coupons}
    apart: dict[tuple[str, str, str], list[Any]] = {}  # (dimension, flow, value) -> d, r, c
    for i, groups in enumerate((deliveries, recoveries, coupons)):
        for g in groups:
            if g.level in BREAKDOWNS:
                apart.setdefault((g.level, g.flow, str(g.value)), [None, None, None])[i] = g
    s_by = {(g.level, g.flow, g.reason, g.bucket): g.orders for g in skips}
    flows = set(CORE_FLOWS) | {k[1] for k in d_by} | {k[1] for k in r_by} | {k[1] for k in s_by}

    out = []
    for flow in sorted(flows, key=_flow_order):
        core = flow in CORE_FLOWS

        def cohort(bucket: int | None, flow: str = flow, core: bool = core) -> Any:
            return (count[(flow, bucket)], amount[(flow, bucket)]) if core else None

        totals = _figures(
            d_by.get(("flow", flow, None, None, None, None)),
            r_by.get(("flow", flow, None, None, None, None)),
            c_by.get(("flow", flow, None, None, None, None)),
            abandoned=cohort(None),
            skipped=s_by.get(("flow", flow, None, None), 0),
        )
        reasons = dict.fromkeys(SKIP_REASONS, 0)  # every known reason, then any other
        for (level, f, reason, _bucket), orders in s_by.items():
            if level == "reason" and f == flow and reason is not None:
                reasons[reason] = orders
        variant_keys = {
            (k[2], k[3], k[4]) for k in (*d_by, *r_by) if k[0] == "variant" and k[1] == flow
        }
        variants = tuple(
            Variant(
                *key,
                _figures(
                    d_by.get(("variant", flow, *key, None)),
                    r_by.get(("variant", flow, *key, None)),
                    c_by.get(("variant", flow, *key, None)),
                ),
            )
            for key in sorted(variant_keys, key=_variant_order)
        )
        series = tuple(
            (
                b,
                _figures(
                    d_by.get(("bucket", flow, None, None, None, i)),
                    r_by.get(("bucket", flow, None, None, None, i)),
                    c_by.get(("bucket", flow, None, None, None, i)),
                    abandoned=cohort(i),
                    skipped=s_by.get(("bucket", flow, None, i), 0),
                ),
            )
            for i, b in enumerate(buckets)
        )
        breakdowns = tuple(
            (
                dimension,
                tuple(
                    (value, _figures(*apart[(dimension, flow, value)]))
                    for value in sorted(
                        {v for dim, f, v in apart if dim == dimension and f == flow},
                        key=lambda v, dimension=dimension: _breakdown_order(dimension, v),
                    )
                ),
            )
            for dimension in BREAKDOWNS
            if any(dim == dimension and f == flow for dim, f, _ in apart)
        )
        out.append(FlowReport(flow, totals, reasons, variants, series, breakdowns))
    return Report(period, tuple(out))


# -- I/O: the rows of a period -----------------------------------------------------------------


def _abandoned_rows(app: App, period: Period, chunk_size: int) -> Iterator[AbandonedRow]:
    """The period's abandoned orders: those the shop still has in abandoned state (abandoned.sql)
    and those cartnudge recorded (reminded or skipped) that the shop has since bought back or
    dropped, so recovery rates are computed on a base that does not shrink. Each order once."""
    from cartnudge.shop.reader import AbandonedOrder

    known = app.report_queries.known_abandoned(period.start, period.end)
    for page in app.reader.abandoned_in_period(
        abandoned_from=period.start, abandoned_to=period.end, chunk_size=chunk_size
    ):
        for row in page:
            if isinstance(row, AbandonedOrder):
                c = row.candidate
                flow, at, amount = flow_of(c.abandoned_step.value), c.abandoned_at, row.total_amount
                order_id = c.order_id
            elif row.abandoned_at is not None:  # unusable otherwise; counted with its skip
                flow = flow_of(row.abandoned_step)
                at, amount, order_id = row.abandoned_at, 0, row.order_id
            else:
                continue
            if not period.start <= at < period.end:
                continue
            known.pop((order_id, flow), None)
            yield AbandonedRow(order_id=order_id, flow=flow, abandoned_at=at, amount=amount)
    for (order_id, flow), (at, amount) in sorted(known.items()):
        yield AbandonedRow(order_id=order_id, flow=flow, abandoned_at=at, amount=amount)


def step_kinds(app: App) -> dict[tuple[str, int], str]:
    """(flow, step) -> trigger kind for the configured trigger steps (the trigger breakdown;
    any other step of confirm and input is a delay step, a bulk mailing's is "bulk")."""
    config = app.config
    flows = (("confirm", config.confirm_steps), ("input", config.input_steps))
    return {
        (flow, step.index): step.trigger.kind.value
        for flow, steps in flows
        for step in steps
        if step.trigger is not None
    }


def collect(app: App, period: Period, *, chunk_size: int = PAGE) -> Report:
    """Read the period's rows from the shop and cartnudge's tables and build the report.

    Raises DatabaseError (ContractError) when a database cannot be read."""
    from cartnudge.state.reporting import Cohort

    app.deliveries.ensure_ready()
    start, end = period.start, period.end
    bounds: Sequence[datetime] = period.bounds()
    delivery_levels = ("flow", "variant", "bucket") if bounds else ("flow", "variant")
    delivery_levels += BREAKDOWNS
    skip_levels = ("flow", "reason", "bucket") if bounds else ("flow", "reason")
    kinds = step_kinds(app)
    q = app.report_queries
    deliveries = [
        DeliveryGroup(level=level, **row)
        for level in delivery_levels
        for row in q.report_deliveries(Cohort(start, end, level, bounds, kinds))
    ]
    recoveries = [
        RecoveryGroup(level=level, **row)
        for level in delivery_levels
        for row in q.report_recoveries(Cohort(start, end, level, bounds, kinds))
    ]
    skips = [
        SkipGroup(level=level, **row)
        for level in skip_levels
        for row in q.report_skips(Cohort(start, end, level, bounds))
    ]
    coupons = [
        g
        for level in delivery_levels
        for g in coupon_groups(level, q.report_coupons(Cohort(start, end, level, bounds, kinds)))
    ]
    report = build_report(
        period, _abandoned_rows(app, period, chunk_size), deliveries, recoveries, skips, coupons
    )
    from cartnudge.operator.experiments import collect_experiments

    grants, carts = app.coupons.seeker_facts(end)
    seekers = coupon_seekers(grants, carts, after=app.config.settings.coupons.seeker_after)
    return replace(
        report,
        holdouts=collect_lift(app, period, chunk_size=chunk_size),
        experiments=tuple(collect_experiments(app, datetime.now(UTC).replace(tzinfo=None))),
        coupon_seekers=tuple(seekers),
    )


def seeker_person(seeker: CouponSeeker) -> str:
    """A coupon seeker's keys for output, addresses masked ('email:h***@example.jp')."""
    return ", ".join(mask_pii(k) for k in sorted(seeker.keys))


def seeker_to_dict(seeker: CouponSeeker, tz: Any) -> dict[str, Any]:
    first = seeker.first_code_at.replace(tzinfo=UTC).astimezone(tz)
    return {
        "person": seeker_person(seeker),
        "codes": seeker.codes,
        "first_code_at": first.isoformat(),
        "abandoned_after": seeker.abandoned_after,
    }


# -- shapes for output: pure ---------------------------------------------------------------


def rate_text(rate: Fraction | None) -> str:
    """A rate as a percentage with one decimal ("50.0%"); "-" when nothing was reminded."""
    if rate is None:
        return "-"
    tenths = rate * 1000
    rounded = int(tenths + Fraction(1, 2))  # half up, exact
    return f"{rounded // 10}.{rounded % 10}%"


def rate_number(rate: Fraction | None) -> float | None:
    return None if rate is None else round(float(rate), 4)


def yen(amount: int | None) -> str:
    return "" if amount is None else f"¥{amount:,}"


def count_text(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"


COUNT_HEADERS = ("targeted", "sent", "failed", "in doubt", "retry", "reminded", "recovered")


def figure_headers(rate_header: str) -> tuple[str, ...]:
    """The headers of :func:`figure_cells`' columns, in order; each output names the rate its
    own way."""
    return (*COUNT_HEADERS, rate_header, "revenue")


def figure_cells(f: Figures) -> list[str]:
    """One series or breakdown row's figures as text: targeted, sent, failed, in doubt, retry,
    reminded, recovered, rate, revenue, clicked, click rate, click-to-purchase rate (the column
    order of both outputs)."""
    return [
        count_text(f.targeted),
        count_text(f.sent),
        count_text(f.failed),
        count_text(f.in_doubt),
        count_text(f.retry),
        count_text(f.reminded),
        count_text(f.recovered),
        rate_text(f.recovery_rate),
        yen(f.revenue),
        count_text(f.clicked),
        rate_text(f.click_rate),
        rate_text(f.click_to_purchase_rate),
    ]


def flow_figures(fr: FlowReport, *, indent: str = "") -> list[tuple[str, str]]:
    """A flow's totals as (label, text) rows, the same on the terminal and in the HTML page."""
    t = fr.totals
    rows = [
        ("abandoned orders", count_text(t.abandoned)),
        ("abandoned amount", yen(t.abandoned_amount) or "n/a"),
        ("targeted (orders with a delivery)", count_text(t.targeted)),
        ("skipped (orders never reminded)", count_text(t.skipped)),
    ]
    rows += [(f"{indent}skipped: {r}", count_text(n)) for r, n in fr.skipped_by_reason.items() if n]
    rows += [
        ("sent (messages)", count_text(t.sent)),
        ("failed", count_text(t.failed)),
        ("in doubt", count_text(t.in_doubt)),
        ("retry pending", count_text(t.retry)),
        ("in progress", count_text(t.in_progress)),
        ("reminded orders (at least one sent)", count_text(t.reminded)),
        ("recovered orders", count_text(t.recovered)),
    ]
    rows += [
        (f"{indent}recovered by {rule}", count_text(n)) for rule, n in t.recovered_by().items() if n
    ]
    rows += [
        (RATE_LABEL, rate_text(t.recovery_rate)),
        ("recovered revenue", yen(t.revenue)),
        ("clicks", count_text(t.clicks)),
        ("clicked orders", count_text(t.clicked)),
        (CLICK_RATE_LABEL, rate_text(t.click_rate)),
        (CLICK_TO_PURCHASE_LABEL, rate_text(t.click_to_purchase_rate)),
    ]
    if t.coupons_given:
        rows += coupon_figures(t)
    return rows


def coupon_figures(f: Figures) -> list[tuple[str, str]]:
    """The coupon figures as (label, text) rows (the flow tables show them when codes were
    given)."""
    rows = [
        ("coupon codes given", count_text(f.coupons_given)),
        ("coupon codes redeemed", count_text(f.coupons_redeemed)),
        ("discount cost", yen(f.discount_cost)),
    ]
    if f.discount_unknown:
        rows.append(("redeemed codes of unknown cost", count_text(f.discount_unknown)))
    rows.append(("recovered revenue net of discounts", yen(f.revenue_net)))
    return rows


COUPON_HEADERS = ("codes given", "redeemed", "discount cost", "net revenue")


def coupon_cells(f: Figures) -> list[str]:
    """A breakdown row's coupon figures as text, in :data:`COUPON_HEADERS`' order."""
    return [
        count_text(f.coupons_given),
        count_text(f.coupons_redeemed),
        yen(f.discount_cost) + (f" (+{f.discount_unknown} unknown)" if f.discount_unknown else ""),
        yen(f.revenue_net),
    ]


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[int]) -> str:
    """One character per value, scaled to the largest; a zero is "·" so it never looks like a
    small number."""
    top = max(values, default=0)
    out = []
    for v in values:
        if v <= 0 or top <= 0:
            out.append("·")
        else:
            out.append(SPARKS[max(0, -(-v * len(SPARKS) // top) - 1)])
    return "".join(out)


def _figures_dict(f: Figures, *, totals: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if totals:
        out |= {"abandoned": f.abandoned, "abandoned_amount": f.abandoned_amount}
    out["targeted"] = f.targeted
    if totals:
        out["skipped"] = f.skipped
    out |= {
        "sent": f.sent,
        "failed": f.failed,
        "in_doubt": f.in_doubt,
        "retry": f.retry,
        "in_progress": f.in_progress,
        "reminded": f.reminded,
        "recovered": f.recovered,
        "recovery_rate": rate_number(f.recovery_rate),
        "recovered_revenue": f.revenue,
        "recovered_by": f.recovered_by(),
        "clicks": f.clicks,
        "clicked": f.clicked,
        "click_rate": rate_number(f.click_rate),
        "clicked_recovered": f.clicked_recovered,
        "click_to_purchase_rate": rate_number(f.click_to_purchase_rate),
        "coupons_given": f.coupons_given,
        "coupons_redeemed": f.coupons_redeemed,
        "discount_cost": f.discount_cost,
        "discount_unknown": f.discount_unknown,
        "recovered_revenue_net": f.revenue_net,
    }
    return out


def report_to_dict(report: Report) -> dict[str, Any]:
    from cartnudge.operator.experiments import experiment_to_dict

    """The report as JSON-ready data (rates as numbers rounded to 4 places, null when there is
    no denominator)."""
    p = report.period
    flows = []
    for fr in report.flows:
        item: dict[str, Any] = {"flow": fr.flow, **_figures_dict(fr.totals, totals=True)}
        item["skipped_by_reason"] = dict(fr.skipped_by_reason)
        item["by_variant"] = [
            {
                "step": v.step,
                "channel": v.channel,
                "template_id": v.template_id,
                **_figures_dict(v.figures, totals=False),
            }
            for v in fr.variants
        ]
        for dimension in BREAKDOWNS:
            item[f"by_{dimension}"] = [
                {dimension: value, **_figures_dict(f, totals=False)}
                for value, f in fr.breakdown(dimension)
            ]
        if p.by:
            item["series"] = [
                {
                    "bucket": b.label,
                    "first": b.first.isoformat(),
                    "last": b.last.isoformat(),
                    **_figures_dict(f, totals=True),
                }
                for b, f in fr.series
            ]
        flows.append(item)
    return {
        "period": {
            "from": p.first.isoformat(),
            "to": p.last.isoformat(),
            "timezone": str(p.tz.key),
            "by": p.by,
        },
        "definitions": dict(DEFINITIONS),
        "flows": flows,
        "holdouts": [lift_to_dict(h) for h in report.holdouts],
        "experiments": [experiment_to_dict(e) for e in report.experiments],
        "coupon_seekers": [seeker_to_dict(x, p.tz) for x in report.coupon_seekers],
    }


SEEKER_CSV_COLUMNS = ("person", "codes", "first_code_at", "abandoned_after")
_CSV_COLUMNS = (
    "flow",
    "scope",
    "bucket",
    "step",
    "channel",
    "template_id",
    "trigger",
    "coupon",
    "abandoned",
    "abandoned_amount",
    "targeted",
    "skipped",
    *(f"skipped:{r}" for r in SKIP_REASONS),
    "sent",
    "failed",
    "in_doubt",
    "retry",
    "in_progress",
    "reminded",
    "recovered",
    "recovery_rate",
    "recovered_revenue",
    *(f"recovered_by:{r}" for r in ATTRIBUTION_RULES),
    "clicks",
    "clicked",
    "click_rate",
    "clicked_recovered",
    "click_to_purchase_rate",
    "coupons_given",
    "coupons_redeemed",
    "discount_cost",
    "discount_unknown",
    "recovered_revenue_net",
    *LIFT_CSV_COLUMNS,
    *SEEKER_CSV_COLUMNS,
)
# CSV headers that carry their definition (the rates' denominators).
CSV_HEADERS = {
    "recovery_rate": "recovery_rate (recovered ÷ reminded orders)",
    "click_rate": "click_rate (clicked ÷ reminded orders)",
    "click_to_purchase_rate": "click_to_purchase_rate (clicked_recovered ÷ clicked orders)",
}


def csv_columns(report: Report) -> tuple[str, ...]:
    """The CSV columns: fixed, plus a column for any skip reason this version does not know."""
    extra = sorted({r for f in report.flows for r in f.skipped_by_reason} - set(SKIP_REASONS))
    at = _CSV_COLUMNS.index("sent")
    return (*_CSV_COLUMNS[:at], *(f"skipped:{r}" for r in extra), *_CSV_COLUMNS[at:])


def csv_rows(report: Report) -> Iterator[dict[str, Any]]:
    """One flat row per flow total, variant, breakdown row and series point (scope: total,
    variant, channel, trigger, coupon, or the series' day|week|month), then the holdouts and
    the coupon seekers. Blank: not applicable."""

    def flat(f: Figures, *, totals: bool) -> dict[str, Any]:
        row = _figures_dict(f, totals=totals)
        row["recovery_rate"] = rate_text(f.recovery_rate) if f.reminded else ""
        row["click_rate"] = rate_text(f.click_rate) if f.reminded else ""
        row["click_to_purchase_rate"] = rate_text(f.click_to_purchase_rate) if f.clicked else ""
        for rule, n in row.pop("recovered_by").items():
            row[f"recovered_by:{rule}"] = n
        return row

    for fr in report.flows:
        yield {
            "flow": fr.flow,
            "scope": "total",
            **flat(fr.totals, totals=True),
            **{f"skipped:{r}": n for r, n in fr.skipped_by_reason.items()},
        }
        for v in fr.variants:
            yield {
                "flow": fr.flow,
                "scope": "variant",
                "step": v.step,
                "channel": v.channel,
                "template_id": v.template_id,
                **flat(v.figures, totals=False),
            }
        for dimension in BREAKDOWNS:
            for value, f in fr.breakdown(dimension):
                yield {
                    "flow": fr.flow,
                    "scope": dimension,
                    dimension: value,
                    **flat(f, totals=False),
                }
        for b, f in fr.series:
            yield {
                "flow": fr.flow,
                "scope": report.period.by,
                "bucket": b.label,
                **flat(f, totals=True),
            }
    for h in report.holdouts:
        yield lift_csv_row(h)
    for x in report.coupon_seekers:
        yield {"scope": "coupon_seeker", **seeker_to_dict(x, report.period.tz)}
