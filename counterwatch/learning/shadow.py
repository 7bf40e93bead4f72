"""Shadow comparison: the incidents a candidate head would have raised (DATA_DIR/shadow/<behaviour>.jsonl, written by
the camera pipelines) against the live incidents (DATA_DIR/incidents.jsonl) of the same period.

An incident is its opened..closed interval (an incident still open ends at its last event). A shadow incident and a
live incident agree when they share window and type and their intervals overlap; agreement = both / (both + shadow
only + live only). Only the period the shadow log covers is compared.

Precision on reviewed incidents: a live incident that a supervisor confirmed or dismissed (an upheld appeal counts as
the final word) says whether an alert at that place and time was right. The live model's precision is confirmed /
reviewed over its reviewed incidents; the candidate's is the same ratio over the reviewed live incidents its own
alerts overlap, and the report also counts the confirmed incidents the candidate would have missed and the dismissed
ones it would have spared. A shadow alert without a live counterpart was never shown to anyone, so it has no review:
the report counts those as unreviewed rather than guessing.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

log = logging.getLogger("counterwatch.shadow")


@dataclass(frozen=True)
class Interval:
    window_id: str
    start: datetime
    end: datetime
    incident_id: str = ""


@dataclass(frozen=True)
class ReviewedPrecision:
    """Live incidents of one behaviour in the shadow period that have a review, and what the candidate did there."""

    live_confirmed: int
    live_dismissed: int
    shadow_confirmed: int  # reviewed live incidents the candidate also alerted on, confirmed
    shadow_dismissed: int  # ... dismissed

    @property
    def live(self) -> float | None:
        reviewed = self.live_confirmed + self.live_dismissed
        return self.live_confirmed / reviewed if reviewed else None

    @property
    def shadow(self) -> float | None:
        reviewed = self.shadow_confirmed + self.shadow_dismissed
        return self.shadow_confirmed / reviewed if reviewed else None

    @property
    def missed(self) -> int:
        """Confirmed incidents the candidate would not have raised."""
        return self.live_confirmed - self.shadow_confirmed

    @property
    def spared(self) -> int:
        """Dismissed (false) incidents the candidate would not have raised."""
        return self.live_dismissed - self.shadow_dismissed


@dataclass(frozen=True)
class ShadowSummary:
    behaviour: str
    versions: tuple[str, ...]
    shadow: int  # shadow incidents (would-be alerts)
    live: int  # live incidents of that type within the shadow period
    both: int  # shadow incidents overlapping a live one
    shadow_only: int
    live_only: int
    reviewed: ReviewedPrecision | None = None  # None when no review outcomes were given (no hall database)

    @property
    def agreement(self) -> float | None:
        total = self.both + self.shadow_only + self.live_only
        return self.both / total if total else None

    def line(self) -> str:
        agreement = "n/a" if self.agreement is None else f"{self.agreement:.0%}"
        text = (f"{self.behaviour} [{', '.join(self.versions) or '-'}]: shadow {self.shadow} alerts, live "
                f"{self.live} incidents; both {self.both}, shadow only {self.shadow_only}, live only "
                f"{self.live_only}; agreement {agreement}")
        if self.reviewed is None:
            return text + "; precision on reviewed incidents: n/a (no review outcomes)"
        r = self.reviewed

        def pct(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.0%}"

        return (text + f"; on reviewed incidents: live precision {pct(r.live)} ({r.live_confirmed} confirmed / "
                f"{r.live_confirmed + r.live_dismissed}), candidate precision {pct(r.shadow)} ({r.shadow_confirmed} / "
                f"{r.shadow_confirmed + r.shadow_dismissed}), candidate would miss {r.missed} confirmed and spare "
                f"{r.spared} dismissed; {self.shadow_only} candidate alerts unreviewed")

    def to_json(self) -> dict:
        document = {key: value for key, value in self.__dict__.items() if key != "reviewed"}
        document["versions"] = list(self.versions)
        document["agreement"] = self.agreement
        r = self.reviewed
        document["reviewed"] = None if r is None else {
            **r.__dict__, "live_precision": r.live, "shadow_precision": r.shadow, "missed": r.missed,
            "spared": r.spared}
        return document


def _intervals(lines: list[dict], behaviour: str) -> list[Interval]:
    by_id: dict[str, list[dict]] = {}
    for line in lines:
        if line.get("incident_type") == behaviour:
            by_id.setdefault(line["incident_id"], []).append(line)
    out = []
    for events in by_id.values():
        start = datetime.fromisoformat(events[0]["started_at"])
        ends = [datetime.fromisoformat(e["ended_at"]) for e in events if e.get("ended_at")]
        # without a closed event, the last event's time: started_at + (ts - start_ts)
        last = max(events, key=lambda e: e["ts"])
        end = ends[-1] if ends else start + timedelta(seconds=last["ts"] - last["start_ts"])
        out.append(Interval(events[0]["window_id"], start, max(start, end), events[0]["incident_id"]))
    return out


def _read(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    rows = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if text.strip():
            try:
                rows.append(json.loads(text))
            except json.JSONDecodeError:
                log.warning("%s:%d: skipping a line that is not JSON (a write cut by a crash?)", path, number)
    return rows


def _overlaps(a: Interval, b: Interval) -> bool:
    return a.window_id == b.window_id and a.start <= b.end and b.start <= a.end


def _reviewed(shadow: list[Interval], live: list[Interval], outcomes: dict[str, bool]) -> ReviewedPrecision:
    counts = {"live_confirmed": 0, "live_dismissed": 0, "shadow_confirmed": 0, "shadow_dismissed": 0}
    for incident in live:
        confirmed = outcomes.get(incident.incident_id)
        if confirmed is None:
            continue  # not reviewed (yet)
        outcome = "confirmed" if confirmed else "dismissed"
        counts[f"live_{outcome}"] += 1
        if any(_overlaps(s, incident) for s in shadow):
            counts[f"shadow_{outcome}"] += 1
    return ReviewedPrecision(**counts)


def shadow_report(data_dir: Path, outcomes: dict[str, bool] | None = None) -> list[ShadowSummary]:
    """`outcomes`: incident id -> True (confirmed) / False (dismissed) for the reviewed incidents, or None when
    there is no database to read them from."""
    live_lines = _read(data_dir / "incidents.jsonl")
    summaries = []
    for path in sorted((data_dir / "shadow").glob("*.jsonl")):
        behaviour = path.stem
        lines = _read(path)
        shadow = _intervals(lines, behaviour)
        if not shadow:
            summaries.append(ShadowSummary(behaviour, (), 0, 0, 0, 0, 0,
                                           None if outcomes is None else ReviewedPrecision(0, 0, 0, 0)))
            continue
        first, last = min(i.start for i in shadow), max(i.end for i in shadow)
        live = [i for i in _intervals(live_lines, behaviour) if i.end >= first and i.start <= last]
        both = sum(1 for s in shadow if any(_overlaps(s, lv) for lv in live))
        live_only = sum(1 for lv in live if not any(_overlaps(s, lv) for s in shadow))
        versions = tuple(sorted({line.get("shadow_version", "?") for line in lines}))
        summaries.append(ShadowSummary(behaviour, versions, len(shadow), len(live), both, len(shadow) - both,
                                       live_only, None if outcomes is None else _reviewed(shadow, live, outcomes)))
    return summaries

