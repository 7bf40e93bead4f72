"""The app's monthly report files use the scoring config the instance was started with (`--scoring-config`), not the
built-in defaults: the scheduler create_app starts is run at once with a clock in December (the scripted November of
conftest.py has closed) and the file's appraisal scores are read back."""
from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from monitor_api.app import build_services, create_app
from monitor_api.reports.monthly import MonthlyReportScheduler
from tests.conftest import REPO
from tests.reports.conftest import ReportWorld

DECEMBER = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 on 1 December in the hall: November has closed


def test_monthly_files_use_the_configured_scoring(report_world: ReportWorld, tmp_path: Path, monkeypatch) -> None:
    shipped = (REPO / "configs/scoring.yaml").read_text(encoding="utf-8")
    assert "  phone_use:\n    points: 2\n" in shipped
    scoring_path = tmp_path / "scoring.yaml"
    scoring_path.write_text(shipped.replace("  phone_use:\n    points: 2\n", "  phone_use:\n    points: 7\n"),
                            encoding="utf-8")
    data_dir = tmp_path / "data"
    settings = report_world.services.settings.model_copy(update={"scoring_config": scoring_path,
                                                                 "data_dir": data_dir})
    services = build_services(settings, database=report_world.services.database)

    class RunsAtOnce(MonthlyReportScheduler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **{**kwargs, "first_delay_s": 0.0, "clock": lambda: DECEMBER})

    monkeypatch.setattr("monitor_api.app.MonthlyReportScheduler", RunsAtOnce)
    target = data_dir / "reports" / "2026-11" / "hall-a.xlsx"
    with TestClient(create_app(settings, services=services, prepare=False)):
        deadline = time.monotonic() + 60
        while not target.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    assert target.exists()
    rows = list(load_workbook(target, read_only=True)["考核得分"].iter_rows(values_only=True))
    s001 = next(row for row in rows if row[0] == "s001")
    # n1 (phone use, confirmed): 7 points under this config, 2 under the defaults (a score of 95); n4 (sleeping): 3.
    assert s001[:6] == ("s001", "张伟", "不动产登记", 100, 10, 90)
