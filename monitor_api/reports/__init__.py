"""Conduct reports: per staff member, window, department or hall, per day, week, month or year.

`build_report` aggregates the record (pure reads; `presence` splits service time into present, absent, paused and
unknown, `details` lists the incidents and the appraisal scores); `tables` shapes it for `exports` (CSV, XLSX) and
`pdf`; `monthly` writes last month's files once a month has closed. The API route is monitor_api/routes/reports.py;
the page is the dashboard's /reports.
"""
from monitor_api.reports.data import SCOPES, Report, build_report
from monitor_api.reports.period import Period, parse_period

__all__ = ["SCOPES", "Period", "Report", "build_report", "parse_period"]
