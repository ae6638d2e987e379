"""What the reminders achieved for the carts abandoned in a period (SPEC 3, ``cartnudge report``).

Every figure is about one cohort: the carts abandoned on the period's local days (the configured
time zone, both ends inclusive), whenever they were reminded or bought. Figures per flow
(``confirm`` and ``input`` always, each bulk mailing ``bulk:<campaign>`` when there is one), per
step, channel and template (the variant), and, with ``by``, per local day, ISO week (Monday to
Sunday) or month. DEFINITIONS says what each figure counts; the report prints them.

The pure part, :func:`build_report`, takes plain rows (dataclasses) and returns a
:class:`Report`. The I/O part, :func:`collect`, gets those rows: abandoned orders stream from
the shop in keyset pages (sql/abandoned_in_period.sql) and are counted as they pass; cartnudge's
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

from cartnudge.core.rules import SkipReason

if TYPE_CHECKING:
    from cartnudge.app import App

BY_CHOICES = ("day", "week", "month")
CORE_FLOWS = ("confirm", "input")  # always reported, as the source platform's two screens
PAGE = 1000
NOT_TRACKED = "n/a (not tracked)"
RATE_LABEL = "recovery rate (recovered ÷ reminded orders)"
# Every reason a sweep records (cartnudge.sweep.UNRECORDED_SKIPS are not skips in this sense).
SKIP_REASONS = tuple(
    r.value for r in SkipReason if r not in (SkipReason.FLOW_DISABLED, SkipReason.ALREADY_DELIVERED)
)

DEFINITIONS = {
    "cohort": "carts abandoned on the period's days (configured time zone, both ends "
    "included); every figure is about them, whenever they were reminded or bought",
    "abandoned": "orders in abandoned state abandoned in the period (the shop's rows): "
    "abandoned_step 'input' in the input flow, any other step in confirm; "
    "not applicable to bulk mailings",
    "targeted": "distinct orders with a delivery in the flow (any status)",
    "skipped": "distinct orders with a recorded skip reason and no delivery in the flow "
    "(never reminded); an order can have several reasons",
    "sent": "messages sent (delivery rows with status sent)",
    "failed": "messages that failed permanently",
    "in_doubt": "messages a sweep died while sending: maybe sent, never re-sent",
    "retry": "messages waiting for a retry after a temporary failure",
    "in_progress": "messages claimed or being sent by a running sweep",
    "reminded": "distinct orders with at least one sent message",
    "recovered": "distinct abandoned orders bought back through a reminder (attributed "
    "purchases, url or window attribution)",
    "recovery_rate": "recovered ÷ reminded orders",
    "recovered_revenue": "yen, total of the attributed purchases",
    "clicks": "not tracked yet (n/a)",
    "series": "buckets by the local abandonment day, ISO week (Monday start) or month, "
    "clipped to the period",
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
    """An order in abandoned state from the shop (sql/abandoned_in_period.sql)."""

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


@dataclass(frozen=True)
class DeliveryGroup(_Group):
    """Delivery rows of one group."""

    reminded: int = 0  # distinct orders with a sent row
    sent: int = 0
    failed: int = 0
    in_doubt: int = 0
    retry: int = 0
    in_progress: int = 0


@dataclass(frozen=True)
class RecoveryGroup(_Group):
    """Recoveries of one group (the level of the delivery each was attributed to)."""

    revenue: int = 0


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

    @property
    def recovery_rate(self) -> Fraction | None:
        """recovered ÷ reminded orders; None when no order was reminded."""
        return Fraction(self.recovered, self.reminded) if self.reminded else None

    @property
    def clicks(self) -> None:
        """Not tracked yet: always None, shown as "n/a (not tracked)", never as 0."""
        return None


@dataclass(frozen=True)
class Variant:
    step: int | None
    channel: str | None
    template_id: int | None
    figures: Figures


@dataclass(frozen=True)
class FlowReport:
    flow: str
    totals: Figures
    skipped_by_reason: dict[str, int]
    variants: tuple[Variant, ...] = ()
    series: tuple[tuple[Bucket, Figures], ...] = ()


@dataclass(frozen=True)
class Report:
    period: Period
    flows: tuple[FlowReport, ...] = field(default_factory=tuple)

    def flow(self, name: str) -> FlowReport:
        return next(f for f in self.flows if f.flow == name)

    def without_series(self) -> Report:
        return replace(
            self,
            period=replace(self.period, by=None),
            flows=tuple(replace(f, series=()) for f in self.flows),
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
    *,
    abandoned: tuple[int, int] | None = None,
    skipped: int | None = None,
) -> Figures:
    d = d or DeliveryGroup("", "")
    r = r or RecoveryGroup("", "")
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
    )


def build_report(
    period: Period,
    abandoned: Iterable[AbandonedRow],
    deliveries: Iterable[DeliveryGroup],
    recoveries: Iterable[RecoveryGroup],
    skips: Iterable[SkipGroup],
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

    d_by = {(g.level, g.flow, g.step, g.channel, g.template_id, g.bucket): g for g in deliveries}
    r_by = {(g.level, g.flow, g.step, g.channel, g.template_id, g.bucket): g for g in recoveries}
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
                    abandoned=cohort(i),
                    skipped=s_by.get(("bucket", flow, None, i), 0),
                ),
            )
            for i, b in enumerate(buckets)
        )
        out.append(FlowReport(flow, totals, reasons, variants, series))
    return Report(period, tuple(out))


# -- I/O: the rows of a period -----------------------------------------------------------------


def _abandoned_rows(app: App, period: Period, chunk_size: int) -> Iterator[AbandonedRow]:
    for page in app.reader.abandoned_in_period(
        abandoned_from=period.start, abandoned_to=period.end, chunk_size=chunk_size
    ):
        for row in page:
            if row["abandoned_at"] is None:
                continue
            yield AbandonedRow(
                order_id=str(row["order_id"]),
                flow=flow_of(row["abandoned_step"]),
                abandoned_at=row["abandoned_at"],
                amount=int(row["total_amount"] or 0),
            )


def collect(app: App, period: Period, *, chunk_size: int = PAGE) -> Report:
    """Read the period's rows from the shop and cartnudge's tables and build the report.

    Raises DatabaseError (ContractError) when a database cannot be read."""
    app.deliveries.ensure_ready()
    start, end = period.start, period.end
    bounds: Sequence[datetime] = period.bounds()
    delivery_levels = ("flow", "variant", "bucket") if bounds else ("flow", "variant")
    skip_levels = ("flow", "reason", "bucket") if bounds else ("flow", "reason")
    deliveries = [
        DeliveryGroup(level=level, **row)
        for level in delivery_levels
        for row in app.report_queries.report_deliveries(start, end, level, bounds)
    ]
    recoveries = [
        RecoveryGroup(level=level, **row)
        for level in delivery_levels
        for row in app.report_queries.report_recoveries(start, end, level, bounds)
    ]
    skips = [
        SkipGroup(level=level, **row)
        for level in skip_levels
        for row in app.report_queries.report_skips(start, end, level, bounds)
    ]
    return build_report(
        period, _abandoned_rows(app, period, chunk_size), deliveries, recoveries, skips
    )


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
    reminded, recovered, rate, revenue (the column order of both outputs)."""
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
        (RATE_LABEL, rate_text(t.recovery_rate)),
        ("recovered revenue", yen(t.revenue)),
        ("clicks", NOT_TRACKED),
    ]
    return rows


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
        "clicks": None,
    }
    return out


