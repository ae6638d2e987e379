"""``cartnudge report --html``: the report as one self-contained page.

Tables and an inline SVG chart of each flow's series; the style sheet is inline and nothing is
loaded from anywhere (no scripts, fonts, images or links), so the file can be mailed, archived
or opened from disk. Pure: a Report in, the page's text out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from html import escape

from cartnudge.operator.experiments import ARM_HEADERS, arm_rows, state_text
from cartnudge.operator.lift import Lift, SeriesPoint, lift_figures, lift_title
from cartnudge.operator.report import (
    BREAKDOWNS,
    COUPON_HEADERS,
    DEFINITIONS,
    Bucket,
    Figures,
    FlowReport,
    Report,
    Variant,
    count_text,
    coupon_cells,
    figure_cells,
    figure_headers,
    flow_figures,
)
from cartnudge.operator.report_ja import (
    DEFINITIONS_JA,
    figure_label,
    figure_value,
    lift_title_ja,
    reason_label,
    state_ja,
)

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222;
       padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: .2em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 2px solid #2a6f4e; }
h3 { font-size: 1em; margin: 1.5em 0 .5em; }
table { border-collapse: collapse; margin: .5em 0 1em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; }
th { background: #f2f5f3; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th, table.series td:first-child { white-space: nowrap; }
table.series, table.variants { display: block; max-width: 100%; overflow-x: auto; }
.grid { stroke: #e3e3e3; }
.note { color: #555; }
svg { max-width: 100%; height: auto; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
dl.defs dt { font-weight: bold; }
dl.defs dd { margin: 0 0 .4em 1.5em; color: #444; }
"""

LANGS = ("ja", "en")

# The page's own words in Japanese; a label missing here is shown as it is (English).
JA = {
    "cartnudge report": "カゴ落ちリマインド レポート",
    "flow": "フロー",
    "confirm": "確認画面離脱",
    "input": "入力画面離脱",
    "figure": "項目",
    "value": "値",
    "step": "ステップ",
    "channel": "チャネル",
    "template": "テンプレート",
    "day": "日",
    "week": "週",
    "month": "月",
    "abandoned": "カゴ落ち",
    "skipped": "対象外",
    "targeted": "対象",
    "sent": "送信",
    "failed": "失敗",
    "in doubt": "送信不明",
    "retry": "再試行",
    "reminded": "リマインド済み",
    "recovered": "リカバリー",
    "revenue": "リカバリー売上",
    "recovered ÷ reminded": "リカバリー率",
    "clicked": "クリック",
    "clicked ÷ reminded": "クリック率",
    "clicked and recovered ÷ clicked": "クリック後購入率",
    "By step, channel and template": "ステップ・チャネル・テンプレート別",
    "By day": "日別",
    "By week": "週別",
    "By month": "月別",
    "No deliveries.": "配信はありません。",
    "orders": "件",
    "What the figures count": "各数値の意味",
    "abandoned orders": "カゴ落ち件数",
    "abandoned amount": "カゴ落ち金額",
    "targeted (orders with a delivery)": "配信対象（配信のある受注）",
    "skipped (orders never reminded)": "対象外（リマインドなし）",
    "sent (messages)": "送信（通数）",
    "retry pending": "再試行待ち",
    "in progress": "送信中",
    "reminded orders (at least one sent)": "リマインド済み受注",
    "recovered orders": "リカバリー件数",
    "recovery rate (recovered ÷ reminded orders)": "リカバリー率（リカバリー ÷ リマインド済み）",
    "recovered revenue": "リカバリー売上",
    "clicks": "クリック数",
    "clicked orders": "クリックされた受注",
    "click rate (clicked ÷ reminded orders)": "クリック率（クリック ÷ リマインド済み）",
    "click-to-purchase rate (clicked and recovered ÷ clicked orders)": "クリック後購入率",
    "coupon codes given": "クーポン配布数",
    "coupon codes redeemed": "クーポン利用数",
    "discount cost": "割引額",
    "redeemed codes of unknown cost": "割引額不明の利用",
    "recovered revenue net of discounts": "リカバリー売上（割引後）",
    "codes given": "配布",
    "redeemed": "利用",
    "net revenue": "割引後売上",
    "Coupons by step, channel and template": "ステップ・チャネル・テンプレート別クーポン",
    "Coupon seekers": "クーポン狙いの疑い",
    "By channel": "チャネル別",
    "By trigger": "きっかけ別",
    "By coupon": "クーポン有無別",
    "trigger": "きっかけ",
    "coupon": "クーポン",
    "delay": "時間経過",
    "price_drop": "値下がり",
    "low_stock": "在庫僅少",
    "bulk": "一斉配信",
    "with_code": "クーポンあり",
    "without_code": "クーポンなし",
    "shopper": "購入者",
    "codes": "クーポン数",
    "first code": "初回配布",
    "carts abandoned after": "その後のカゴ落ち",
}


