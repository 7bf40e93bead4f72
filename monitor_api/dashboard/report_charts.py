"""Charts of the report page as inline SVG made on the server: no chart library, no CDN, nothing for the CSP to
allow (presentation attributes are not inline styles). Every text is escaped."""
from __future__ import annotations

from html import escape
from typing import Any

from markupsafe import Markup

WEEKDAYS = {"zh": ("一", "二", "三", "四", "五", "六", "日"), "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}


def trend_svg(trend: list[dict[str, Any]], label: str) -> Markup:
    counts = [int(row.get("count", 0)) for row in trend]
    width, height, left, bottom = 720, 180, 30, 24
    peak = max(counts + [1])
    bar = (width - left - 10) / max(len(counts), 1)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="#94a3b8"/>',
             f'<text x="0" y="12" font-size="11" fill="#475569">{peak}</text>']
    for index, count in enumerate(counts):
        h = (height - bottom - 16) * count / peak
        date = escape(str(trend[index].get("date", "")))
        parts.append(f'<rect x="{left + index * bar + 1:.1f}" y="{height - bottom - h:.1f}" '
                     f'width="{max(bar - 2, 1):.1f}" height="{h:.1f}" fill="#c0392b">'
                     f'<title>{date}: {count}</title></rect>')
    step = max(1, len(counts) // 8)
    for index in range(0, len(counts), step):
        parts.append(f'<text x="{left + index * bar:.1f}" y="{height - 6}" font-size="10" fill="#475569">'
                     f'{escape(str(trend[index].get("date", ""))[5:])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def heatmap_svg(heatmap: list[list[int]], label: str, lang: str) -> Markup:
    cell, left, top = 26, 40, 16
    width, height = left + 24 * cell, top + 7 * cell + 4
    peak = max([max(row) for row in heatmap if row] + [1])
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>']
    for hour in range(0, 24, 2):
        parts.append(f'<text x="{left + hour * cell + 4}" y="11" font-size="10" fill="#475569">{hour}</text>')
    names = WEEKDAYS.get(lang, WEEKDAYS["zh"])
    for day, hours in enumerate(heatmap[:7]):
        y = top + day * cell
        parts.append(f'<text x="0" y="{y + 17}" font-size="11" fill="#475569">{escape(names[day])}</text>')
        for hour, count in enumerate(hours[:24]):
            shade = int(255 - 200 * count / peak)
            parts.append(f'<rect x="{left + hour * cell}" y="{y}" width="{cell - 2}" height="{cell - 2}" '
                         f'fill="rgb(255,{shade},{shade})"><title>{escape(names[day])} {hour}: {int(count)}'
                         f'</title></rect>')
    parts.append("</svg>")
    return Markup("".join(parts))
