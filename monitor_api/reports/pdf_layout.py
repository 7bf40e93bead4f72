"""Building blocks of the PDF report: tables sized to their content, the running header and "第 x 页 / 共 y 页"
footer, and the two charts (vector graphics).

Tables: numbers, dates, names and window names are plain strings in columns measured to fit them, so they never
wrap; only the columns named as long text (an outcome, a list of consequences, an explanation) wrap, as
Paragraphs. Headers may wrap. When the measured columns do not fit the page width, the font gets smaller.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, Table, TableStyle

from monitor_api.reports.tables import Percent

PAD = 4.0  # left and right cell padding, points
MIN_WRAP = 70.0  # the narrowest a wrapping column gets, points
WRAP_SHARE = 0.4  # of the page width, what the wrapping columns get before headers are spread on one line
GRID = colors.HexColor("#9ca3af")
HEAD = colors.HexColor("#eef2f7")


def _text(cell: Any) -> str:
    return "" if cell is None else str(cell)


def _numeric(column: list[Any]) -> bool:
    values = [cell for cell in column if cell not in ("", None)]
    return bool(values) and all(isinstance(cell, (int, float, Percent)) for cell in values)


def _widths(headers: Sequence[str], rows: Sequence[Sequence[Any]], wrap: set[int], font: str, size: float,
            width: float) -> list[float] | None:
    """Column widths at `size`, or None when the columns that must not wrap do not fit `width`."""
    count = len(headers)
    body = [max([stringWidth(_text(row[i]), font, size) for row in rows if i < len(row)] + [0.0]) + 2 * PAD
            for i in range(count)]
    head = [stringWidth(header, font, size) + 2 * PAD for header in headers]
    two_lines = [(head[i] - 2 * PAD) / 2 + 2 * PAD + 1 for i in range(count)]  # a header may take two lines
    widths = [max(body[i], two_lines[i]) for i in range(count)]
    for i in wrap:
        widths[i] = min(widths[i], MIN_WRAP)
    spare = width - sum(widths)
    if spare < 0:
        return None
    need = {i: max(body[i], head[i]) for i in wrap}
    share = max(MIN_WRAP, WRAP_SHARE * width / len(wrap)) if wrap else 0.0
    for i in wrap:  # first the long-text columns, up to what they need or a fair share of the page
        extra = min(max(min(need[i], share) - widths[i], 0.0), spare)
        widths[i] += extra
        spare -= extra
    for i in range(count):  # then headers on one line where there is room
        if i not in wrap:
            extra = min(max(head[i] - widths[i], 0.0), spare)
            widths[i] += extra
            spare -= extra
    wanted = sum(max(need[i] - widths[i], 0.0) for i in wrap)
    for i in wrap:  # the rest to the long-text columns, by what they would need on one line
        widths[i] += spare * (max(need[i] - widths[i], 0.0) / wanted if wanted > 0 else 1 / len(wrap))
    return widths


def fit_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], font: str, width: float,
              wrap: Sequence[int] = (), size: float = 9.0, min_size: float = 6.5) -> Table:
    """A grid table whose non-wrapping columns fit their widest cell (header row repeated on every page)."""
    wrap_set = {i % len(headers) for i in wrap}
    widths = None
    while widths is None:
        widths = _widths(headers, rows, wrap_set, font, size, width)
        if widths is None:
            if size <= min_size:
                widths = _widths(headers, rows, set(range(len(headers))), font, size, width) or \
                    [width / len(headers)] * len(headers)
                wrap_set = set(range(len(headers)))
                break
            size -= 0.5
    style = ParagraphStyle("cell", fontName=font, fontSize=size, leading=size * 1.3, wordWrap="CJK")
    head_style = ParagraphStyle("head", parent=style, textColor=colors.black)
    cells: list[list[Any]] = [[Paragraph(_escape(header), head_style) for header in headers]]
    for row in rows:
        padded = list(row) + [""] * (len(headers) - len(row))
        cells.append([Paragraph(_escape(_text(cell)), style) if i in wrap_set else _text(cell)
                      for i, cell in enumerate(padded)])
    commands: list[tuple] = [
        ("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), size),
        ("LEADING", (0, 0), (-1, -1), size * 1.3), ("GRID", (0, 0), (-1, -1), 0.4, GRID),
        ("BACKGROUND", (0, 0), (-1, 0), HEAD), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), PAD), ("RIGHTPADDING", (0, 0), (-1, -1), PAD),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]
    for i in range(len(headers)):
        if _numeric([row[i] for row in rows if i < len(row)]):
            commands.append(("ALIGN", (i, 1), (i, -1), "RIGHT"))
    table = Table(cells, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle(commands))
    return table


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def numbered_canvas(font: str, header: str, page_text: Callable[[int, int], str], margin: float) -> type[Canvas]:
    """A canvas class that draws `header` on top of every page and page_text(page, pages) at the bottom: pages are
    kept until the document is saved, when their number is known."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 (reportlab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self._decorate(number, total)
                super().showPage()
            super().save()

        def _decorate(self, number: int, total: int) -> None:
            page_width, page_height = self._pagesize
            self.saveState()
            self.setFont(font, 8)
            self.setFillColor(colors.HexColor("#374151"))
            self.drawString(margin, page_height - margin + 4 * mm, header)
            self.setStrokeColor(GRID)
            self.setLineWidth(0.5)
            self.line(margin, page_height - margin + 2.5 * mm, page_width - margin, page_height - margin + 2.5 * mm)
            self.drawCentredString(page_width / 2, margin - 8 * mm, page_text(number, total))
            self.restoreState()

    return NumberedCanvas