def default_lang(tz_key: str) -> str:
    """The page's language when ``--lang`` is not given: Japanese for a shop in Japan's time
    zone (Asia/Tokyo, Japan), English otherwise."""
    return "ja" if tz_key in ("Asia/Tokyo", "Japan") else "en"


def _words(lang: str):  # type: ignore[no-untyped-def]
    table = JA if lang == "ja" else {}

    def t(text: str) -> str:
        stripped = text.strip()
        if stripped in table:
            return text[: len(text) - len(text.lstrip())] + table[stripped]
        for prefix, ja in (("skipped: ", "対象外: "), ("recovered by ", "リカバリー計測: ")):
            if stripped.startswith(prefix) and table:
                return ja + reason_label(stripped[len(prefix) :])
        return text

    return t


# (figure, label, colour) drawn in the chart, side by side per bucket
CHART_SERIES = (
    ("abandoned", "abandoned", "#b9c4bf"),
    ("reminded", "reminded", "#5b8fd6"),
    ("recovered", "recovered", "#2a8a55"),
)
REVENUE_COLOUR = "#d9822b"


def _cell(text: str, numeric: bool = True) -> str:
    return f'<td class="n">{escape(text)}</td>' if numeric else f"<td>{escape(text)}</td>"


def _table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int, cls: str = ""
) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(_cell(v, i >= numeric_from) for i, v in enumerate(row)) + "</tr>"
        for row in rows
    )
    attr = f' class="{cls}"' if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _totals_table(fr: FlowReport, t: Callable[[str], str]) -> str:
    rows = [(t(label), value) for label, value in flow_figures(fr)]
    return _table((t("figure"), t("value")), rows, numeric_from=1)


FIGURE_HEADERS = (
    *figure_headers("recovered ÷ reminded"),
    "clicked",
    "clicked ÷ reminded",
    "clicked and recovered ÷ clicked",
)


def _variant_cells(v: Variant, template_names: Mapping[int, str]) -> list[str]:
    """A step/channel/template row's first three cells, the template named beside its id."""
    template = (
        ""
        if v.template_id is None
        else f"{v.template_id} {template_names.get(v.template_id, '')}".strip()
    )
    return [count_text(v.step), v.channel or "", template]


def _variants_table(
    fr: FlowReport, t: Callable[[str], str], template_names: Mapping[int, str]
) -> str:
    rows = [[*_variant_cells(v, template_names), *figure_cells(v.figures)] for v in fr.variants]
    headers = [t(h) for h in ("step", "channel", "template", *FIGURE_HEADERS)]
    return _table(headers, rows, numeric_from=3, cls="variants")


def _coupons_table(
    fr: FlowReport, t: Callable[[str], str], template_names: Mapping[int, str]
) -> str:
    rows = [
        [*_variant_cells(v, template_names), *coupon_cells(v.figures)]
        for v in fr.variants
        if v.figures.coupons_given
    ]
    headers = [t(h) for h in ("step", "channel", "template", *COUPON_HEADERS)]
    return _table(headers, rows, numeric_from=3, cls="variants coupons")


