"""Builders for the storage tests: incident events and small hall configs."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from counterwatch.config import HallConfig, parse_config
from counterwatch.incidents.events import EventKind, Evidence, IncidentEvent

T0 = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 09:30 in Asia/Shanghai, a Monday


def event(kind: str, incident_id: str = "inc-1", *, ts: float = 10.0, start_ts: float = 0.0,
          confidence: float = 0.6, peak: float | None = None, reason: str | None = None,
          snapshot: str | None = None, clip: str | None = None, hall: str = "hall-a", window: str = "w01",
          camera: str = "cam1", staff: str | None = "s001", incident_type: str = "phone_use",
          attributes: tuple = ()) -> IncidentEvent:
    started = T0 + timedelta(seconds=start_ts)
    return IncidentEvent(
        kind=EventKind(kind), incident_id=incident_id, incident_type=incident_type, hall_id=hall, window_id=window,
        camera_id=camera, staff_id=staff, started_at=started,
        ended_at=T0 + timedelta(seconds=ts) if kind == "closed" else None, start_ts=start_ts, ts=ts,
        confidence=confidence, peak_confidence=confidence if peak is None else peak,
        reason=reason if reason is not None else f"{kind} at {ts}", attributes=attributes,
        evidence=Evidence(snapshot=snapshot, clip=clip))


def lifecycle(incident_id: str, *, start_ts: float = 0.0, updates: int = 2, **kwargs) -> list[IncidentEvent]:
    """opened, `updates` updates with rising then falling confidence, closed: what a rule emits for one incident."""
    confidences = [0.55 + 0.1 * i for i in range(updates + 2)]
    confidences[-1] = 0.5  # confidence drops at the end; the peak must not
    events = [event("opened", incident_id, ts=start_ts + 30, start_ts=start_ts, confidence=confidences[0],
                    peak=confidences[0], snapshot=f"{incident_id}/snap-0.jpg", **kwargs)]
    peak = confidences[0]
    for i in range(updates):
        peak = max(peak, confidences[i + 1])
        events.append(event("updated", incident_id, ts=start_ts + 40 + 10 * i, start_ts=start_ts,
                            confidence=confidences[i + 1], peak=peak, snapshot=f"{incident_id}/snap-{i + 1}.jpg",
                            attributes=(("citizens_waiting", i),), **kwargs))
    events.append(event("closed", incident_id, ts=start_ts + 50 + 10 * updates, start_ts=start_ts,
                        confidence=confidences[-1], peak=peak, clip=f"{incident_id}/clip.mp4",
                        reason="staff back at the counter", **kwargs))
    return events


HALL_YAML = """
version: 1
hall: {id: hall-a, name: 演示大厅}
windows:
  - {id: w01, name: 1号窗口, department: 不动产登记, pause_marker_id: 1}
  - {id: w02, name: 2号窗口, department: 社保医保, pause_marker_id: 2}
cameras:
  - id: cam1
    source: rtsp://admin:secret@10.0.0.5:554/stream1
    views:
      - window: w01
        staff_zone: [[0.0, 0.0], [0.5, 0.0], [0.5, 0.6], [0.0, 0.6]]
        citizen_side: [[0.0, 0.7], [0.5, 0.7], [0.5, 1.0], [0.0, 1.0]]
        pause_sign_region: [[0.3, 0.4], [0.5, 0.4], [0.5, 0.6], [0.3, 0.6]]
      - window: w02
        staff_zone: [[0.5, 0.0], [1.0, 0.0], [1.0, 0.6], [0.5, 0.6]]
        citizen_side: [[0.5, 0.7], [1.0, 0.7], [1.0, 1.0], [0.5, 1.0]]
        pause_sign_region: [[0.8, 0.4], [1.0, 0.4], [1.0, 0.6], [0.8, 0.6]]
staff:
  - {id: s001, name: 张伟, department: 不动产登记}
  - {id: s002, name: 李娜, department: 社保医保}
roster:
  - {window: w01, staff: s001, days: [mon, tue, wed, thu, fri, sat, sun]}  # any day: tests read the roster "now"
  - {window: w02, staff: s002, days: [sat], hours: {start: "09:00", end: "12:00"}}
storage:
  url: sqlite:///var/counterwatch.db
"""


def hall_config(text: str = HALL_YAML, base_dir: Path = Path("/srv/hall")) -> HallConfig:
    return parse_config(text, filename="hall.yaml", base_dir=base_dir)