def report_to_dict(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data (rates as numbers rounded to 4 places, null when nothing
    was reminded; clicks null: not tracked)."""
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
    }


_CSV_COLUMNS = (
    "flow",
    "scope",
    "bucket",
    "step",
    "channel",
    "template_id",
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
    "clicks",
)
# CSV headers that carry their definition (the rate's denominator, the clicks' status).
CSV_HEADERS = {
    "recovery_rate": "recovery_rate (recovered ÷ reminded orders)",
    "clicks": "clicks (not tracked)",
}


def csv_columns(report: Report) -> tuple[str, ...]:
    """The CSV columns: fixed, plus a column for any skip reason this version does not know."""
    extra = sorted({r for f in report.flows for r in f.skipped_by_reason} - set(SKIP_REASONS))
    at = _CSV_COLUMNS.index("sent")
    return (*_CSV_COLUMNS[:at], *(f"skipped:{r}" for r in extra), *_CSV_COLUMNS[at:])


def csv_rows(report: Report) -> Iterator[dict[str, Any]]:
    """One flat row per flow total, variant and series point (scope: total, variant, or the
    series' day|week|month). Blank: not applicable."""

    def flat(f: Figures, *, totals: bool) -> dict[str, Any]:
        row = _figures_dict(f, totals=totals)
        row["recovery_rate"] = rate_text(f.recovery_rate) if f.reminded else ""
        row["clicks"] = "n/a"
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
        for b, f in fr.series:
            yield {
                "flow": fr.flow,
                "scope": report.period.by,
                "bucket": b.label,
                **flat(f, totals=True),
            }
