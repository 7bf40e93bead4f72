"""Evidence of one window on the demo scene, where one camera sees two staffed windows.

The staff member of w01 gets up at ONSET_K and is alerted as absent a dwell later (ALERT_K); w02's staff member
stays at their post throughout. The stored snapshot and every clip frame must show w01 (its zone unmasked and
unblurred), never w02's staff member (their zone masked where the crop takes it in, their face nowhere) nor the
citizen side; and the clip must reach back to before the onset, so that it shows w01's staff member leaving.

Faces are found by normalised cross-correlation of the stored image with the raw face patch: 0.9 and more where
the face is shown (JPEG/H.264 and sensor noise cost a few hundredths). Where it is not, other faces of the scene
still score up to ~0.5 (the mirrored staff sprite of the other window, the visitor's head from the same photo), so
"not shown" is below 0.6.
"""
from __future__ import annotations

import logging
from pathlib import Path
from zoneinfo import ZoneInfo

import av
import cv2
import numpy as np
import pytest

from counterwatch.demo_scene import WINDOW_OFFSETS
from counterwatch.incidents.events import EventKind
from counterwatch.incidents.evidence import EvidenceRecorder
from counterwatch.incidents.framing import HEADER_BGR, caption, evidence_view, render
from counterwatch.incidents.privacy import MASK_BGR, citizen_polygons_mask
from counterwatch.runtime.worker import evidence_onset_lag_s
from tests.incidents.conftest import CAMERA, FPS, T0, make_event, staff_face_box, staff_observation

log = logging.getLogger(__name__)

PRE_S, POST_S = 3.0, 2.0
DWELL_S = 15.0
ONSET_K = 10  # ts 5.0: w01's staff member is gone from this frame on
ALERT_K = ONSET_K + int(DWELL_S * FPS)  # ts 20.0: the absence is alerted
ALL = frozenset(WINDOW_OFFSETS)
ONLY_W02 = frozenset({"w02"})
SNAPSHOT_TOLERANCE, CLIP_TOLERANCE = 2, 4
SHOWN, NOT_SHOWN = 0.9, 0.6


class NoFaces:
    def detect(self, image):
        return ()


def decode_clip(path: Path) -> tuple[list[np.ndarray], list[float]]:
    with av.open(str(path)) as container:
        frames, pts = [], []
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="bgr24"))
            pts.append(float(frame.pts * frame.time_base))
    return frames, pts


def present_at(k: int) -> frozenset[str]:
    return ALL if k < ONSET_K else ONLY_W02


def face_score(image: np.ndarray, patch: np.ndarray) -> float:
    """How well the face `patch` matches somewhere in `image` (normalised cross-correlation, -1..1)."""
    if image.shape[0] < patch.shape[0] or image.shape[1] < patch.shape[1]:
        return -1.0
    return float(cv2.matchTemplate(image, patch, cv2.TM_CCOEFF_NORMED).max())


def mask_error(image: np.ndarray, where: np.ndarray) -> int:
    return int(np.abs(image[where].astype(np.int16) - np.array(MASK_BGR, np.int16)).max())


def feed_absence(recorder, scene, alert_k: int, detector=None):
    """Frames from 0 (w01 leaves at ONSET_K) until the clip is written; the absence opens at alert_k.

    Returns the frames, the opened event, the update carrying the clip, and for each add_frame call how many
    frames it rendered (`detector`: a CountingDetector whose whole-search-area calls are counted)."""
    frames, opened, rendered = {}, None, []
    for k in range(alert_k + 200):
        frame = scene.frame(k, jitter=0.0, present=present_at(k))
        frames[k] = frame
        before = detector.renders if detector is not None else 0
        updates = recorder.add_frame(frame, staff_observation(frame, present_at(k)))
        rendered.append((detector.renders if detector is not None else 0) - before)
        if updates:
            (update,) = updates
            return frames, opened, update, rendered
        if k == alert_k:
            (opened,) = recorder.on_event(make_event(EventKind.OPENED, frame.ts, start_ts=ONSET_K / FPS,
                                                     incident_type="absent_without_pause"))
    raise AssertionError("the clip was never written")


class CountingDetector:
    """A face detector that finds nothing and counts the images of `shape` it is given (one per rendered frame:
    the first detector call on a frame is on the whole search area, the others on its tiles)."""

    def __init__(self, shape: tuple[int, int]) -> None:
        self.shape, self.renders = shape, 0

    def detect(self, image):
        self.renders += image.shape[:2] == self.shape
        return ()


@pytest.fixture(scope="module")
def view(regions):
    return evidence_view(regions, "w01", 1280, 720)


