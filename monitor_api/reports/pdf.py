"""The PDF export: reportlab with an embedded CJK TrueType font, charts drawn as vector graphics.

Why not the project's Noto Sans CJK (counterwatch.fonts): it is an OTF with CFF outlines, which reportlab cannot
embed. Debian's fonts-wqy-microhei ships a TrueType collection that it can. The font is looked up in
$COUNTERWATCH_REPORT_FONT (a .ttf/.ttc path), then in the usual Debian locations; without one, exporting a PDF fails
with an error that names the package to install.
"""
from __future__ import annotations

import io
import os
from functools import lru_cache
from pathlib import Path

from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from monitor_api.reports.data import Report
from monitor_api.reports.tables import WEEKDAYS_ZH, tables

FONT_ENV = "COUNTERWATCH_REPORT_FONT"
FONT_NAME = "CounterwatchCJK"
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)


class ReportFontMissing(RuntimeError):
    pass


def find_cjk_font() -> Path:
    configured = os.environ.get(FONT_ENV)
    if configured:
        if Path(configured).is_file():
            return Path(configured)
        raise ReportFontMissing(f"{FONT_ENV}={configured} is not a file")
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    raise ReportFontMissing("no CJK TrueType font for PDF reports: install Debian's fonts-wqy-microhei "
                            f"(apt-get install fonts-wqy-microhei) or set {FONT_ENV} to a .ttf/.ttc file")


@lru_cache(maxsize=1)
def _register_font() -> str:
    path = find_cjk_font()
    pdfmetrics.registerFont(TTFont(FONT_NAME, str(path), subfontIndex=0))  # subfontIndex: first face of a .ttc
    return FONT_NAME


def _trend_chart(report: Report, font: str, width: float) -> Drawing:
    height = 60 * mm
    drawing = Drawing(width, height)
    counts = [row["count"] for row in report.trend]
    peak = max(counts + [1])
    left, bottom, top = 12 * mm, 10 * mm, height - 6 * mm
    plot_w = width - left - 4 * mm
    bar_w = plot_w / max(len(counts), 1)
    drawing.add(Line(left, bottom, left + plot_w, bottom, strokeColor=colors.grey))
    drawing.add(String(left, top + 1 * mm, f"每日告警数（最高 {peak}）", fontName=font, fontSize=9))
    for index, count in enumerate(counts):
        bar_h = (top - bottom) * count / peak
        drawing.add(Rect(left + index * bar_w + 0.5, bottom, max(bar_w - 1, 0.5), bar_h,
                         fillColor=colors.HexColor("#c0392b"), strokeColor=None))
    step = max(1, len(counts) // 8)
    for index in range(0, len(counts), step):
        drawing.add(String(left + index * bar_w, bottom - 4 * mm, report.trend[index]["date"][5:], fontName=font,
                           fontSize=6))
    return drawing


def _heat_chart(report: Report, font: str, width: float) -> Drawing:
    cell_w = (width - 14 * mm) / 24
    cell_h = 5 * mm
    height = cell_h * 7 + 12 * mm
    drawing = Drawing(width, height)
    peak = max([max(row) for row in report.heatmap] + [1])
    drawing.add(String(0, height - 4 * mm, "时段分布（星期 × 小时，大厅当地时间）", fontName=font, fontSize=9))
    for day, hours in enumerate(report.heatmap):
        y = height - 8 * mm - (day + 1) * cell_h
        drawing.add(String(0, y + 1.2 * mm, WEEKDAYS_ZH[day], fontName=font, fontSize=7))
        for hour, count in enumerate(hours):
            shade = 1 - 0.85 * count / peak
            drawing.add(Rect(14 * mm + hour * cell_w, y, cell_w - 0.5, cell_h - 0.5, strokeColor=None,
                             fillColor=colors.Color(1, shade, shade)))
    for hour in range(0, 24, 3):
        drawing.add(String(14 * mm + hour * cell_w, 0, f"{hour}", fontName=font, fontSize=6))
    return drawing


def to_pdf(report: Report) -> bytes:
    font = _register_font()
    title_style = ParagraphStyle("title", fontName=font, fontSize=16, leading=22, spaceAfter=6)
    heading = ParagraphStyle("heading", fontName=font, fontSize=12, leading=16, spaceBefore=8, spaceAfter=4)
    body = ParagraphStyle("body", fontName=font, fontSize=8, leading=11, wordWrap="CJK")
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                                 bottomMargin=15 * mm, title=report.title, author="counterwatch")
    width = A4[0] - 30 * mm
    story: list = [Paragraph(report.title, title_style), _trend_chart(report, font, width), Spacer(1, 4 * mm),
                   _heat_chart(report, font, width)]
    for index, (name, headers, rows) in enumerate(tables(report)):
        if name == "时段分布":
            continue  # drawn as the chart above; 25 columns do not fit a portrait page as a table
        if index == 1:
            story.append(PageBreak())
        story.append(Paragraph(name, heading))
        if not rows:
            story.append(Paragraph("（无）", body))
            continue
        cells = [[Paragraph(str(cell), body) for cell in row] for row in [headers, *rows]]
        table = Table(cells, repeatRows=1, hAlign="LEFT",
                      colWidths=[width / len(headers)] * len(headers) if name != "概要" else [30 * mm, width - 30 * mm])
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                                   ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                                   ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story.append(table)
    document.build(story)
    return buffer.getvalue()
