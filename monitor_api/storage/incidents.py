"""Incident delivery (idempotent, order-independent) and crash recovery.

Events of one incident can arrive repeated (a sink retries after a timeout, a queue redelivers) and out of order (a
retry of `opened` after `closed`). `ingest_event` therefore:
1. logs the event once, keyed by (incident_id, kind, ts): a second delivery inserts nothing and changes nothing;
2. merges the event into the incident with rules that do not depend on arrival order: state only moves forward
   (open -> closed), the peak is a maximum, reason/confidence/attributes come from the latest event by stream time,
   evidence is a union, evidence_missing an OR. Any order of the same events gives the same row.

The reason column holds the event's structured reason with its English text (counterwatch.incidents.reasons,
`encode_stored`), or only the text for events that carry no structured reason; read it with `decode_stored`.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from counterwatch.incidents.events import EventKind, IncidentEvent
from counterwatch.incidents.reasons import encode_stored
from monitor_api.storage._sql import insert_ignore
from monitor_api.storage.audit import Actor, record_audit
from monitor_api.storage.evidence import EvidenceStore, record_evidence
from monitor_api.storage.models import (
    CameraRow,
    EventKindValue,
    EvidenceKind,
    HallRow,
    IncidentEventRow,
    IncidentRow,
    IncidentState,
    StaffRow,
    WindowRow,
)
from monitor_api.storage.types import as_json_value, utcnow

logger = logging.getLogger("counterwatch.api.storage")

_KIND_RANK = {EventKindValue.OPENED: 0, EventKindValue.UPDATED: 1, EventKindValue.CLOSED: 2}


def event_payload(event: IncidentEvent) -> dict[str, Any]:
    """The event as a JSON document (stored in the event log; also what a live feed can send)."""
    document = asdict(event)
    document["attributes"] = {name: value for name, value in event.attributes}
    document["reason_detail"] = None if event.reason_detail is None else event.reason_detail.to_dict()
    return as_json_value(document)


def _attributes(event: IncidentEvent) -> dict[str, Any]:
    return {str(name): as_json_value(value) for name, value in event.attributes}


def ensure_references(session: Session, hall_id: str, window_id: str | None = None, camera_id: str | None = None,
                      staff_id: str | None = None) -> None:
    """Create placeholder hall/window/camera/staff rows an event refers to but no config sync has stored yet.

    An incident must never be lost to a foreign key: an edge node may deliver before the central node has synced its
    config. Placeholders carry the id as their name and configured=False until sync_hall fills them in.
    """
    insert_ignore(session, HallRow, {"id": hall_id, "name": hall_id, "configured": False,
                                               "timezone": "Asia/Shanghai", "updated_at": utcnow()}, ["id"])
    common = {"hall_id": hall_id, "configured": False, "active": True, "updated_at": utcnow()}
    if window_id is not None:
        insert_ignore(session, WindowRow, {**common, "id": window_id, "name": window_id, "department": "",
                                                     "schedule": "standard"}, ["hall_id", "id"])
    if camera_id is not None:
        insert_ignore(session, CameraRow, {**common, "id": camera_id, "source": ""}, ["hall_id", "id"])
    if staff_id is not None:
        insert_ignore(session, StaffRow, {**common, "id": staff_id, "name": staff_id, "department": ""},
                      ["hall_id", "id"])


def _new_incident(event: IncidentEvent, now: datetime) -> dict[str, Any]:
    return {
        "id": event.incident_id, "type": event.incident_type, "hall_id": event.hall_id,
        "window_id": event.window_id, "camera_id": event.camera_id, "staff_id": event.staff_id,
        "state": IncidentState.OPEN, "started_at": event.started_at, "ended_at": None, "start_ts": event.start_ts,
        "confidence": event.confidence, "peak_confidence": event.peak_confidence,
        "reason": encode_stored(event.reason, event.reason_detail),
        "attributes": _attributes(event), "last_event_ts": event.ts,
        "last_event_kind": EventKindValue(event.kind.value),
        "evidence_missing": False, "created_at": now, "updated_at": now,
    }


def _merge(incident: IncidentRow, event: IncidentEvent) -> None:
    kind = EventKindValue(event.kind.value)
    incident.peak_confidence = max(incident.peak_confidence, event.peak_confidence)
    if (event.ts, _KIND_RANK[kind]) > (incident.last_event_ts, _KIND_RANK[incident.last_event_kind]):
        incident.confidence = event.confidence
        incident.reason = encode_stored(event.reason, event.reason_detail)
        incident.attributes = _attributes(event)
        incident.last_event_ts = event.ts
        incident.last_event_kind = kind
    if event.kind is EventKind.CLOSED:
        assert event.ended_at is not None  # IncidentEvent guarantees it on closed
        if incident.state is IncidentState.CLOSED and incident.ended_at is not None:
            incident.ended_at = max(incident.ended_at, event.ended_at)
        else:
            # An observed end replaces a recovery's marked end: the edge knew when it really ended.
            incident.ended_at = event.ended_at
        incident.state = IncidentState.CLOSED
    identity = {"type": event.incident_type, "hall_id": event.hall_id, "window_id": event.window_id,
                "camera_id": event.camera_id, "staff_id": event.staff_id}
    for name, event_value in identity.items():
        if getattr(incident, name) != event_value:
            logger.warning("incident %s: event %s says %s=%r, stored %r; keeping the stored value",
                           incident.id, event.kind.value, name, event_value, getattr(incident, name))


def ingest_event(session: Session, event: IncidentEvent, *, evidence_store: EvidenceStore | None = None,
                 now: datetime | None = None) -> bool:
    """Store one delivered event; True if it was new, False if this exact event was already stored (a no-op).

    Call inside a write transaction (Database.write()); the caller reports the event as stored after the commit.
    """
    now = now or utcnow()
    ensure_references(session, event.hall_id, event.window_id, event.camera_id, event.staff_id)
    insert_ignore(session, IncidentRow, _new_incident(event, now), ["id"])
    # Lock the incident before logging the event: concurrent deliveries of one incident then queue here. Logging
    # first would let two of them each hold a foreign-key share lock on the incident row and then both wait for
    # the other's to upgrade to FOR UPDATE (a PostgreSQL deadlock, found by the concurrent-delivery test).
    incident = session.execute(
        select(IncidentRow).where(IncidentRow.id == event.incident_id).with_for_update()
        .execution_options(populate_existing=True)).scalar_one()
    logged = insert_ignore(session, IncidentEventRow, {
        "incident_id": event.incident_id, "kind": EventKindValue(event.kind.value), "ts": event.ts,
        "received_at": now, "payload": event_payload(event)}, ["incident_id", "kind", "ts"])
    if not logged:
        logger.debug("incident %s: %s at ts=%s already stored", event.incident_id, event.kind.value, event.ts)
        return False
    _merge(incident, event)
    files = [(EvidenceKind.SNAPSHOT, event.evidence.snapshot), (EvidenceKind.CLIP, event.evidence.clip)]
    record_evidence(session, incident, [(kind, path) for kind, path in files if path], evidence_store, now)
    incident.updated_at = now
    session.flush()
    return True


def recover_open_incidents(session: Session, now: datetime, *, hall_id: str | None = None,
                           ids: Sequence[str] | None = None) -> list[str]:
    """Close incidents left open by a crash: state closed_by_recovery, ended_at = now (a marked end, not observed).

    Run on start-up before the pipeline delivers anything. On a central node that receives from running edge nodes,
    pass the hall whose node restarted, so other halls' live incidents are left alone, and `ids`, the incidents that
    node recovered. A real `closed` event that arrives later still replaces the marked end. Returns the ids closed;
    each closing is written to the audit log.
    """
    query = select(IncidentRow).where(IncidentRow.state == IncidentState.OPEN).order_by(IncidentRow.id)
    if hall_id is not None:
        query = query.where(IncidentRow.hall_id == hall_id)
    if ids is not None:
        query = query.where(IncidentRow.id.in_(list(ids)))
    closed: list[str] = []
    for incident in session.scalars(query.with_for_update()).all():
        incident.state = IncidentState.CLOSED_BY_RECOVERY
        # Never before the onset, even if the clock was set back while the process was down.
        incident.ended_at = max(now, incident.started_at)
        incident.updated_at = now
        record_audit(session, Actor.system("recovery"), "incident.recovered", "incident", incident.id,
                     hall_id=incident.hall_id, details={"marked_end": incident.ended_at}, at=now)
        closed.append(incident.id)
    if closed:
        logger.warning("closed %d incident(s) left open by a crash: %s", len(closed), ", ".join(closed[:20]))
    session.flush()
    return closed


def get_incident(session: Session, incident_id: str) -> IncidentRow | None:
    return session.get(IncidentRow, incident_id)

