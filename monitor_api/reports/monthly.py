"""Monthly reports written when a month closes: `DATA_DIR/reports/YYYY-MM/<hall>.pdf` and `.xlsx`, once.

`generate_closed_months(..., now)` is the whole logic (tested with a fake clock): for each hall, the month before
`now`'s local month is closed from 00:00 on the 1st in the hall's time zone; its files are written if missing
(written to a temporary name and renamed, so a crash never leaves a half file that would count as done).
`MonthlyReportScheduler` calls it from a daemon thread every `interval_s` while the app runs.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from counterwatch.private_files import open_private, private_dir
from monitor_api.reports.data import Calendar, build_report
from monitor_api.reports.exports import to_xlsx
from monitor_api.reports.pdf import to_pdf
from monitor_api.reports.period import previous_month
from monitor_api.reports.presence import StoredCoverage
from monitor_api.scoring.config import ScoringConfig
from monitor_api.storage import Actor, Database, record_audit
from monitor_api.storage.models import HallRow

logger = logging.getLogger("counterwatch.api.reports")


def _write_once(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".part")
    with os.fdopen(open_private(temporary, os.O_WRONLY | os.O_TRUNC), "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def generate_closed_months(database: Database, data_dir: Path, now: dt.datetime,
                           calendars: Mapping[str, Calendar] | None = None, *,
                           scoring: ScoringConfig | None = None) -> list[Path]:
    """Write last month's PDF and XLSX for every configured hall whose files are missing; the paths written. The
    files include the month's appraisal scores under `scoring` (None: the built-in defaults)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    written: list[Path] = []
    with database.read() as session:
        halls = [(hall.id, hall.timezone) for hall in session.scalars(select(HallRow).order_by(HallRow.id))
                 if hall.configured]
    for hall_id, timezone in halls:
        period = previous_month(now.astimezone(ZoneInfo(timezone)).date())
        folder = data_dir / "reports" / period.text
        targets = {"pdf": folder / f"{hall_id}.pdf", "xlsx": folder / f"{hall_id}.xlsx"}
        missing = {kind: path for kind, path in targets.items() if not path.exists()}
        if not missing:
            continue
        private_dir(folder)
        with database.write() as session:
            report = build_report(session, hall_id, period, calendar=(calendars or {}).get(hall_id), now=now,
                                  coverage=StoredCoverage.for_hall(session, hall_id), scoring=scoring)
            for kind, path in missing.items():
                _write_once(path, to_pdf(report) if kind == "pdf" else to_xlsx(report))
                written.append(path)
            record_audit(session, Actor.system("reports"), "export.report.monthly", "report",
                         f"{hall_id}/{period.text}", hall_id=hall_id,
                         details={"files": sorted(str(p.relative_to(data_dir)) for p in missing.values())})
        logger.info("monthly report %s %s written", hall_id, period.text)
    return written


class MonthlyReportScheduler:
    """Runs `generate_closed_months` after `first_delay_s` and then every `interval_s` (hourly by default), so the
    files appear within the hour after a month closes and after a restart that missed the moment."""

    def __init__(self, database: Database, data_dir: Path, calendars: Mapping[str, Calendar] | None = None, *,
                 interval_s: float = 3600.0, first_delay_s: float = 60.0,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
                 scoring: ScoringConfig | None = None) -> None:
        self._args = (database, data_dir)
        self._calendars, self._scoring = calendars, scoring
        self._interval_s, self._first_delay_s, self._clock = interval_s, first_delay_s, clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="monthly-reports", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        delay = self._first_delay_s
        while not self._stop.wait(delay):
            delay = self._interval_s
            try:
                generate_closed_months(*self._args, self._clock(), self._calendars, scoring=self._scoring)
            except Exception:  # a failed run (font missing, database busy) is retried at the next tick
                logger.exception("monthly reports failed")
