"""Scoring on scripted histories: pure functions, no database."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from monitor_api.scoring import (
    ComplaintRecord,
    IncidentRecord,
    Period,
    ScoringConfig,
    add_months,
    compute_scores,
    load_scoring_config,
)

TZ = "Asia/Shanghai"
CONFIG = load_scoring_config(Path(__file__).resolve().parents[2] / "configs" / "scoring.yaml")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(TZ)).astimezone(UTC)


def incident(incident_id: str, at: datetime, *, kind: str = "phone_use", minutes: float = 1, decision: str | None =
             "confirm", upheld: bool = False, staff: str = "s001", window: str = "w01") -> IncidentRecord:
    return IncidentRecord(incident_id, "hall-a", window, staff, kind, at, at + timedelta(minutes=minutes), decision,
                          upheld)


def score(records: list[IncidentRecord], period: str, complaints: tuple[ComplaintRecord, ...] = (),
          config: ScoringConfig = CONFIG):
    result = {s.staff_id: s for s in compute_scores(records, complaints, config, Period(period, TZ),
                                                    [("hall-a", "s001"), ("hall-a", "s002")])}
    return result["s001"]


def flags(staff_score) -> dict[str, tuple[str, ...]]:
    return {flag.name: flag.incident_ids for flag in staff_score.flags}


def test_the_shipped_yaml_is_valid_and_the_schema_is_strict() -> None:
    assert CONFIG.incidents["absent_without_pause"].points_for(31 * 60) == 6
    with pytest.raises(ValidationError):
        ScoringConfig.model_validate({"monthly_base": 100, "bogus": 1})
    with pytest.raises(ValidationError):
        ScoringConfig.model_validate({"incidents": {"eating": {"points": -1}}})


def test_deductions_by_type_and_duration_band_and_the_month_in_local_time() -> None:
    records = [incident("a", local(2026, 3, 2, 9, 30)),  # phone_use 1 min: 2
               incident("b", local(2026, 3, 5, 10), kind="absent_without_pause", minutes=15),  # band: 4
               incident("c", local(2026, 4, 1, 0, 30)),  # 31 March 16:30 UTC, but April in the hall
               incident("d", local(2026, 3, 9), decision=None),  # not reviewed: never counts
               incident("e", local(2026, 3, 9), decision="dismiss")]
    march = score(records, "2026-03")
    assert (march.deducted, march.score) == (6, 94)
    assert [d.source_id for d in march.deductions] == ["a", "b"]
    assert dict(march.by_window) == {"w01": 6}
    assert [d.source_id for d in score(records, "2026-04").deductions] == ["c"]
    year = score(records, "2026")
    assert (year.deducted, year.score) == (8, 92)
    # The second violation (投诉问责制 第七条): every flag, each with both incidents.
    assert flags(march) == {name: ("a", "b") for name in ("self_examination_required", "notice_issued",
                                                          "award_eligibility_lost", "escalation")}
    assert flags(score(records, "2026-04")) == {"escalation": ("a", "b", "c")}  # April's one is the third in a year


def test_a_staff_member_without_deductions_keeps_the_base_score() -> None:
    result = compute_scores([], [], CONFIG, Period("2026-03", TZ), [("hall-a", "s002")])
    assert [(s.staff_id, s.score, s.flags) for s in result] == [("s002", 100, ())]


def test_an_upheld_appeal_removes_the_deduction_and_recomputes_the_earlier_month_and_later_escalation() -> None:
    march = incident("m", local(2026, 3, 10, 10))
    april = incident("a", local(2026, 4, 2, 10))
    before = [march, april]
    assert score(before, "2026-03").deducted == 2
    assert flags(score(before, "2026-04"))["escalation"] == ("m", "a")
    after = [replace(march, appeal_upheld=True), april]  # the appeal on March's incident is upheld in May
    assert score(after, "2026-03").deductions == ()
    assert score(after, "2026-03").score == 100
    assert "escalation" not in flags(score(after, "2026-04"))
    assert score(after, "2026").deducted == 2


def test_escalation_exactly_at_the_second_violation_inside_twelve_calendar_months() -> None:
    first = incident("first", local(2025, 3, 10, 10))
    assert "escalation" not in flags(score([first], "2025-03"))  # one violation: no escalation
    inside = incident("second", local(2026, 3, 9, 10))  # twelve months less a day
    escalated = flags(score([first, inside], "2026-03"))["escalation"]
    assert escalated == ("first", "second")
    third = incident("third", local(2026, 3, 9, 11))
    assert flags(score([first, inside, third], "2026-03"))["escalation"] == ("first", "second", "third")


@pytest.mark.parametrize("second_at", [local(2026, 3, 11, 10),  # twelve months and a day
                                       local(2026, 3, 10, 10)])  # exactly twelve months: the window is half-open
def test_no_escalation_at_twelve_months_or_twelve_months_and_a_day(second_at: datetime) -> None:
    first = incident("first", local(2025, 3, 10, 10))
    assert "escalation" not in flags(score([first, incident("second", second_at)], "2026-03"))


def test_twelve_months_are_calendar_months_in_the_hall_time_zone() -> None:
    # 2025-03-10 00:30 in Shanghai is 9 March in UTC: the window ends at 2026-03-10 00:30 Shanghai time.
    first = incident("first", local(2025, 3, 10, 0, 30))
    assert flags(score([first, incident("s", local(2026, 3, 10, 0, 29))], "2026-03"))["escalation"] == ("first", "s")
    assert "escalation" not in flags(score([first, incident("s", local(2026, 3, 10, 0, 31))], "2026-03"))
    assert add_months(datetime(2025, 1, 31), 1) == datetime(2025, 2, 28)
    assert add_months(datetime(2024, 2, 29), 12) == datetime(2025, 2, 28)


def test_upheld_complaints_count_and_escalate_with_incidents() -> None:
    complaint = ComplaintRecord(7, "hall-a", "w01", "s001", local(2026, 3, 20), "upheld", ("x",))
    rejected = ComplaintRecord(8, "hall-a", "w01", "s001", local(2026, 3, 21), None)
    march = score([incident("x", local(2026, 3, 2, 10))], "2026-03", (complaint, rejected))
    assert march.deducted == 2 + CONFIG.complaints.upheld
    assert [(f.name, f.incident_ids, f.complaint_ids) for f in march.flags if f.name == "escalation"] == [
        ("escalation", ("x",), (7,))]


def test_periods() -> None:
    assert Period("2026-03", TZ).start == datetime(2026, 2, 28, 16, tzinfo=UTC)
    assert Period("2026", TZ).end == datetime(2026, 12, 31, 16, tzinfo=UTC)
    with pytest.raises(ValueError):
        Period("2026-13", TZ)
