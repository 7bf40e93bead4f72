"""Export of the labelling queue: labelled frames become samples of their label, skip is left out, and frames with a
label row never come in as unlabelled negatives. The queue rows enter through record_label_sample, as the runner's
samples do; the labels are set on the rows as the labelling API stores them."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
from click.testing import CliRunner
from sqlalchemy import select

from counterwatch.cli import main
from counterwatch.dataset import CandidateFrame, read_manifest, store_sample
from counterwatch.dataset.format import Sample
from counterwatch.incidents.framing import evidence_view
from counterwatch.incidents.privacy import MASK_BGR, citizen_polygons_mask
from counterwatch.perception import regions_for
from tests.dataset.conftest import CAMERA, T0, History

SNAPSHOT_TOLERANCE = 2


@dataclass(frozen=True)
class QueuedFrame:
    camera_id: str
    window_id: str
    captured_at: datetime
    path: str
    scores: tuple[tuple[str, float, float], ...]
    uncertainty: float


# (name, window, minutes after T0, label given in the queue; None: still unlabelled)
QUEUE = (("phone", "w01", 5, "phone_use"), ("nothing", "w02", 10, "none"), ("blurred", "w01", 15, "skip"),
         ("open", "w01", 20, None))


def _queue(history: History) -> dict[str, int]:
    """Stores the frames (raw: the export must mask them) and queues them; returns name -> label row id."""
    from monitor_api.storage import Database
    from monitor_api.storage.labelling import record_label_sample
    from monitor_api.storage.models import LabelSampleRow, UserRow

    database = Database(f"sqlite:///{history.config_path.parent / 'cw.db'}")
    ids = {}
    try:
        with database.write() as session:
            reviewer = session.execute(select(UserRow.id).where(UserRow.username == "supervisor")).scalar_one()
            for name, window, minutes, label in QUEUE:
                at = T0 + timedelta(minutes=minutes)
                path = store_sample(history.data_dir, CandidateFrame(CAMERA, window, at, history.raw))
                relative = path.relative_to(history.data_dir).as_posix()
                row = record_label_sample(session, "demo-hall", QueuedFrame(
                    CAMERA, window, at, relative, (("phone_use", 0.25, 0.3),), 0.8))
                if label is not None:
                    row.label, row.labelled_by, row.labelled_at = label, reviewer, T0 + timedelta(days=1)
                ids[name] = row.id
            assert session.scalars(select(LabelSampleRow)).all()
    finally:
        database.dispose()
    return ids


def _label(history: History, row_id: int, label: str) -> None:
    from monitor_api.storage import Database
    from monitor_api.storage.models import LabelSampleRow

    database = Database(f"sqlite:///{history.config_path.parent / 'cw.db'}")
    try:
        with database.write() as session:
            session.get(LabelSampleRow, row_id).label = label
    finally:
        database.dispose()


def _export(history: History, out: Path, *args: str) -> tuple[str, dict[str, Sample]]:
    result = CliRunner().invoke(main, ["dataset", "export", "--config", str(history.config_path), "--out", str(out),
                                       "--no-detect", *args])
    assert result.exit_code == 0, result.output
    return result.output, {s.sample_id: s for s in read_manifest(out) if s.group.startswith("sample:")}


def _by_time(samples: dict[str, Sample]) -> dict[int, tuple[str, int | None]]:
    """minutes after T0 -> (label, label_id)"""
    return {round((datetime.fromisoformat(s.time) - T0).total_seconds() / 60): (s.label, s.label_id)
            for s in samples.values()}


def test_labelled_frames_are_exported_with_their_label_and_never_as_unlabelled_negatives(history: History,
                                                                                         tmp_path: Path) -> None:
    ids = _queue(history)
    output, samples = _export(history, tmp_path / "labelled")
    assert _by_time(samples) == {5: ("phone_use", ids["phone"]), 10: ("none", ids["nothing"])}  # skip and open: no
    assert "2 labelled frame(s), 0 sampled frame(s)" in output
    phone = next(s for s in samples.values() if s.label == "phone_use")
    assert phone.group == f"sample:{CAMERA}:w01:2026-03-02" and phone.negative_for == () and phone.review_id is None
    assert phone.image == f"images/phone_use/{phone.sample_id}.jpg" and phone.window == "w01"
    info = json.loads((tmp_path / "labelled/dataset.json").read_text())
    assert info["counts"] == {"none": 2, "phone_use": 3}  # with the reviewed incidents (1 none, 2 phone_use)

    # The labelled files were stored unmasked and whole here: the export cuts them for their window and masks them
    # on the way in (the citizen side and the other window's staff zone).
    regions = regions_for(history.config, history.config.cameras[0])
    polygon = citizen_polygons_mask(regions, 1280, 720)
    assert np.abs(history.raw[polygon].astype(int) - MASK_BGR).max() > 50
    for sample in samples.values():
        image = cv2.imread(str(tmp_path / "labelled" / sample.image))
        x1, y1, x2, y2 = evidence_view(regions, sample.window, 1280, 720).crop
        other = next(r for r in regions if r.window_id != sample.window).mask("staff_zone", 1280, 720) > 0
        assert image.shape == (y2 - y1, x2 - x1, 3)
        for masked in (polygon[y1:y2, x1:x2], other[y1:y2, x1:x2]):
            assert masked.any() and np.abs(image[masked].astype(int) - MASK_BGR).max() <= SNAPSHOT_TOLERANCE

    # At a rate that would take every stored frame, the unlabelled one comes in as a negative and only it: the
    # labelled ones keep their labels (not overwritten by a "none"), the skipped one stays out.
    out = tmp_path / "with-negatives"
    output, samples = _export(history, out, "--negatives-per-hour", "3600")
    assert _by_time(samples) == {5: ("phone_use", ids["phone"]), 10: ("none", ids["nothing"]), 20: ("none", None)}
    assert "2 labelled frame(s), 1 sampled frame(s)" in output
    assert len(list((out / "images").rglob("*.jpg"))) == 3 + 3  # three incidents, three queue frames

    # A frame labelled skip after it went into a dataset as an unlabelled negative leaves that dataset.
    _label(history, ids["open"], "skip")
    output, samples = _export(history, out, "--negatives-per-hour", "3600")
    assert _by_time(samples) == {5: ("phone_use", ids["phone"]), 10: ("none", ids["nothing"])}
    assert "2 labelled frame(s), 0 sampled frame(s)" in output
    assert len(list((out / "images").rglob("*.jpg"))) == 3 + 2

    # --since applies to labelled frames by their capture time.
    _, samples = _export(history, tmp_path / "since", "--since", (T0 + timedelta(minutes=8)).isoformat())
    assert _by_time(samples) == {10: ("none", ids["nothing"])}


def test_a_manifest_line_without_label_id_still_reads() -> None:
    document = {"sample_id": "s1", "image": "images/none/s1.jpg", "label": "none", "source": "x", "group": "g"}
    assert Sample.from_json(document).label_id is None
    sample = Sample.from_json({**document, "label_id": 7})
    assert sample.label_id == 7 and Sample.from_json(sample.to_json()) == sample
