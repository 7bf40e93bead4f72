"""Shadow comparison: the incidents a candidate head would have raised (DATA_DIR/shadow/<behaviour>.jsonl, written by
the camera pipelines) against the live incidents (DATA_DIR/incidents.jsonl) of the same period.

An incident is its opened..closed interval (an incident still open ends at its last event). A shadow incident and a
live incident agree when they share window and type and their intervals overlap; agreement = both / (both + shadow
only + live only). Only the period the shadow log covers is compared.
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


@dataclass(frozen=True)
class ShadowSummary:
    behaviour: str
    versions: tuple[str, ...]
    shadow: int  # shadow incidents (would-be alerts)
    live: int  # live incidents of that type within the shadow period
    both: int  # shadow incidents overlapping a live one
    shadow_only: int
    live_only: int

    @property
    def agreement(self) -> float | None:
        total = self.both + self.shadow_only + self.live_only
        return self.both / total if total else None

    def line(self) -> str:
        agreement = "n/a" if self.agreement is None else f"{self.agreement:.0%}"
        return (f"{self.behaviour} [{', '.join(self.versions) or '-'}]: shadow {self.shadow} alerts, live "
                f"{self.live} incidents; both {self.both}, shadow only {self.shadow_only}, live only "
                f"{self.live_only}; agreement {agreement}")


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
        out.append(Interval(events[0]["window_id"], start, max(start, end)))
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


def shadow_report(data_dir: Path) -> list[ShadowSummary]:
    live_lines = _read(data_dir / "incidents.jsonl")
    summaries = []
    for path in sorted((data_dir / "shadow").glob("*.jsonl")):
        behaviour = path.stem
        lines = _read(path)
        shadow = _intervals(lines, behaviour)
        if not shadow:
            summaries.append(ShadowSummary(behaviour, (), 0, 0, 0, 0, 0))
            continue
        first, last = min(i.start for i in shadow), max(i.end for i in shadow)
        live = [i for i in _intervals(live_lines, behaviour) if i.end >= first and i.start <= last]

        def overlaps(a: Interval, b: Interval) -> bool:
            return a.window_id == b.window_id and a.start <= b.end and b.start <= a.end

        both = sum(1 for s in shadow if any(overlaps(s, lv) for lv in live))
        live_only = sum(1 for lv in live if not any(overlaps(s, lv) for s in shadow))
        versions = tuple(sorted({line.get("shadow_version", "?") for line in lines}))
        summaries.append(ShadowSummary(behaviour, versions, len(shadow), len(live), both, len(shadow) - both,
                                       live_only))
    return summaries