@pytest.fixture(scope="module")
def faces(scene):
    raw = scene.image(0)
    return {window_id: raw[y1:y2, x1:x2].copy()
            for window_id in ("w01", "w02") for x1, y1, x2, y2 in [staff_face_box(window_id)]}


@pytest.fixture(scope="module")
def absence(tmp_path_factory, scene, regions, face_detector):
    data_dir = tmp_path_factory.mktemp("data")
    recorder = EvidenceRecorder(data_dir, {CAMERA: regions}, face_detector, pre_s=PRE_S, post_s=POST_S,
                                onset_lag_s=DWELL_S, window_names={"w01": "1号窗口", "w02": "2号窗口"},
                                tz=ZoneInfo("Asia/Shanghai"))
    frames, opened, update, _ = feed_absence(recorder, scene, ALERT_K)
    clip, pts = decode_clip(data_dir / update.evidence.clip)
    return {"frames": frames, "opened": opened, "clip": clip, "pts": pts,
            "snapshot": cv2.imread(str(data_dir / opened.evidence.snapshot))}


def test_the_scene_shows_both_staff_members_where_the_checks_look(scene, faces) -> None:
    # Guards the checks below: the raw frame has both faces, each window's face is told from the other's.
    full, only_w01, only_w02 = scene.image(1), scene.image(1, frozenset({"w01"})), scene.image(1, ONLY_W02)
    assert face_score(full, faces["w01"]) > SHOWN and face_score(full, faces["w02"]) > SHOWN
    assert face_score(only_w02, faces["w01"]) < NOT_SHOWN and face_score(only_w01, faces["w02"]) < NOT_SHOWN


def test_snapshot_shows_w01_and_not_the_w02_staff_member(absence, regions, view, faces) -> None:
    snapshot, raw = absence["snapshot"], absence["frames"][ALERT_K].image
    assert face_score(raw, faces["w02"]) > SHOWN  # the camera sees w02's staff member at the alert...
    assert face_score(snapshot, faces["w02"]) < NOT_SHOWN  # ...the evidence of w01 does not
    w02_zone = view.to_evidence(regions[1].mask("staff_zone", 1280, 720) > 0)
    assert regions[1].window_id == "w02" and w02_zone.any()  # the crop takes in a strip of w02's zone
    assert mask_error(snapshot, w02_zone) <= SNAPSHOT_TOLERANCE
    x1, y1, x2, y2 = staff_face_box("w02")
    assert not view.to_evidence(_box_mask(x1, y1, x2, y2)).any()  # w02's face is outside the crop


def _box_mask(x1: int, y1: int, x2: int, y2: int) -> np.ndarray:
    mask = np.zeros((720, 1280), dtype=bool)
    mask[y1:y2, x1:x2] = True
    return mask


def test_snapshot_masks_the_citizen_side_and_keeps_w01s_zone_as_seen(absence, regions, view) -> None:
    snapshot, raw = absence["snapshot"], absence["frames"][ALERT_K].image
    citizen = view.to_evidence(citizen_polygons_mask(regions, 1280, 720))
    assert citizen.sum() > 10_000 and mask_error(snapshot, citizen) <= SNAPSHOT_TOLERANCE
    zone = cv2.erode(regions[0].mask("staff_zone", 1280, 720), np.ones((25, 25), np.uint8)) > 0  # inside the outline
    stored = snapshot[view.to_evidence(zone)].astype(float)
    seen = raw[zone].astype(float)
    assert np.abs(stored - seen).mean() < 3.0  # w01's empty post, as the camera saw it (JPEG noise only)
    assert (np.abs(stored - MASK_BGR).max(axis=1) > 20).mean() > 0.99  # not masked


def test_snapshot_has_a_header_with_text_above_the_window(absence, view) -> None:
    header = absence["snapshot"][:view.header_px].astype(int)
    background = (np.abs(header - HEADER_BGR).max(axis=2) <= 6).mean()
    text = (header.min(axis=2) > 200).mean()
    assert background > 0.6 and 0.01 < text < 0.3


def test_labels_scale_with_the_image(regions, scene) -> None:
    raw = scene.image(0)
    heights = []
    for scale in (1, 2):
        image = cv2.resize(raw, (1280 * scale, 720 * scale), interpolation=cv2.INTER_LINEAR)
        view = evidence_view(regions, "w01", 1280 * scale, 720 * scale)
        text = caption("w01", "1号窗口", "absent_without_pause", T0, 35.0, ZoneInfo("Asia/Shanghai"))
        stored = render(image, view, NoFaces(), None, text)
        rows = np.flatnonzero((stored[:view.header_px].min(axis=2) > 200).any(axis=1))
        heights.append(rows[-1] - rows[0])
        assert view.font_px >= (view.crop[3] - view.crop[1]) / 30  # ~24 px on a 576 px high crop
    assert 1.7 < heights[1] / heights[0] < 2.3


