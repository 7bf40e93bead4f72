"""`counterwatch dataset export`: reviewed incidents (and sampled frames) of one hall become a dataset.

A confirmed incident is a positive of its type; a dismissed one (including a confirmation overturned by an upheld
appeal) is a hard negative: label "none", negative_for [type]. The rule fired there, so it is exactly the kind of
frame the head must learn to reject. Pending and acknowledged incidents are left out: nobody has said what they are.

Frames of the labelling queue (label_samples: sampled by the runner, labelled by supervisors) are samples of their
label: "none" is a negative, a behaviour name a positive of that behaviour, "skip" (unusable frame) is left out.
Sampled frames that nobody labelled are taken as negatives at `negatives_per_hour`; a file with a label row (any
label, skip included) never goes that way, so a supervisor's word is never overridden by the assumption.

The image is the stored snapshot, which the evidence recorder masked before it was written; it is copied as decoded,
not masked again, so the dataset holds what the reviewer saw. Sampled frames under DATA_DIR/samples/ (labelled or
not) are cut for their window and masked again on the way in (Annotator.frame, the runner's own framing): a cheap
guard that nothing the runner wrote leaks through here unmasked, and a sample stored as a whole frame (before
samples were cut) leaves no other window's staff member in the dataset. Their boxes are in the cut image's pixels.
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path, PurePosixPath

import cv2

from counterwatch.config import HallConfig
from counterwatch.dataset.annotate import Annotator
from counterwatch.dataset.format import DatasetWriter, safe_id
from counterwatch.dataset.sample_geometry import read_geometry
from counterwatch.dataset.sampler import stored_samples
from counterwatch.rules.schedule import HallCalendar

logger = logging.getLogger("counterwatch.dataset")

NEGATIVE = "none"
SKIP = "skip"  # a labelling-queue label: the frame is unusable, never exported
_LABEL = re.compile(r"^[a-z][a-z0-9_]*$")  # a behaviour name: it becomes a folder name (images/<label>/)


@dataclass(frozen=True)
class ExportReport:
    directory: Path
    positives: int
    hard_negatives: int
    sampled: int
    skipped: tuple[str, ...]  # "<incident id>: why" for reviewed incidents without a usable snapshot (and
    # "label sample <id>: why" for labelled frames that could not be used)
    counts: dict[str, int]
    labelled: int = 0  # frames of the labelling queue exported with their label (skip labels not counted)


def parse_since(text: str | None, calendar: HallCalendar) -> datetime | None:
    """--since: a date is local midnight in the hall's time zone (what a supervisor means by "since Monday"); a
    datetime with an offset is taken as given; a naive datetime is hall-local."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=calendar.zone)
        return moment.astimezone(UTC)
    return datetime.combine(day, time(0, 0), tzinfo=calendar.zone).astimezone(UTC)


def config_hash(config: HallConfig) -> str:
    """The hall config as validated (not the file's bytes: comments and key order do not change a model's inputs)."""
    return hashlib.sha256(config.model_dump_json().encode("utf-8")).hexdigest()


def data_dir_of(config: HallConfig) -> Path:
    return config.resolve(config.storage.data_dir).resolve()


@dataclass(frozen=True)
class _Reviewed:
    incident_id: str
    type: str
    hall_id: str
    window_id: str
    camera_id: str
    started_at: datetime
    confirmed: bool
    review_id: int | None
    snapshot: str | None


def reviewed_incidents(config: HallConfig, since: datetime | None) -> list[_Reviewed]:
    from monitor_api.storage import Database, database_url
    from monitor_api.storage.models import ReviewState
    from monitor_api.storage.tool_reads import reviewed_incidents as stored_reviews

    database = Database(database_url(config))
    try:
        with database.read() as session:
            return [_Reviewed(row.incident.id, row.incident.type, row.incident.hall_id, row.incident.window_id,
                              row.incident.camera_id, row.incident.started_at,
                              row.incident.review_state is ReviewState.CONFIRMED, row.review_id, row.snapshot)
                    for row in stored_reviews(session, config.hall.id, since)]
    finally:
        database.dispose()


@dataclass(frozen=True)
class _Labelled:
    label_id: int
    camera_id: str
    window_id: str
    captured_at: datetime
    path: str  # relative to DATA_DIR, POSIX
    label: str


def labelled_frames(config: HallConfig, since: datetime | None) -> tuple[list[_Labelled], frozenset[str]]:
    """The hall's labelled frames since `since` (oldest first), and the paths of every labelled frame of the hall
    whatever its time (none of them may be taken as an unlabelled negative)."""
    from monitor_api.storage import Database, database_url
    from monitor_api.storage.labelling import labelled_samples

    database = Database(database_url(config))
    try:
        with database.read() as session:
            every = labelled_samples(session, config.hall.id)
            chosen = [row for row in every if since is None or row.captured_at >= since]
            frames = [_Labelled(row.id, row.camera_id, row.window_id, row.captured_at, row.path, row.label or "")
                      for row in chosen]
            return frames, frozenset(_normal_path(row.path) for row in every)
    finally:
        database.dispose()


def _normal_path(path: str) -> str:
    from monitor_api.storage import EvidencePathError
    from monitor_api.storage.evidence import relative_evidence_path

    try:
        return relative_evidence_path(path)
    except EvidencePathError:
        return path


def _geometry(sample) -> list:
    """[the stored sample's geometry (None: a whole frame)], or [] with a warning when it cannot be read."""
    try:
        return [sample.geometry()]
    except (OSError, ValueError) as exc:
        logger.warning("%s: %s: skipped", sample.path, exc)
        return []


