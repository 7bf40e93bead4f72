"""Evidence files: the snapshot (image/jpeg) and the clip (video/mp4) of an incident, with HTTP Range support so a
browser can seek in a clip. Every view is written to the audit log before a byte is sent.

Files are addressed by evidence id, never by a path from the request; the stored path still goes through
resolve_evidence_path, so a tampered row cannot read outside the data directory either.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import FileResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor_api.auth.policy import EvidenceViewer
from monitor_api.auth.principal import Principal
from monitor_api.incident_access import load_incident
from monitor_api.problems import ApiProblem, problem_responses
from monitor_api.services import Services, ServicesDep
from monitor_api.storage import EvidencePathError, record_audit, resolve_evidence_path
from monitor_api.storage.models import EvidenceKind, EvidenceRow

router = APIRouter(prefix="/incidents", tags=["evidence"])

MEDIA_TYPES = {EvidenceKind.SNAPSHOT: "image/jpeg", EvidenceKind.CLIP: "video/mp4"}
_FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/jpeg": {}, "video/mp4": {}}, "description": "The file"},
    206: {"description": "Part of the file (Range)"}, 416: {"description": "Range not satisfiable"},
    **problem_responses(410, notes={410: "The evidence was purged by retention"})}


def _serve(request: Request, services: Services, principal: Principal, incident_id: str,
           pick: Callable[[Session, str], EvidenceRow | None]) -> FileResponse:
    with services.database.write() as session:
        incident = load_incident(session, principal, incident_id)
        row = pick(session, incident.id)
        if row is None:
            raise ApiProblem(404, "no such evidence for this incident")
        if row.purged_at is not None:
            raise ApiProblem(410, "evidence purged by retention")
        try:
            path = resolve_evidence_path(services.settings.data_dir, row.path)
            stat = os.stat(path)
        except (EvidencePathError, OSError):
            raise ApiProblem(404, "evidence file unavailable") from None
        ranged = request.headers.get("range")
        # Only the first request of a seek session is a new view: a player fetching the rest of a clip with Range
        # requests is the same view, but each is still recorded (with the range) so the log shows what was read.
        record_audit(session, principal.actor, "evidence.view", "evidence", row.id, hall_id=incident.hall_id,
                     details={"incident_id": incident.id, "kind": row.kind.value, "range": ranged},
                     client_ip=principal.client_ip)
        media_type = MEDIA_TYPES[row.kind]
    return FileResponse(path, media_type=media_type, stat_result=stat,
                        headers={"Cache-Control": "private, no-store"}, content_disposition_type="inline")


def _latest(kind: EvidenceKind) -> Callable[[Session, str], EvidenceRow | None]:
    def pick(session: Session, incident_id: str) -> EvidenceRow | None:
        return session.scalars(select(EvidenceRow).where(EvidenceRow.incident_id == incident_id,
                                                         EvidenceRow.kind == kind, EvidenceRow.purged_at.is_(None))
                               .order_by(EvidenceRow.id.desc()).limit(1)).first()
    return pick


@router.get("/{incident_id}/snapshot", response_class=FileResponse, responses=_FILE_RESPONSES,
            summary="The latest snapshot (image/jpeg); audited")
def snapshot(incident_id: str, request: Request, principal: EvidenceViewer, services: ServicesDep) -> FileResponse:
    return _serve(request, services, principal, incident_id, _latest(EvidenceKind.SNAPSHOT))


@router.get("/{incident_id}/clip", response_class=FileResponse, responses=_FILE_RESPONSES,
            summary="The clip (video/mp4, Range requests supported); audited")
def clip(incident_id: str, request: Request, principal: EvidenceViewer, services: ServicesDep) -> FileResponse:
    return _serve(request, services, principal, incident_id, _latest(EvidenceKind.CLIP))


@router.get("/{incident_id}/evidence/{evidence_id}", response_class=FileResponse, responses=_FILE_RESPONSES,
            summary="One evidence file by id; audited")
def evidence_file(incident_id: str, evidence_id: Annotated[int, Path(ge=1, le=2**62)], request: Request,
                  principal: EvidenceViewer, services: ServicesDep) -> FileResponse:
    def pick(session: Session, found_incident_id: str) -> EvidenceRow | None:
        row = session.get(EvidenceRow, evidence_id)
        return row if row is not None and row.incident_id == found_incident_id else None

    return _serve(request, services, principal, incident_id, pick)
