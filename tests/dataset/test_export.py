"""Export from the scripted review history (conftest.py): labels, masking, detection, --since, sampled frames."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
from click.testing import CliRunner

from counterwatch.cli import main
from counterwatch.dataset import CandidateFrame, read_manifest, store_sample
from counterwatch.dataset.format import NOT_BOXES
from counterwatch.incidents.framing import evidence_view
from counterwatch.incidents.privacy import MASK_BGR, citizen_polygons_mask
from counterwatch.perception import regions_for
from tests.dataset.conftest import T0, History

SNAPSHOT_TOLERANCE = 2  # as tests/incidents/test_evidence.py: the masked area decodes within 2 levels of MASK_BGR


def _export(history: History, out: Path, *args: str):
    result = CliRunner().invoke(main, ["dataset", "export", "--config", str(history.config_path), "--out", str(out),
                                       *args])
    assert result.exit_code == 0, result.output
    return {s.sample_id: s for s in read_manifest(out)}


def test_reviewed_incidents_become_exactly_the_expected_labels(history: History, tmp_path: Path) -> None:
    samples = _export(history, tmp_path / "ds")
    by_group = {s.group: s for s in samples.values()}
    assert set(by_group) == {"d-phone", "d-eat", "d-late"}  # d-sleep is pending: excluded
    assert (by_group["d-phone"].label, by_group["d-phone"].negative_for) == ("phone_use", ())
    assert (by_group["d-eat"].label, by_group["d-eat"].negative_for) == ("none", ("eating",))
    assert by_group["d-late"].label == "phone_use"
    phone = by_group["d-phone"]
    assert phone.source == "hall:demo-hall" and phone.camera == "cam-demo" and phone.window == "w01"
    assert phone.review_id == history.review_ids["d-phone"] and phone.time == T0.isoformat()
    assert phone.image == f"images/phone_use/{phone.sample_id}.jpg"
    info = json.loads((tmp_path / "ds/dataset.json").read_text())
    assert info["version"] == 1 and info["counts"] == {"none": 1, "phone_use": 2}
    assert info["sources"] == {"hall:demo-hall": 3} and len(info["config_hash"]) == 64 and info["since"] is None
    # The real cascade ran on the masked snapshot: the staff member at w01 is the person; the crop is written.
    x1, y1, x2, y2 = phone.person_box
    assert 60 < x1 < 200 and x2 < 640 and y2 - y1 > 200
    crop = cv2.imread(str(tmp_path / "ds" / phone.crop))
    assert crop.shape[:2] == (int(round(y2)) - int(y1), int(round(x2)) - int(x1))
    boxed = [o for o in phone.objects if o.label not in NOT_BOXES]  # not the hand classifier's crops
    if boxed:  # YOLO labels exist exactly where objects were detected, with valid class ids
        classes = (tmp_path / "ds/classes.txt").read_text().splitlines()
        lines = (tmp_path / f"ds/labels/{phone.sample_id}.txt").read_text().splitlines()
        assert len(lines) == len(boxed)
        assert all(0 <= int(line.split()[0]) < len(classes) for line in lines)


def test_exported_images_keep_the_citizen_side_masked(history: History, tmp_path: Path) -> None:
    samples = _export(history, tmp_path / "ds", "--no-detect")
    polygon = citizen_polygons_mask(regions_for(history.config, history.config.cameras[0]), 1280, 720)
    assert np.abs(history.raw[polygon].astype(int) - MASK_BGR).max() > 50  # real content there: the check can fail
    for sample in samples.values():
        image = cv2.imread(str(tmp_path / "ds" / sample.image))
        assert np.abs(image[polygon].astype(int) - MASK_BGR).max() <= SNAPSHOT_TOLERANCE
        assert sample.person_box is None and sample.crop is None  # --no-detect


def test_since_filters_and_re_export_merges_idempotently(history: History, tmp_path: Path) -> None:
    late = _export(history, tmp_path / "late", "--since", (T0 + timedelta(days=1)).date().isoformat(), "--no-detect")
    assert [s.group for s in late.values()] == ["d-late"]
    assert json.loads((tmp_path / "late/dataset.json").read_text())["since"] is not None
    out = tmp_path / "all"
    first = _export(history, out, "--no-detect")
    again = _export(history, out, "--no-detect")
    assert first == again and len(list((out / "images").rglob("*.jpg"))) == 3


def test_sampled_frames_under_the_data_dir_are_masked_negatives(history: History, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    for minutes in (0, 10, 20, 70):  # at 1 per hour per window only minutes 0 and 70 are taken
        store_sample(data_dir, CandidateFrame("cam-demo", "w01", T0 + timedelta(minutes=minutes), history.raw))
    config = history.config.model_copy(update={"storage": history.config.storage.model_copy(
        update={"data_dir": str(data_dir)})})
    from counterwatch.dataset.export import export_dataset

    report = export_dataset(config, tmp_path / "ds", negatives_per_hour=1.0, detect=False)
    sampled = [s for s in read_manifest(tmp_path / "ds") if s.group.startswith("sample:")]
    assert report.sampled == 2 and len(sampled) == 2
    assert {s.time for s in sampled} == {T0.isoformat(), (T0 + timedelta(minutes=70)).isoformat()}
    assert all(s.label == "none" and s.negative_for == () and s.review_id is None for s in sampled)
    regions = regions_for(config, config.cameras[0])
    x1, y1, x2, y2 = evidence_view(regions, "w01", 1280, 720).crop
    polygon = citizen_polygons_mask(regions, 1280, 720)[y1:y2, x1:x2]
    w02_zone = (regions[1].mask("staff_zone", 1280, 720) > 0)[y1:y2, x1:x2]
    for sample in sampled:  # stored unmasked and whole on purpose: the export cuts and masks what is not yet
        image = cv2.imread(str(tmp_path / "ds" / sample.image))
        assert image.shape == (y2 - y1, x2 - x1, 3)
        assert np.abs(image[polygon].astype(int) - MASK_BGR).max() <= SNAPSHOT_TOLERANCE
        assert np.abs(image[w02_zone].astype(int) - MASK_BGR).max() <= SNAPSHOT_TOLERANCE