def _sample_id(config: HallConfig, camera_id: str, window_id: str, stamp: str) -> str:
    """One id per stored sample file, whether it is exported labelled or as an unlabelled negative: a later export
    with a label replaces the earlier assumption in a merged dataset."""
    return safe_id(config.hall.id, "sample", camera_id, window_id, stamp)


def export_dataset(config: HallConfig, out: Path, *, since: str | None = None, negatives_per_hour: float = 0.0,
                   detect: bool = True) -> ExportReport:
    """Write (or merge into) the dataset at `out`. Labelled frames of the labelling queue are always taken (with
    their label; skip left out). `negatives_per_hour` caps unlabelled sampled frames per window and hour of service
    (0: take none); the frames come from DATA_DIR/samples/ where the runner stores them."""
    from counterwatch.dataset.sampler import CandidateFrame, sample_negative_frames
    from monitor_api.storage import EvidencePathError, resolve_evidence_path

    calendar = HallCalendar(config)
    since_at = parse_since(since, calendar)
    data_dir = data_dir_of(config)
    source = f"hall:{config.hall.id}"
    writer = DatasetWriter(out, since=since_at.isoformat() if since_at else None, config_hash=config_hash(config))
    positives = negatives = sampled = labelled = 0
    skipped: list[str] = []
    with Annotator(config, detect=detect) as annotator:
        for incident in reviewed_incidents(config, since_at):
            image = None
            if incident.snapshot:
                try:
                    image = cv2.imread(str(resolve_evidence_path(data_dir, incident.snapshot)), cv2.IMREAD_COLOR)
                except EvidencePathError as exc:
                    logger.warning("incident %s: %s", incident.incident_id, exc)
            if image is None:
                skipped.append(f"{incident.incident_id}: no readable snapshot")
                continue
            label = incident.type if incident.confirmed else NEGATIVE
            writer.add(safe_id(incident.hall_id, incident.incident_id), image, label=label, source=source,
                       group=incident.incident_id, negative_for=() if incident.confirmed else (incident.type,),
                       window=incident.window_id, camera=incident.camera_id, time=incident.started_at,
                       review_id=incident.review_id,
                       annotation=annotator.annotate(image, incident.camera_id, incident.window_id,
                                                     incident.started_at))
            positives += incident.confirmed
            negatives += not incident.confirmed
        labelled_rows, labelled_paths = labelled_frames(config, since_at)
        for row in labelled_rows:
            if row.label == SKIP:
                # Unusable: also out of a merged dataset that took the file as an unlabelled negative before.
                writer.discard(_sample_id(config, row.camera_id, row.window_id, PurePosixPath(row.path).stem))
                continue
            problem = None if _LABEL.fullmatch(row.label) else f"label {row.label!r} is not a behaviour name"
            image = geometry = None
            if problem is None:
                try:
                    path = resolve_evidence_path(data_dir, row.path)
                    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
                    geometry = read_geometry(path) if image is not None else None
                except (EvidencePathError, OSError, ValueError) as exc:
                    logger.warning("label sample %s: %s", row.label_id, exc)
                    image = None
                problem = None if image is not None else f"no readable image at {row.path}"
            if problem is not None:
                skipped.append(f"label sample {row.label_id}: {problem}")
                continue
            assert image is not None  # no problem: the image was read
            image, geometry = annotator.frame(image, row.camera_id, row.window_id, geometry)
            local_day = calendar.local_date(row.captured_at).isoformat()
            writer.add(_sample_id(config, row.camera_id, row.window_id, PurePosixPath(row.path).stem), image,
                       label=row.label, source=source,
                       group=f"sample:{row.camera_id}:{row.window_id}:{local_day}",
                       window=row.window_id, camera=row.camera_id, time=row.captured_at, label_id=row.label_id,
                       annotation=annotator.annotate(image, row.camera_id, row.window_id, row.captured_at,
                                                     geometry))
            labelled += 1
        # The rate applies to stored frames too: the runner may store more than a given export wants. Labelled files
        # are not candidates: the label decides (skip included).
        unlabelled = (s for s in stored_samples(data_dir, since_at)
                      if s.path.relative_to(data_dir).as_posix() not in labelled_paths)
        candidates = (CandidateFrame(s.camera_id, s.window_id, s.at, image, geometry)
                      for s in unlabelled for image in [s.read()] if image is not None
                      for geometry in _geometry(s))
        for frame in sample_negative_frames(candidates, negatives_per_hour, calendar):
            image, geometry = annotator.frame(frame.image, frame.camera_id, frame.window_id, frame.geometry)
            stamp = frame.at.strftime("%Y%m%dT%H%M%S%fZ")
            local_day = calendar.local_date(frame.at).isoformat()
            writer.add(_sample_id(config, frame.camera_id, frame.window_id, stamp), image,
                       label=NEGATIVE, source=source,
                       # Frames of one window on one day are alike (same person, same light): one group.
                       group=f"sample:{frame.camera_id}:{frame.window_id}:{local_day}",
                       window=frame.window_id, camera=frame.camera_id, time=frame.at,
                       annotation=annotator.annotate(image, frame.camera_id, frame.window_id, frame.at, geometry))
            sampled += 1
    info = writer.close()
    for line in skipped:
        logger.warning("skipped %s", line)
    return ExportReport(out, positives, negatives, sampled, tuple(skipped), info["counts"], labelled)
