"""The labelling queue: frames the runner sampled where the current model is least sure, the privacy-masked image
(every view audited, like evidence), and one label per frame (audited like a review). Frames of behaviours still
below the hall's `learning.label_target_per_behaviour` come first; the stats show each behaviour's progress.

Samples are checked like incidents after every lookup: a hall-scoped caller gets 403 for another hall's sample and
for an id that does not exist alike; only callers who see every hall can tell 404.
"""
from __future__ import annotations

import os
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from monitor_api.auth.policy import FrameLabeller
from monitor_api.auth.principal import Principal
from monitor_api.problems import ApiProblem, problem_responses
from monitor_api.routes._errors import storage_errors
from monitor_api.schemas.labelling import (
    BehaviourProgressPublic,
    LabelCreate,
    LabelQueuePublic,
    LabelSamplePublic,
    LabelStatsPublic,
    ScorePublic,
)
from monitor_api.services import Services, ServicesDep
from monitor_api.settings import API_PREFIX
from monitor_api.storage import EvidencePathError, record_audit, resolve_evidence_path
from monitor_api.storage.labelling import (
    BEHAVIOURS,
    get_label_sample,
    label_counts,
    label_queue,
    label_sample,
    queue_remaining,
)
from monitor_api.storage.models import LabelSampleRow
from monitor_api.storage.types import utcnow

router = APIRouter(prefix="/labelling", tags=["labelling"])

SampleId = Annotated[int, Path(ge=1, le=2**62)]
Ident = Annotated[str, Query(min_length=1, max_length=64)]
OptionalIdent = Annotated[str | None, Query(min_length=1, max_length=64)]
_IMAGE_RESPONSES = {200: {"content": {"image/jpeg": {}}, "description": "The privacy-masked frame"},
                    **problem_responses(410, notes={410: "The image was purged by retention"})}


def sample_public(row: LabelSampleRow) -> LabelSamplePublic:
    url = None if row.purged_at else f"{API_PREFIX}/labelling/samples/{row.id}/image"
    scores = [ScorePublic(behaviour=str(name), probability=float(p), threshold=float(t)) for name, p, t in row.scores]
    return LabelSamplePublic(id=row.id, hall_id=row.hall_id, camera_id=row.camera_id, window_id=row.window_id,
                             captured_at=row.captured_at, uncertainty=row.uncertainty, scores=scores, label=row.label,
                             labelled_by=row.labelled_by, labelled_at=row.labelled_at,
                             purged=row.purged_at is not None, image_url=url)


def _load(session: Session, principal: Principal, sample_id: int) -> LabelSampleRow:
    row = get_label_sample(session, sample_id)
    if row is None:
        raise principal.missing(f"label sample {sample_id}")
    principal.require_hall(row.hall_id)
    return row


def _known_hall(services: Services, principal: Principal, hall: str) -> None:
    principal.require_hall(hall)
    if services.settings.hall(hall) is None:
        raise ApiProblem(404, f"hall {hall} not found")


def label_targets(services: Services) -> dict[str, int]:
    """hall -> labelled frames per behaviour it aims for (`learning.label_target_per_behaviour`), every served hall."""
    return {config.hall.id: config.learning.label_target_per_behaviour for config in services.settings.halls}


@router.get("/queue", response_model=LabelQueuePublic, summary="Unlabelled frames: behaviours below their label "
            "target first, then the most uncertain")
def queue(principal: FrameLabeller, services: ServicesDep, hall: OptionalIdent = None, window: OptionalIdent = None,
          limit: Annotated[int, Query(ge=1, le=200)] = 50) -> LabelQueuePublic:
    if hall is not None:
        _known_hall(services, principal, hall)
    halls = {hall} if hall is not None else principal.halls
    with services.database.read() as session:
        rows = label_queue(session, halls, window_id=window, limit=limit, targets=label_targets(services))
        remaining = queue_remaining(session, halls, window_id=window)
    return LabelQueuePublic(items=[sample_public(row) for row in rows], remaining=remaining)


@router.get("/stats", response_model=LabelStatsPublic, summary="Samples per label, each behaviour's "
            "progress towards the label target and the queue's length of a hall")
def stats(principal: FrameLabeller, services: ServicesDep, hall: Ident) -> LabelStatsPublic:
    _known_hall(services, principal, hall)
    target = label_targets(services)[hall]
    with services.database.read() as session:
        counts = label_counts(session, hall)
    progress = [BehaviourProgressPublic(behaviour=behaviour, labelled=counts.labelled[behaviour], target=target,
                                        needed=max(0, target - counts.labelled[behaviour])) for behaviour in BEHAVIOURS]
    return LabelStatsPublic(hall_id=hall, remaining=counts.remaining, labelled=counts.labelled, target=target,
                            progress=progress)


@router.get("/samples/{sample_id}", response_model=LabelSamplePublic, summary="One sampled frame and its label")
def get_sample(sample_id: SampleId, principal: FrameLabeller, services: ServicesDep) -> LabelSamplePublic:
    with services.database.read() as session:
        return sample_public(_load(session, principal, sample_id))


@router.get("/samples/{sample_id}/image", response_class=FileResponse, responses=_IMAGE_RESPONSES,
            summary="The frame (image/jpeg, privacy-masked); audited")
def sample_image(sample_id: SampleId, principal: FrameLabeller, services: ServicesDep) -> FileResponse:
    with services.database.write() as session:
        row = _load(session, principal, sample_id)
        if row.purged_at is not None:
            raise ApiProblem(410, "sample image purged by retention")
        try:
            path = resolve_evidence_path(services.settings.data_dir, row.path)
            stat = os.stat(path)
        except (EvidencePathError, OSError):
            raise ApiProblem(404, "sample image unavailable") from None
        record_audit(session, principal.actor, "label_sample.view", "label_sample", row.id, hall_id=row.hall_id,
                     details={"window_id": row.window_id, "camera_id": row.camera_id},
                     client_ip=principal.client_ip)
    return FileResponse(path, media_type="image/jpeg", stat_result=stat,
                        headers={"Cache-Control": "private, no-store"}, content_disposition_type="inline")


@router.post("/samples/{sample_id}/label", response_model=LabelSamplePublic, summary="Label a frame (relabelling "
             "allowed); audited",
             responses=problem_responses(400, 409, notes={409: "The sample's image was purged by retention"}))
def label(sample_id: SampleId, body: LabelCreate, principal: FrameLabeller,
          services: ServicesDep) -> LabelSamplePublic:
    with services.database.write() as session:
        _load(session, principal, sample_id)
        with storage_errors():
            try:
                row = label_sample(session, sample_id, body.label, principal.id, utcnow())
            except ValueError as error:
                raise ApiProblem(422, str(error)) from None
        return sample_public(row)
