"""``cartnudge report --html``: the report as one self-contained page.

Tables and an inline SVG chart of each flow's series; the style sheet is inline and nothing is
loaded from anywhere (no scripts, fonts, images or links), so the file can be mailed, archived
or opened from disk. Pure: a Report in, the page's text out.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from cartnudge.operator.report import (
    DEFINITIONS,
    Bucket,
    Figures,
    FlowReport,
    Report,
    count_text,
    figure_cells,
    figure_headers,
    flow_figures,
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
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #555; }
svg { max-width: 100%; height: auto; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
dl.defs dt { font-weight: bold; }
dl.defs dd { margin: 0 0 .4em 1.5em; color: #444; }
"""

# (figure, label, colour) drawn in the chart, side by side per bucket
CHART_SERIES = (
    ("abandoned", "abandoned", "#b9c4bf"),
    ("reminded", "reminded", "#5b8fd6"),
    ("recovered", "recovered", "#2a8a55"),
)


def _cell(text: str, numeric: bool = True) -> str:
    return f'<td class="n">{escape(text)}</td>' if numeric else f"<td>{escape(text)}</td>"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(_cell(v, i >= numeric_from) for i, v in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _totals_table(fr: FlowReport) -> str:
    rows = flow_figures(fr)
    return _table(("figure", "value"), rows, numeric_from=1)


def _figure_cells(f: Figures) -> list[str]:
    return [*figure_cells(f), "n/a"]  # and clicks, not tracked


FIGURE_HEADERS = (*figure_headers("recovered ÷ reminded"), "clicks")


def _variants_table(fr: FlowReport) -> str:
    rows = [
        [
            count_text(v.step),
            v.channel or "",
            "" if v.template_id is None else str(v.template_id),
            *_figure_cells(v.figures),
        ]
        for v in fr.variants
    ]
    return _table(("step", "channel", "template", *FIGURE_HEADERS), rows, numeric_from=3)


def _series_table(fr: FlowReport, by: str) -> str:
    rows = [
        [b.label, count_text(f.abandoned), count_text(f.skipped), *_figure_cells(f)]
        for b, f in fr.series
    ]
    return _table((by, "abandoned", "skipped", *FIGURE_HEADERS), rows, numeric_from=1)


def series_chart(flow: str, by: str, series: Sequence[tuple[Bucket, Figures]]) -> str:
    """Grouped bars per bucket (abandoned, reminded and recovered orders) as inline SVG."""
    drawn = [
        (name, label, colour)
        for name, label, colour in CHART_SERIES
        if any(getattr(f, name) is not None for _, f in series)
    ]
    values = [[getattr(f, name) or 0 for name, _, _ in drawn] for _, f in series]
    top = max((v for vs in values for v in vs), default=0) or 1
    bar, gap = 10, 8
    group = bar * len(drawn) + gap
    left, right, top_pad, plot_h, bottom = 48, 12, 28, 180, 56
    width = max(360, left + right + group * len(series))
    height = top_pad + plot_h + bottom
    title = f"{flow} flow by {by}: " + ", ".join(label for _, label, _ in drawn) + " orders"
    parts = [
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    axis_y = top_pad + plot_h
    parts.append(
        f'<line x1="{left}" y1="{axis_y}" x2="{width - right}" y2="{axis_y}" stroke="#888"/>'
    )
    parts.append(f'<line x1="{left}" y1="{top_pad}" x2="{left}" y2="{axis_y}" stroke="#888"/>')
    parts.append(f'<text x="{left - 6}" y="{top_pad + 4}" text-anchor="end">{top:,}</text>')
    parts.append(f'<text x="{left - 6}" y="{axis_y}" text-anchor="end">0</text>')
    every = max(1, -(-len(series) * 20 // max(1, width - left - right)))  # no overlaps
    for i, ((b, _f), vs) in enumerate(zip(series, values, strict=True)):
        x0 = left + gap // 2 + i * group
        for j, ((_name, label, colour), v) in enumerate(zip(drawn, vs, strict=True)):
            h = round(plot_h * v / top)
            parts.append(
                f'<rect x="{x0 + j * bar}" y="{axis_y - h}" width="{bar - 1}" height="{h}" '
                f'fill="{colour}"><title>{escape(b.label)}: {escape(label)} {v:,}</title></rect>'
            )
        if i % every == 0:
            cx = x0 + (group - gap) / 2
            parts.append(
                f'<text x="{cx}" y="{axis_y + 12}" text-anchor="end" '
                f'transform="rotate(-45 {cx} {axis_y + 12})">{escape(b.label)}</text>'
            )
    for j, (_name, label, colour) in enumerate(drawn):
        x = left + j * 110
        parts.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="15">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(report: Report) -> str:
    """The whole page."""
    p = report.period
    period = f"{p.first.isoformat()} – {p.last.isoformat()}"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>cartnudge report {escape(period)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>cartnudge report {escape(period)}</h1>",
        f'<p class="note">Carts abandoned from {escape(p.first.isoformat())} to '
        f"{escape(p.last.isoformat())} inclusive ({escape(str(p.tz.key))}); every figure is "
        "about them, whenever they were reminded or bought. Recovery rate = recovered ÷ "
        "reminded orders. Clicks are not tracked yet.</p>",
    ]
    for fr in report.flows:
        out.append(f'<section id="flow-{escape(fr.flow)}"><h2>{escape(fr.flow)} flow</h2>')
        out.append(_totals_table(fr))
        out.append("<h3>By step, channel and template</h3>")
        out.append(_variants_table(fr) if fr.variants else '<p class="note">No deliveries.</p>')
        if p.by and fr.series:
            out.append(f"<h3>By {escape(p.by)}</h3>")
            out.append(series_chart(fr.flow, p.by, fr.series))
            out.append(_series_table(fr, p.by))
        out.append("</section>")
    out.append('<h2>What the figures count</h2><dl class="defs">')
    for key, text in DEFINITIONS.items():
        out.append(f"<dt>{escape(key)}</dt><dd>{escape(text)}</dd>")
    out.append("</dl></body></html>")
    return "\n".join(out) + "\n"
