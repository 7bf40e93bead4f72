"""CSV and XLSX exports of a report (the PDF is in pdf.py). Both come from `tables.tables`, in the same order."""
from __future__ import annotations

import csv
import io
import re

from openpyxl import Workbook
from openpyxl.styles import Font

from monitor_api.reports.data import Report
from monitor_api.reports.tables import Percent, tables

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
# Spreadsheet programs run cells starting with these as formulas: names come from configs and people (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _xlsx_cell(value: object) -> object:
    return value.ratio if isinstance(value, Percent) else _safe(value)


def to_csv(report: Report) -> bytes:
    """Sections one after another: a `# name` line, the header row, the rows, a blank line. UTF-8 with a BOM so
    that Excel on a Chinese Windows reads the names correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for name, headers, rows in tables(report):
        writer.writerow([f"# {name}"])
        writer.writerow(headers)
        writer.writerows([[_safe(cell) for cell in row] for row in rows])
        writer.writerow([])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(report: Report) -> bytes:
    """One sheet per section, header row in bold and frozen."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, headers, rows in tables(report):
        sheet = workbook.create_sheet(title=name[:31])
        sheet.append(headers)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([_xlsx_cell(cell) for cell in row])
            # The sheet's row spans its widest row: a shorter row pairs with the first cells only.
            for cell, value in zip(sheet[sheet.max_row], row, strict=False):
                if isinstance(value, Percent):
                    cell.number_format = "0.0%"
        sheet.freeze_panes = "A2"
        for index, header in enumerate(headers, start=1):
            width = max([len(str(header))] + [len(str(row[index - 1])) for row in rows if index - 1 < len(row)])
            sheet.column_dimensions[sheet.cell(1, index).column_letter].width = min(max(8, width * 2), 60)
    workbook.properties.title = report.title
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def filename(report: Report, extension: str) -> str:
    """An ASCII file name (the Content-Disposition header is latin-1): hall, scope, key, period."""
    parts = [report.hall_id, report.scope] + ([report.key] if report.key else []) + [report.period.text]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", "-".join(parts))
    return f"report-{stem}.{extension}"
