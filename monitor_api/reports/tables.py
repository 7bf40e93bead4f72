"""The report as named tables with Chinese headers: the one shape CSV, XLSX and PDF are all written from, so the
three exports always carry the same numbers. Every word comes from the zh-CN catalogue (the `reports.*` keys)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from monitor_api.dashboard.catalogue_zh import ZH
from monitor_api.reports.data import REVIEW_STATES, Report

Table = tuple[str, list[str], list[list[Any]]]  # (section name, headers, rows)


@dataclass(frozen=True)
class Percent:
    """A ratio (0.25 is 25%): text as "25.0%" in CSV and PDF, a number with a percent format in XLSX."""
    ratio: float

    def __str__(self) -> str:
        return f"{self.ratio * 100:.1f}%"


def w(key: str, **fields: object) -> str:
    """A report word from the zh-CN catalogue."""
    text = ZH[key]
    return text.format(**fields) if fields else text


def zh(group: str, value: str) -> str:
    """The catalogue's Chinese name of an enum value (the dashboard's words), else the value itself."""
    return ZH.get(f"{group}.{value}", value)


WEEKDAYS_ZH = tuple(w(f"reports.weekday.{day}") for day in range(7))
STATE_HEADERS = [zh("review_state", state) for state in REVIEW_STATES]
PRESENCE_COLUMNS = (("service_minutes", "reports.col.service_minutes"),
                    ("present_minutes", "reports.col.present_minutes"),
                    ("absent_minutes", "reports.col.absent_minutes"),
                    ("paused_minutes", "reports.col.paused_minutes"),
                    ("unknown_minutes", "reports.col.unknown_minutes"))


def percent(value: float | None) -> Percent | str:
    return "" if value is None else Percent(value)


def outcome(row: dict[str, Any]) -> str:
    """The review reason and the appeal outcome of an incident, in words."""
    parts = []
    if row["review_reason"]:
        key = f"reason.{row['review_decision']}.{row['review_reason']}"
        parts.append(ZH.get(key, row["review_reason"]))
    if row["appeal"]:
        parts.append(w(f"reports.appeal.{row['appeal']}"))
    return "；".join(parts)


def minutes(seconds: float | None) -> float | str:
    return "" if seconds is None else round(seconds / 60.0, 1)


def summary(report: Report) -> Table:
    total = report.presence_total or {}
    confirmed = sum(row["confirmed"] for row in report.by_type)
    rows: list[list[Any]] = [
        [w("reports.col.title"), report.title], [w("reports.col.hall"), report.hall_name],
        [w("reports.col.period"), report.period.label_zh()],
        [w("reports.col.scope"), f"{zh('scope', report.scope)}：{report.subject}"],
        [w("reports.col.generated_at"), report.generated_local],
        [w("reports.col.incidents"), report.incidents], [w("reports.col.confirmed"), confirmed],
        [w("reports.col.pending_reviews"), report.pending_reviews],
        [w("reports.col.pending_appeals"), len(report.pending_appeals)]]
    if report.presence_total is not None:
        rows += [[w("reports.col.presence_total"), percent(total.get("presence_rate"))],
                 [w("reports.col.unknown_total"), total.get("unknown_minutes", "")]]
    rows += [[w("reports.col.timezone"), report.timezone], [w("reports.col.presence_note"), report.presence_note]]
    return w("reports.section.summary"), [w("reports.col.item"), w("reports.col.value")], rows


def windows(report: Report) -> Table:
    rows = [[row["window_id"], row["name"], row["department"], *[row[s] for s in REVIEW_STATES], row["total"],
             *[row.get(key, "") for key, _ in PRESENCE_COLUMNS], percent(row.get("presence_rate")),
             percent(row.get("unknown_share"))]
            for row in report.windows]
    headers = [w("reports.col.window_id"), w("reports.col.window"), w("reports.col.department"), *STATE_HEADERS,
               w("reports.col.total"), *[w(key) for _, key in PRESENCE_COLUMNS], w("reports.col.presence_rate"),
               w("reports.col.unknown_share")]
    return w("reports.section.windows"), headers, rows


def incidents(report: Report) -> Table:
    rows = [[row["incident_id"], row["started_at"], row["window_name"], row["staff_name"] or "",
             zh("incident_type", row["type"]), minutes(row["duration_s"]), zh("review_state", row["review_state"]),
             outcome(row)] for row in report.incident_list]
    headers = [w("reports.col.incident_id"), w("reports.col.time"), w("reports.col.window"), w("reports.col.staff"),
               w("reports.col.type"), w("reports.col.minutes"), w("reports.col.review_state"),
               w("reports.col.outcome")]
    return w("reports.section.incidents"), headers, rows


def scores(report: Report) -> Table:
    headers = [w("reports.col.staff_id"), w("reports.col.name"), w("reports.col.department"), w("reports.col.base"),
               w("reports.col.deducted"), w("reports.col.score"), w("reports.col.violations"),
               w("reports.col.flags")]
    if report.scores_state != "included":
        return w("reports.section.scores"), headers, [[w(f"reports.scores.{report.scores_state}")]]
    rows: list[list[Any]] = [
        [row["staff_id"], row["staff_name"], row["department"], row["base"], row["deducted"], row["score"],
         row["violations"], "、".join(zh("flag", flag) for flag in row["flags"])] for row in report.scores]
    return w("reports.section.scores"), headers, rows


def days_with_incidents(report: Report) -> tuple[Table, str]:
    """The PDF's compact trend: the days that had incidents (the months, for a year), and a line that counts the
    days (months) without any, which are left out."""
    if report.period.kind == "year":
        per_month: dict[str, int] = {}
        for row in report.trend:
            per_month[row["date"][:7]] = per_month.get(row["date"][:7], 0) + row["count"]
        rows = [[month, count] for month, count in per_month.items() if count]
        rest = w("reports.months.rest", months=len(per_month) - len(rows)) if rows and len(rows) < len(per_month) \
            else ""
        return (w("reports.section.months"), [w("reports.col.month"), w("reports.col.count")], rows), rest
    rows = [[row["date"], WEEKDAYS_ZH[dt.date.fromisoformat(row["date"]).weekday()], row["count"]]
            for row in report.trend if row["count"]]
    headers = [w("reports.col.date"), w("reports.col.weekday"), w("reports.col.count")]
    rest = w("reports.days.rest", days=len(report.trend) - len(rows)) if rows and len(rows) < len(report.trend) \
        else ""
    return (w("reports.section.days"), headers, rows), rest


def tables(report: Report) -> list[Table]:
    by_type = [[zh("incident_type", row["type"]), *[row[s] for s in REVIEW_STATES], row["total"]]
               for row in report.by_type]
    trend = [[row["date"], row["count"]] for row in report.trend]
    heat = [[WEEKDAYS_ZH[day], *hours] for day, hours in enumerate(report.heatmap)]
    people = [[row["staff_id"], row["name"], row["department"], *[row[s] for s in REVIEW_STATES], row["total"]]
              for row in report.people]
    pauses = [[zh("pause_source", row["source"]), row["count"], row["minutes"]] for row in report.pauses]
    appeals = [[row["appeal_id"], row["incident_id"], zh("incident_type", row["type"]), row["staff"] or "",
                row["filed_at"]] for row in report.pending_appeals]
    return [
        summary(report),
        (w("reports.section.by_type"), [w("reports.col.type"), *STATE_HEADERS, w("reports.col.total")], by_type),
        (w("reports.section.trend"), [w("reports.col.date"), w("reports.col.count")], trend),
        (w("reports.section.heatmap"), [w("reports.col.weekday"), *[w("reports.col.hour", hour=hour)
                                                                    for hour in range(24)]], heat),
        (w("reports.section.people"), [w("reports.col.staff_id"), w("reports.col.name"), w("reports.col.department"),
                                       *STATE_HEADERS, w("reports.col.total")], people),
        windows(report),
        (w("reports.section.pauses"), [w("reports.col.source"), w("reports.col.times"), w("reports.col.minutes")],
         pauses),
        (w("reports.section.appeals"), [w("reports.col.appeal_id"), w("reports.col.incident_id"),
                                        w("reports.col.type"), w("reports.col.staff"), w("reports.col.filed_at")],
         appeals),
        incidents(report),
        scores(report),
    ]
