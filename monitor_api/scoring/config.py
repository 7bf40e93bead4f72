"""The scoring configuration (configs/scoring.yaml): deduction points per confirmed incident type and duration band,
per complaint outcome, the base score of a period, and the thresholds of the 投诉问责制 第七条 flags.

Every number here is a default in config, never a literal in the scoring code (DESIGN.md). The defaults below are
the only built-in values: `load_scoring_config(None)` returns them, and configs/scoring.yaml spells out exactly the
same values for a hall to edit (tests/scoring/test_defaults.py keeps the two equal).
"""
from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator
from ruamel.yaml import YAML

from counterwatch.behaviours import BEHAVIOURS

# 投诉问责制 第七条 (三): "一年内，窗口工作人员发生2次及以上违规行为的" -- the second violation within a year
# escalates. (一) 书面检查 + 通报批评 and (二) 取消评先、评优资格 name no count and rank below (三), so by default
# they too need a second violation (in the period): one confirmed violation costs points and raises no flag.
# The rules count violations, not points; a hall may add point thresholds (min_points) in its own config.
# (四) 情节严重 is the managers' judgement and raises no flag here.
SEED_MIN_VIOLATIONS = 2
SEED_WINDOW_MONTHS = 12  # 第七条 (三): 一年内


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DurationBand(_Strict):
    """From this duration on, the incident costs `points` instead of the type's base points (the longest band wins)."""

    min_duration_s: float = Field(gt=0, le=24 * 3600, description="Incident duration (ended_at - started_at) at "
                                  "which this band starts, in seconds.")
    points: float = Field(ge=0, le=100, description="Deduction for an incident of at least this duration.")


class IncidentDeduction(_Strict):
    points: float = Field(ge=0, le=100, description="Deduction for one confirmed incident of this type.")
    bands: tuple[DurationBand, ...] = Field(default=(), max_length=10, description="Severity by duration; "
                                            "ascending min_duration_s.")

    @field_validator("bands")
    @classmethod
    def _ascending(cls, value: tuple[DurationBand, ...]) -> tuple[DurationBand, ...]:
        starts = [band.min_duration_s for band in value]
        if starts != sorted(set(starts)):
            raise ValueError(f"bands must have strictly ascending min_duration_s, got {starts}")
        return value

    def points_for(self, duration_s: float | None) -> float:
        points = self.points
        for band in self.bands:
            if duration_s is not None and duration_s >= band.min_duration_s:
                points = band.points
        return points


class ComplaintDeduction(_Strict):
    upheld: float = Field(default=5.0, ge=0, le=100, description="Deduction for one upheld complaint (投诉成立).")


class FlagThreshold(_Strict):
    """A flag is raised for a staff member and period when either threshold is reached (0 disables that one)."""

    min_violations: int = Field(default=SEED_MIN_VIOLATIONS, ge=0, le=1000, description="Counted violations "
                                "(confirmed incidents and upheld complaints) in the period.")
    min_points: float = Field(default=0.0, ge=0, le=10_000, description="Deducted points in the period.")


class Flags(_Strict):
    notice_issued: FlagThreshold = Field(default=FlagThreshold(), description="通报批评 (第七条 一).")
    self_examination_required: FlagThreshold = Field(default=FlagThreshold(), description="书面检查 (第七条 一).")
    award_eligibility_lost: FlagThreshold = Field(default=FlagThreshold(), description="取消评先评优资格 (第七条 二).")
    escalation_violations: int = Field(default=SEED_MIN_VIOLATIONS, ge=2, le=100, description="Violations within "
                                       "the rolling window that escalate (第七条 三: 2次及以上).")
    escalation_window_months: int = Field(default=SEED_WINDOW_MONTHS, ge=1, le=60, description="The rolling window "
                                          "in calendar months of the hall's time zone; an earlier violation counts "
                                          "while the later one is strictly before earlier + N months.")


def _deduction(points: float, *bands: tuple[float, float]) -> IncidentDeduction:
    return IncidentDeduction(points=points, bands=tuple(DurationBand(min_duration_s=start, points=band_points)
                                                        for start, band_points in bands))


# Points per confirmed incident (longer incidents cost more): the behaviour table's defaults (counterwatch.behaviours).
DEFAULT_INCIDENTS: dict[str, IncidentDeduction] = {
    b.name: _deduction(b.deduction, *b.deduction_bands) for b in BEHAVIOURS}


class ScoringConfig(_Strict):
    """configs/scoring.yaml. Scores are derived from the record with this config, never stored."""

    monthly_base: float = Field(default=100.0, gt=0, le=10_000, description="Score of a month without deductions.")
    annual_base: float = Field(default=100.0, gt=0, le=10_000, description="Score of a year without deductions.")
    floor: float = Field(default=0.0, ge=0, le=10_000, description="Scores never go below this.")
    incidents: dict[str, IncidentDeduction] = Field(default_factory=lambda: dict(DEFAULT_INCIDENTS),
                                                    description="Per confirmed incident type.")
    default_incident_points: float = Field(default=1.0, ge=0, le=100, description="Deduction for a confirmed "
                                           "incident of a type not listed under incidents.")
    complaints: ComplaintDeduction = Field(default=ComplaintDeduction(), description="Per complaint outcome.")
    flags: Flags = Field(default=Flags(), description="Thresholds of the 投诉问责制 第七条 flags.")

    def incident_points(self, incident_type: str, duration_s: float | None) -> float:
        rule = self.incidents.get(incident_type)
        return self.default_incident_points if rule is None else rule.points_for(duration_s)


def load_scoring_config(path: Path | None) -> ScoringConfig:
    """The config at `path`, or the built-in defaults (which configs/scoring.yaml spells out) when None."""
    if path is None:
        return ScoringConfig()
    data = YAML(typ="safe").load(Path(path).read_text(encoding="utf-8")) or {}
    return ScoringConfig.model_validate(data)