def test_clip_starts_before_the_onset_and_shows_w01_leaving(absence, faces) -> None:
    clip, pts = absence["clip"], absence["pts"]
    expected = [k for k, f in absence["frames"].items() if ONSET_K / FPS - PRE_S <= f.ts < ALERT_K / FPS + POST_S]
    assert len(clip) == len(expected) == 40  # [onset - pre_s, alert + post_s) at 2 fps
    assert pts[-1] - pts[0] == pytest.approx((DWELL_S + PRE_S + POST_S) - 1 / FPS, abs=0.01)
    # The onset is PRE_S into the clip: the staff member is there before it and gone from it on.
    before = [image for image, t in zip(clip, pts, strict=True) if t < PRE_S - 1e-3]
    after = [image for image, t in zip(clip, pts, strict=True) if t >= PRE_S - 1e-3]
    assert len(before) == int(PRE_S * FPS)
    assert min(face_score(image, faces["w01"]) for image in before) > SHOWN
    assert max(face_score(image, faces["w01"]) for image in after) < NOT_SHOWN


def test_every_clip_frame_is_masked_and_never_shows_w02(absence, regions, view, faces) -> None:
    citizen = view.to_evidence(citizen_polygons_mask(regions, 1280, 720))
    w02_zone = view.to_evidence(regions[1].mask("staff_zone", 1280, 720) > 0)
    for image in absence["clip"]:
        assert image.shape[:2] == citizen.shape
        assert mask_error(image, citizen) <= CLIP_TOLERANCE
        assert mask_error(image, w02_zone) <= CLIP_TOLERANCE
        assert face_score(image, faces["w02"]) < NOT_SHOWN


def test_a_long_dwell_keeps_onset_and_alert_at_full_rate_and_thins_between(tmp_path, scene, regions, view) -> None:
    dwell, budget = 60.0, 30
    x1, y1, x2, y2 = view.search
    detector = CountingDetector((y2 - y1, x2 - x1))
    recorder = EvidenceRecorder(tmp_path, {CAMERA: regions}, detector, pre_s=PRE_S, post_s=POST_S,
                                onset_lag_s=dwell, clip_max_frames=budget, clip_frames_per_step=3)
    alert_k = ONSET_K + int(dwell * FPS)
    frames, opened, update, rendered = feed_absence(recorder, scene, alert_k, detector)
    buffer = recorder.buffer(CAMERA)
    assert buffer.span_s >= PRE_S + dwell + POST_S  # the buffer reaches back to before the onset
    log.info(f"evidence buffer: {len(buffer)} frames of 1280x720, {buffer.bytes_held / 2**20:.1f} MiB, "
             f"{buffer.bytes_held / len(buffer) / 1024:.0f} kB a frame")
    # The clip is made a few frames per analysed frame, never all at once in one pipeline step.
    assert max(rendered) == 3 and sum(rendered) == budget
    clip, pts = decode_clip(tmp_path / update.evidence.clip)
    assert len(clip) == budget
    full_rate = int((PRE_S + POST_S) * FPS)  # frames within pre_s / post_s of the onset, and of the alert
    assert np.allclose(np.diff(pts[:full_rate]), 1 / FPS) and np.allclose(np.diff(pts[-full_rate:]), 1 / FPS)
    assert pts[-1] == pytest.approx(dwell + PRE_S + POST_S - 1 / FPS, abs=0.01)
    between = np.diff(pts[full_rate - 1:len(pts) - full_rate + 1])  # 10 frames over the 55 s between
    assert np.ptp(between) <= 1 / FPS + 1e-6  # spread evenly, a frame about every 6 s


def test_the_buffer_reaches_back_as_far_as_the_halls_longest_dwell(demo_config) -> None:
    # The demo's rules: absence 30 s, phone use 15 s, sleeping 20 s, the other rules' defaults (at most 30 s);
    # smoking (120 s) is off and does not count.
    assert evidence_onset_lag_s(demo_config) == 30.0
    rules = demo_config.rules.model_copy(update={
        "absent_without_pause": demo_config.rules.absent_without_pause.model_copy(update={"dwell_s": 300.0})})
    assert evidence_onset_lag_s(demo_config.model_copy(update={"rules": rules})) == 300.0