def trend_chart(trend: list[dict[str, Any]], title: str, font: str, width: float) -> Drawing:
    height = 45 * mm
    drawing = Drawing(width, height)
    counts = [row["count"] for row in trend]
    peak = max(counts + [1])
    left, bottom, top = 12 * mm, 8 * mm, height - 6 * mm
    plot_w = width - left - 4 * mm
    bar_w = plot_w / max(len(counts), 1)
    drawing.add(Line(left, bottom, left + plot_w, bottom, strokeColor=colors.grey))
    drawing.add(String(left, top + 1 * mm, title, fontName=font, fontSize=9))
    for index, count in enumerate(counts):
        bar_h = (top - bottom) * count / peak
        drawing.add(Rect(left + index * bar_w + 0.5, bottom, max(bar_w - 1, 0.5), bar_h,
                         fillColor=colors.HexColor("#c0392b"), strokeColor=None))
    step = max(1, len(counts) // 8)
    for index in range(0, len(counts), step):
        drawing.add(String(left + index * bar_w, bottom - 4 * mm, trend[index]["date"][5:], fontName=font,
                           fontSize=6))
    return drawing


def heat_chart(heatmap: list[list[int]], title: str, weekdays: Sequence[str], font: str, width: float) -> Drawing:
    cell_w = (width - 14 * mm) / 24
    cell_h = 4.5 * mm
    height = cell_h * 7 + 12 * mm
    drawing = Drawing(width, height)
    peak = max([max(row) for row in heatmap] + [1])
    drawing.add(String(0, height - 4 * mm, title, fontName=font, fontSize=9))
    for day, hours in enumerate(heatmap):
        y = height - 8 * mm - (day + 1) * cell_h
        drawing.add(String(0, y + 1.2 * mm, weekdays[day], fontName=font, fontSize=7))
        for hour, count in enumerate(hours):
            shade = 1 - 0.85 * count / peak
            drawing.add(Rect(14 * mm + hour * cell_w, y, cell_w - 0.5, cell_h - 0.5, strokeColor=None,
                             fillColor=colors.Color(1, shade, shade)))
    for hour in range(0, 24, 3):
        drawing.add(String(14 * mm + hour * cell_w, 0, f"{hour}", fontName=font, fontSize=6))
    return drawing
