"""The report as named tables with Chinese headers: the one shape CSV, XLSX and PDF are all written from, so the
three exports always carry the same numbers."""
from __future__ import annotations

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

WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
SCOPES_ZH = {"hall": "大厅", "window": "窗口", "staff": "人员", "department": "科室"}


def zh(group: str, value: str) -> str:
    """The catalogue's Chinese name of an enum value (the dashboard's words), else the value itself."""
    return ZH.get(f"{group}.{value}", value)


STATE_HEADERS = [zh("review_state", state) for state in REVIEW_STATES]


def tables(report: Report) -> list[Table]:
    summary = [["标题", report.title], ["大厅", report.hall_name], ["期间", report.period.label_zh()],
               ["范围", f"{SCOPES_ZH[report.scope]}：{report.subject}"], ["告警总数", report.incidents],
               ["待审核告警", report.pending_reviews], ["待处理申诉", len(report.pending_appeals)],
               ["时区", report.timezone], ["在岗说明", report.presence_note]]
    by_type = [[zh("incident_type", row["type"]), *[row[s] for s in REVIEW_STATES], row["total"]]
               for row in report.by_type]
    trend = [[row["date"], row["count"]] for row in report.trend]
    heat = [[WEEKDAYS_ZH[day], *hours] for day, hours in enumerate(report.heatmap)]
    people = [[row["staff_id"], row["name"], row["department"], *[row[s] for s in REVIEW_STATES], row["total"]]
              for row in report.people]
    windows = [[row["window_id"], row["name"], row["department"], *[row[s] for s in REVIEW_STATES], row["total"],
                row.get("service_minutes", ""), row.get("present_minutes", ""), row.get("paused_minutes", ""),
                row.get("absent_minutes", ""),
                "" if row.get("presence_rate") is None else Percent(row["presence_rate"])]
               for row in report.windows]
    pauses = [[zh("pause_source", row["source"]), row["count"], row["minutes"]] for row in report.pauses]
    appeals = [[row["appeal_id"], row["incident_id"], zh("incident_type", row["type"]), row["staff"] or "",
                row["filed_at"]] for row in report.pending_appeals]
    return [
        ("概要", ["项目", "内容"], summary),
        ("告警类型", ["告警类型", *STATE_HEADERS, "合计"], by_type),
        ("每日趋势", ["日期", "告警数"], trend),
        ("时段分布", ["星期", *[f"{hour}时" for hour in range(24)]], heat),
        ("人员", ["工号", "姓名", "科室", *STATE_HEADERS, "合计"], people),
        ("窗口在岗", ["窗口编号", "窗口", "科室", *STATE_HEADERS, "合计", "服务时长(分钟)", "在岗(分钟)", "暂停(分钟)",
                  "离岗(分钟)", "在岗率"], windows),
        ("暂停使用", ["来源", "次数", "时长(分钟)"], pauses),
        ("待处理申诉", ["申诉编号", "告警编号", "告警类型", "人员", "提交时间"], appeals),
    ]
