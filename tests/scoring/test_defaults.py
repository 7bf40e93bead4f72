"""The built-in scoring defaults are the county's rules (投诉问责制 第七条): one violation costs points and raises no
flag, the second within a year escalates; and the shipped configs/scoring.yaml is exactly the built-in defaults."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor_api.scoring import IncidentRecord, Period, compute_scores, load_scoring_config

TZ = "Asia/Shanghai"
SHIPPED = Path(__file__).resolve().parents[2] / "configs" / "scoring.yaml"
BUILT_IN = load_scoring_config(None)  # what `counterwatch run` / `serve` use without --scoring-config
SEED_FLAGS = {"notice_issued", "self_examination_required", "award_eligibility_lost", "escalation"}


def _local(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(TZ)).astimezone(UTC)


def _confirmed(incident_id: str, at: datetime, kind: str = "absent_without_pause",
               minutes: float = 1) -> IncidentRecord:
    return IncidentRecord(incident_id, "hall-a", "w01", "s001", kind, at, at + timedelta(minutes=minutes), "confirm")


def _flags(records: list[IncidentRecord], period: str) -> dict[str, tuple[str, ...]]:
    (score,) = compute_scores(records, [], BUILT_IN, Period(period, TZ), [("hall-a", "s001")])
    return {flag.name: flag.incident_ids for flag in score.flags}


def test_one_short_absence_costs_points_and_raises_no_flag() -> None:
    absence = [_confirmed("a", _local(2026, 3, 2, 9, 30))]
    (march,) = compute_scores(absence, [], BUILT_IN, Period("2026-03", TZ), [("hall-a", "s001")])
    assert (march.deducted, march.score) == (2, 98)
    assert march.flags == ()
    assert _flags(absence, "2026") == {}


def test_the_second_violation_in_a_year_raises_what_the_rules_say() -> None:
    records = [_confirmed("a", _local(2026, 1, 12, 10)), _confirmed("b", _local(2026, 3, 2, 9, 30), "phone_use")]
    # 第七条 (三): the second within a year escalates, in the month it happened.
    assert _flags(records, "2026-01") == {}
    assert _flags(records, "2026-03") == {"escalation": ("a", "b")}
    # (一) 书面检查 + 通报批评 and (二) 取消评先评优 at the second violation in the period: here the year.
    assert _flags(records, "2026") == {name: ("a", "b") for name in SEED_FLAGS}
    # Two in one month: everything in that month.
    same_month = [_confirmed("c", _local(2026, 5, 6, 10)), _confirmed("d", _local(2026, 5, 20, 15), "eating")]
    assert _flags(same_month, "2026-05") == {name: ("c", "d") for name in SEED_FLAGS}
    # A year and a day later is a first violation again.
    apart = [_confirmed("e", _local(2026, 1, 12, 10)), _confirmed("f", _local(2027, 1, 13, 10))]
    assert _flags(apart, "2027-01") == {}


def test_a_long_single_absence_costs_more_points_but_still_raises_no_flag() -> None:
    absence = [_confirmed("a", _local(2026, 3, 2, 9, 30), minutes=45)]
    (march,) = compute_scores(absence, [], BUILT_IN, Period("2026-03", TZ), [("hall-a", "s001")])
    assert (march.deducted, march.flags) == (6, ())


def test_the_shipped_yaml_is_exactly_the_built_in_defaults() -> None:
    shipped = load_scoring_config(SHIPPED)
    assert shipped.flags == BUILT_IN.flags
    assert shipped.incidents == BUILT_IN.incidents
    assert shipped == BUILT_IN