def _seekers_section(report: Report, t: Callable[[str], str]) -> str:
    from datetime import UTC

    from cartnudge.operator.report import seeker_person

    tz = report.period.tz
    rows = [
        [
            seeker_person(x),
            f"{x.codes:,}",
            x.first_code_at.replace(tzinfo=UTC).astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            f"{x.abandoned_after:,}",
        ]
        for x in report.coupon_seekers
    ]
    headers = [t(h) for h in ("shopper", "codes", "first code", "carts abandoned after")]
    return (
        f'<section id="coupon-seekers"><h2>{escape(t("Coupon seekers"))}</h2>'
        f'<p class="note">{escape(DEFINITIONS["coupon_seekers"])}</p>'
        + _table(headers, rows, numeric_from=1)
        + "</section>"
    )


def _series_table(fr: FlowReport, by: str, t: Callable[[str], str]) -> str:
    rows = [
        [b.label, count_text(f.abandoned), count_text(f.skipped), *figure_cells(f)]
        for b, f in fr.series
    ]
    headers = [t(h) for h in (by, "abandoned", "skipped", *FIGURE_HEADERS)]
    return _table(headers, rows, numeric_from=1, cls="series")


def nice_ticks(top: int, count: int = 4) -> list[int]:
    """Round gridline values from 0 up to at least ``top`` (1, 2 or 5 times a power of ten
    apart), e.g. 0, 20, 40, 60, 80 for 73."""
    top = max(top, 1)
    raw = top / count
    power = 10 ** (len(str(int(raw))) - 1) if raw >= 1 else 1
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return list(range(0, -(-top // step) * step + 1, step))


def series_chart(
    flow: str,
    by: str,
    series: Sequence[tuple[Bucket, Figures]],
    t: Callable[[str], str] | None = None,
) -> str:
    """Grouped bars per bucket (abandoned, reminded and recovered orders, on the left axis)
    and the recovered revenue (a line, on the right axis, in yen) as inline SVG, with
    gridlines and labelled axes. Each bar carries its bucket, figure and value as data-*
    attributes (``data-bucket``, ``data-figure``, ``data-value``)."""
    t = t or _words("en")
    drawn = [
        (name, label, colour)
        for name, label, colour in CHART_SERIES
        if any(getattr(f, name) is not None for _, f in series)
    ]
    values = [[getattr(f, name) or 0 for name, _, _ in drawn] for _, f in series]
    revenue = [f.revenue for _, f in series]
    show_revenue = any(r is not None for r in revenue)
    ticks = nice_ticks(max((v for vs in values for v in vs), default=0))
    top = ticks[-1]
    money = nice_ticks(max((r or 0 for r in revenue), default=0))
    bar, gap = 12, 10
    group = bar * len(drawn) + gap
    left, right, top_pad, plot_h, bottom = 64, 80 if show_revenue else 16, 44, 200, 84
    width = max(480, left + right + group * len(series))
    height = top_pad + plot_h + bottom
    names = [t(label) for _, label, _ in drawn]
    title = f"{t(flow)} {t('flow')} ({t(by)}): " + ", ".join(names)
    axis_y = top_pad + plot_h
    parts = [
        f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in ticks:  # gridlines and the left axis' labels
        y = axis_y - round(plot_h * tick / top, 1)
        parts.append(f'<line class="grid" x1="{left}" y1="{y}" x2="{width - right}" y2="{y}"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4}" text-anchor="end">{tick:,}</text>')
    parts.append(
        f'<line x1="{left}" y1="{axis_y}" x2="{width - right}" y2="{axis_y}" stroke="#888"/>'
    )
    parts.append(f'<line x1="{left}" y1="{top_pad}" x2="{left}" y2="{axis_y}" stroke="#888"/>')
    ylabel = f"{t('orders')}" if t("orders") != "orders" else "orders"
    parts.append(
        f'<text class="axis-title" x="14" y="{top_pad + plot_h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {top_pad + plot_h / 2})">{escape(ylabel)}</text>'
    )
    parts.append(
        f'<text class="axis-title" x="{left + (width - left - right) / 2}" y="{height - 6}" '
        f'text-anchor="middle">{escape(t(by))}</text>'
    )
    every = max(1, -(-len(series) * 20 // max(1, width - left - right)))  # no overlaps
    points = []
    for i, ((b, f), vs) in enumerate(zip(series, values, strict=True)):
        x0 = left + gap // 2 + i * group
        for j, ((name, label, colour), v) in enumerate(zip(drawn, vs, strict=True)):
            h = round(plot_h * v / top, 1)
            parts.append(
                f'<rect x="{x0 + j * bar}" y="{axis_y - h}" width="{bar - 1}" height="{h}" '
                f'fill="{colour}" data-bucket="{escape(b.label)}" data-figure="{name}" '
                f'data-value="{v}"><title>{escape(b.label)}: {escape(t(label))} {v:,}'
                "</title></rect>"
            )
        cx = x0 + (group - gap) / 2
        if show_revenue:
            y = axis_y - round(plot_h * (f.revenue or 0) / money[-1], 1)
            points.append((cx, y, b.label, f.revenue or 0))
        if i % every == 0:
            parts.append(
                f'<text x="{cx}" y="{axis_y + 14}" text-anchor="end" '
                f'transform="rotate(-45 {cx} {axis_y + 14})">{escape(b.label)}</text>'
            )
    if show_revenue:
        x_axis = width - right
        parts.append(
            f'<line x1="{x_axis}" y1="{top_pad}" x2="{x_axis}" y2="{axis_y}" stroke="#888"/>'
        )
        for tick in money:
            y = axis_y - round(plot_h * tick / money[-1], 1)
            parts.append(f'<text x="{x_axis + 6}" y="{y + 4}">¥{tick:,}</text>')
        parts.append(
            f'<text class="axis-title" x="{width - 8}" y="{top_pad + plot_h / 2}" '
            f'text-anchor="middle" transform="rotate(90 {width - 8} {top_pad + plot_h / 2})">'
            f"{escape(t('revenue'))} (¥)</text>"
        )
        parts.append(
            f'<polyline points="{" ".join(f"{x},{y}" for x, y, _, _ in points)}" fill="none" '
            f'stroke="{REVENUE_COLOUR}" stroke-width="2"/>'
        )
        for x, y, label, amount in points:
            parts.append(
                f'<circle cx="{x}" cy="{y}" r="3" fill="{REVENUE_COLOUR}" '
                f'data-bucket="{escape(label)}" data-figure="revenue" data-value="{amount}">'
                f"<title>{escape(label)}: {escape(t('revenue'))} ¥{amount:,}</title></circle>"
            )
    legend = [(t(label), colour) for _, label, colour in drawn]
    if show_revenue:
        legend.append((t("revenue"), REVENUE_COLOUR))
    x = left
    for label, colour in legend:
        parts.append(f'<rect x="{x}" y="10" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="19">{escape(label)}</text>')
        x += 28 + 9 * len(label) + 5 * sum(1 for c in label if ord(c) > 0x2E80)
    parts.append("</svg>")
    return "".join(parts)


def rates_chart(lift: Lift, by: str, lang: str = "en") -> str:
    """The two recovery rates (reminded, holdout) per bucket as two lines in inline SVG; a
    bucket where a group has no persons leaves a gap in its line."""
    points = lift.series
    rates = [
        [SeriesPoint.rate(p.reminded) for p in points],
        [SeriesPoint.rate(p.holdout) for p in points],
    ]
    top = max((v for line in rates for v in line if v is not None), default=0.0) or 0.01
    left, right, top_pad, plot_h, bottom = 56, 12, 28, 160, 56
    step_x = 40
    width = max(360, left + right + step_x * max(1, len(points)))
    height = top_pad + plot_h + bottom
    if lang == "ja":
        by_ja = {"day": "日", "week": "週", "month": "月"}.get(by, by)
        title = f"{lift_title_ja(lift.flow, lift.step, lift.share)}：{by_ja}別のリカバリー率"
        names = {"reminded": "リマインド群", "holdout": "ホールドアウト群"}
        rate_word = "のリカバリー率"
    else:
        title = f"{lift_title(lift)}: recovery rate by {by}"
        names = {"reminded": "reminded", "holdout": "holdout"}
        rate_word = " rate"
    axis_y = top_pad + plot_h
    parts = [
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{axis_y}" x2="{width - right}" y2="{axis_y}" stroke="#888"/>',
        f'<line x1="{left}" y1="{top_pad}" x2="{left}" y2="{axis_y}" stroke="#888"/>',
        f'<text x="{left - 6}" y="{top_pad + 4}" text-anchor="end">{top * 100:.1f}%</text>',
        f'<text x="{left - 6}" y="{axis_y}" text-anchor="end">0%</text>',
    ]
    series = (("reminded", "#2a6f4e"), ("holdout", "#c0392b"))
    for (label, colour), line in zip(series, rates, strict=True):
        segment: list[str] = []
        segments = [segment]
        for i, (point, rate) in enumerate(zip(points, line, strict=True)):
            if rate is None:
                segment = []
                segments.append(segment)
                continue
            x = left + step_x // 2 + i * step_x
            y = axis_y - round(plot_h * rate / top, 1)
            segment.append(f"{x},{y}")
            parts.append(
                f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}"><title>'
                f"{escape(point.bucket.label)}: {names[label]} {rate * 100:.1f}%</title></circle>"
            )
        for seg in segments:
            if len(seg) > 1:
                parts.append(
                    f'<polyline points="{" ".join(seg)}" fill="none" stroke="{colour}" '
                    'stroke-width="2"/>'
                )
    for i, point in enumerate(points):
        cx = left + step_x // 2 + i * step_x
        parts.append(
            f'<text x="{cx}" y="{axis_y + 12}" text-anchor="end" '
            f'transform="rotate(-45 {cx} {axis_y + 12})">{escape(point.bucket.label)}</text>'
        )
    for j, (label, colour) in enumerate(series):
        x = left + j * 110
        parts.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="15">{escape(names[label] + rate_word)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _holdout_section(lift: Lift, by: str | None, lang: str) -> str:
    key = f"{lift.flow}" if lift.step is None else f"{lift.flow}-step{lift.step}"
    rows = lift_figures(lift)
    title = lift_title(lift)
    headers = ("holdout figure", "value")
    if lang == "ja":
        rows = [(figure_label(label), figure_value(value)) for label, value in rows]
        title = lift_title_ja(lift.flow, lift.step, lift.share)
        headers = (figure_label(headers[0]), figure_label(headers[1]))
    out = [
        f'<section id="holdout-{escape(key)}"><h2>{escape(title)}</h2>',
        _table(headers, rows, numeric_from=2),
    ]
    if by and lift.series:
        by_ja = {"day": "日", "week": "週", "month": "月"}.get(by, by)
        heading = f"{by_ja}別のリカバリー率" if lang == "ja" else f"Recovery rate by {by}"
        out.append(f"<h3>{escape(heading)}</h3>")
        out.append(rates_chart(lift, by, lang))
    out.append("</section>")
    return "\n".join(out)


def render_html(
    report: Report,
    *,
    lang: str | None = None,
    shop_name: str = "",
    template_names: Mapping[int, str] | None = None,
) -> str:
    """The whole page, in ``lang`` (``ja`` or ``en``; by default Japanese for a shop in
    Japan's time zone, :func:`default_lang`), titled with the shop's name, the templates named
    beside their ids."""
    p = report.period
    lang = lang or default_lang(str(p.tz.key))
    t = _words(lang)
    names = template_names or {}
    period = f"{p.first.isoformat()} – {p.last.isoformat()}"
    heading = " ".join(x for x in (shop_name, t("cartnudge report")) if x)
    if lang == "ja":
        intro = (
            f"{p.first.isoformat()} から {p.last.isoformat()} まで（{p.tz.key}、両日を含む）に"
            "カゴ落ちしたカートについての数値です。リマインドや購入がいつであっても、"
            "そのカートに数えます。リカバリー率 = リカバリー件数 ÷ リマインド済み受注。"
            "クリックはリマインドのリカバリーリンクが開かれた回数です（メールの開封は"
            "計測しません）。"
        )
    else:
        intro = (
            f"Carts abandoned from {p.first.isoformat()} to {p.last.isoformat()} inclusive "
            f"({p.tz.key}); every figure is about them, whenever they were reminded or "
            "bought. Recovery rate = recovered ÷ reminded orders. Clicks are the reminders' "
            "recovery links opened (opens of the messages are not tracked)."
        )
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{lang}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(heading)} {escape(period)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f'<h1>{escape(heading)} <span class="period">{escape(period)}</span></h1>',
        f'<p class="note">{escape(intro)}</p>',
    ]
    if names:
        used = sorted({v.template_id for fr in report.flows for v in fr.variants} - {None})
        listed = [f"{i} {names[i]}" for i in used if i in names]
        if listed:
            label = "テンプレート" if lang == "ja" else "Templates"
            out.append(f'<p class="templates">{label}: {escape(", ".join(listed))}</p>')
    for fr in report.flows:
        flow_title = f"{t(fr.flow)} {t('flow')}" if lang == "en" else f"{t(fr.flow)}（{fr.flow}）"
        out.append(f'<section id="flow-{escape(fr.flow)}"><h2>{escape(flow_title)}</h2>')
        out.append(_totals_table(fr, t))
        out.append(f"<h3>{escape(t('By step, channel and template'))}</h3>")
        out.append(
            _variants_table(fr, t, names)
            if fr.variants
            else f'<p class="note">{escape(t("No deliveries."))}</p>'
        )
        for dimension in BREAKDOWNS:
            rows = fr.breakdown(dimension)
            if len(rows) < 2:  # one value only: the flow's totals again
                continue
            out.append(f"<h3>{escape(t(f'By {dimension}'))}</h3>")
            out.append(
                _table(
                    [t(h) for h in (dimension, *FIGURE_HEADERS)],
                    [[t(value), *figure_cells(f)] for value, f in rows],
                    numeric_from=1,
                    cls=f"variants by-{dimension}",
                )
            )
        if any(v.figures.coupons_given for v in fr.variants):
            out.append(f"<h3>{escape(t('Coupons by step, channel and template'))}</h3>")
            out.append(_coupons_table(fr, t, names))
        if p.by and fr.series:
            out.append(f"<h3>{escape(t(f'By {p.by}'))}</h3>")
            out.append(series_chart(fr.flow, p.by, fr.series, t))
            out.append(_series_table(fr, p.by, t))
        out.append("</section>")
    for lift in report.holdouts:
        out.append(_holdout_section(lift, p.by, lang))
    for test in report.experiments:
        e = test.experiment
        if lang == "ja":
            title = f"A/B テスト {e.name}：{e.flow} フロー ステップ {e.step}"
            note = f"{state_ja(state_text(test))}。開始以降のすべての顧客。"
            headers = tuple(figure_label(h) for h in ARM_HEADERS)
        else:
            title = f"A/B test {e.name}: {e.flow} flow, step {e.step}"
            note = f"{state_text(test)}; all shoppers since it started."
            headers = ARM_HEADERS
        out.append(
            f'<section id="experiment-{escape(e.name)}"><h2>{escape(title)}</h2>'
            f'<p class="note">{escape(note)}</p>'
        )
        out.append(_table(headers, arm_rows(test), numeric_from=1))
        out.append("</section>")
    if report.coupon_seekers:
        out.append(_seekers_section(report, t))
    out.append(f'<h2>{escape(t("What the figures count"))}</h2><dl class="defs">')
    for key, text in DEFINITIONS.items():
        shown = DEFINITIONS_JA.get(key, text) if lang == "ja" else text
        out.append(f"<dt>{escape(key)}</dt><dd>{escape(shown)}</dd>")
    out.append("</dl></body></html>")
    return "\n".join(out) + "\n"
