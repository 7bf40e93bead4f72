"""The PDF export: a report a manager can sign. reportlab with an embedded CJK TrueType font.

Layout (A4 portrait): every page carries the hall, the period and the generation time on top and "第 x 页 / 共 y
页" at the bottom. The title and the summary come first, then window presence (present, absent, paused, unknown),
incident types, the days that had incidents (months, in a year report; the others are counted, not listed) and the
charts, staff, the incident list, the appraisal scores, pauses and pending appeals, and last the reviewer's
signature and date lines.
Tables come from `tables` (the numbers of the CSV and XLSX files) and are sized by pdf_layout.fit_table.

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
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import CondPageBreak, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from monitor_api.reports import tables as t
from monitor_api.reports.data import Report
from monitor_api.reports.pdf_layout import fit_table, heat_chart, numbered_canvas, trend_chart

FONT_ENV = "COUNTERWATCH_REPORT_FONT"
FONT_NAME = "CounterwatchCJK"
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
MARGIN = 15 * mm
HEADING_ROOM = 35 * mm  # a section starts on a new page when less than this is left
PDF_INCIDENT_LIMIT = 500  # incidents listed in the PDF; the CSV/XLSX files list every one


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


def _columns(table: t.Table, keep: list[str], rename: dict[str, str] | None = None) -> tuple[list[str], list[list]]:
    """The columns of `table` named in `keep`, in that order, headers renamed; "" cells shown as "–"."""
    _, headers, rows = table
    index = [headers.index(name) for name in keep]
    renamed = [(rename or {}).get(name, name) for name in keep]
    return renamed, [[("–" if row[i] == "" else row[i]) for i in index] for row in rows]


class _Story:
    def __init__(self, font: str, width: float) -> None:
        self.font, self.width = font, width
        self.items: list[Any] = []
        self.heading = ParagraphStyle("heading", fontName=font, fontSize=12, leading=16, spaceBefore=8,
                                      spaceAfter=4)
        self.body = ParagraphStyle("body", fontName=font, fontSize=8, leading=11, wordWrap="CJK", spaceBefore=2)

    def title(self, text: str) -> None:
        # A heading never ends a page: a new page starts when little room is left under it.
        self.items += [CondPageBreak(HEADING_ROOM), Paragraph(text, self.heading)]

    def section(self, title: str, headers: list[str], rows: list[list[Any]], wrap: tuple[int, ...] = (),
                notes: tuple[str, ...] = (), size: float = 9.0) -> None:
        self.title(title)
        if rows:
            self.items.append(fit_table(headers, rows, self.font, self.width, wrap, size=size))
        else:
            self.items.append(Paragraph(t.w("reports.none"), self.body))
        self.items.extend(Paragraph(note, self.body) for note in notes if note)


def _summary(report: Report, story: _Story) -> None:
    _, _, rows = t.summary(report)
    rows = [row for row in rows if row[0] != t.w("reports.col.title")]
    story.section(t.w("reports.section.summary"), [t.w("reports.col.item"), t.w("reports.col.value")], rows,
                  wrap=(1,))


def _windows(report: Report, story: _Story) -> None:
    w = t.w
    keep = [w("reports.col.window"), w("reports.col.total"), *[w(key) for _, key in t.PRESENCE_COLUMNS],
            w("reports.col.presence_rate")]
    short = {w("reports.col.total"): w("reports.col.count"), w("reports.col.service_minutes"): w("reports.col.service"),
             w("reports.col.present_minutes"): w("reports.col.present"),
             w("reports.col.absent_minutes"): w("reports.col.absent"),
             w("reports.col.paused_minutes"): w("reports.col.paused"),
             w("reports.col.unknown_minutes"): w("reports.col.unknown")}
    table = t.windows(report)
    if report.presence_total is None:  # no calendar: incidents per window only
        keep = keep[:2]
    headers, rows = _columns(table, keep, short)
    story.section(table[0], headers, rows, notes=(w("reports.pdf.unit") if report.presence_total else "",))


def _incidents(report: Report, story: _Story) -> None:
    w = t.w
    table = t.incidents(report)
    keep = table[1][1:]  # the incident ids are in the CSV/XLSX files; here they would only crowd the page
    headers, rows = _columns(table, keep)
    total = len(rows)
    note = w("reports.incidents.truncated", shown=PDF_INCIDENT_LIMIT, total=total) if total > PDF_INCIDENT_LIMIT \
        else ""
    story.section(table[0], headers, rows[:PDF_INCIDENT_LIMIT], wrap=(len(keep) - 1,), notes=(note,), size=8.0)


def _scores(report: Report, story: _Story) -> None:
    name, headers, rows = t.scores(report)
    if report.scores_state != "included":
        story.title(name)
        story.items.append(Paragraph(rows[0][0], story.body))
        return
    story.section(name, headers, rows, wrap=(len(headers) - 1,), notes=(t.w("reports.scores.note"),))


def _signature(font: str, width: float) -> KeepTogether:
    style = ParagraphStyle("sign", fontName=font, fontSize=10, leading=14)
    line = Table([[t.w("reports.pdf.sign"), "", t.w("reports.pdf.date"), ""]],
                 colWidths=[26 * mm, 80 * mm, 14 * mm, 45 * mm], rowHeights=[14 * mm], hAlign="LEFT")
    line.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 10),
                              ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                              ("LINEBELOW", (1, 0), (1, 0), 0.6, colors.black),
                              ("LINEBELOW", (3, 0), (3, 0), 0.6, colors.black)]))
    return KeepTogether([Spacer(1, 8 * mm), Paragraph(t.w("reports.pdf.prepared"), style), line])


def to_pdf(report: Report) -> bytes:
    font = _register_font()
    width = A4[0] - 2 * MARGIN
    story = _Story(font, width)
    story.items.append(Paragraph(report.title, ParagraphStyle("title", fontName=font, fontSize=15, leading=21,
                                                              spaceAfter=4, wordWrap="CJK")))
    sections = {table[0]: table for table in t.tables(report)}
    _summary(report, story)
    _windows(report, story)
    story.section(*sections[t.w("reports.section.by_type")])
    (name, headers, rows), rest = t.days_with_incidents(report)
    story.section(name, headers, rows, notes=(rest,))
    if report.incidents:
        peak = max([row["count"] for row in report.trend] + [1])
        story.items += [Spacer(1, 4 * mm), trend_chart(report.trend, t.w("reports.pdf.trend", peak=peak), font, width),
                        Spacer(1, 3 * mm),
                        heat_chart(report.heatmap, t.w("reports.pdf.heatmap"), t.WEEKDAYS_ZH, font, width)]
    story.section(*sections[t.w("reports.section.people")])
    _incidents(report, story)
    _scores(report, story)
    story.section(*sections[t.w("reports.section.pauses")])
    story.section(*_without_incident_ids(sections[t.w("reports.section.appeals")]))
    story.items.append(_signature(font, width))

    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                                 topMargin=MARGIN + 4 * mm, bottomMargin=MARGIN, title=report.title,
                                 author="counterwatch")
    header = t.w("reports.pdf.header", hall=report.hall_name, period=report.period.label_zh(),
                 at=report.generated_local)
    document.build(story.items, canvasmaker=numbered_canvas(
        font, header, lambda page, pages: t.w("reports.pdf.page", page=page, pages=pages), MARGIN))
    return buffer.getvalue()


def _without_incident_ids(table: t.Table) -> tuple[str, list[str], list[list]]:
    name, headers, _ = table
    keep = [header for header in headers if header != t.w("reports.col.incident_id")]
    return (name, *_columns(table, keep))
