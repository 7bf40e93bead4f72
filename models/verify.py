"""Check that a model is installed, intact and runs: the logic behind ``counterwatch models verify``.

Each check runs one inference on a sample image. Markers and text are rendered here, so their result is checked
(the marker id must come back, and the text reader must read the text the caller passes, the pause sign's Chinese
text, rendered in the caller's CJK font: a TextSample); the photo-based models run on scikit-image's astronaut when
scikit-image is installed (a test extra), else on a synthetic image, and only report what they found.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import numpy.typing as npt

from models.base import (
    FaceDetector,
    FaceMesher,
    HandLandmarker,
    ImageClassifier,
    MarkerDetector,
    ModelRuntime,
    ObjectDetector,
    PoseEstimator,
    TextReader,
)
from models.errors import ModelError
from models.manifest import ModelManifest, check_files, resolve_files
from models.registry import load_model

if TYPE_CHECKING:
    from PIL.ImageFont import FreeTypeFont

__all__ = ["TextSample", "VerifyResult", "sample_image", "verify_model"]


SAMPLE_MARKER_ID = 7
SAMPLE_TEXT_PX = 40  # character height: well above the ~16 px the text reader needs (counterwatch.sign)


@dataclass(frozen=True, slots=True)
class TextSample:
    """What a text reader must read back: `text` (the pause sign's) drawn in `font` (pixel size -> a CJK font, which
    raises RuntimeError, such as counterwatch.fonts.FontMissing, when the font is not installed)."""

    text: str
    font: Callable[[int], FreeTypeFont]


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """Outcome of verifying one model. ``status`` is ok, failed, or missing (files absent)."""

    name: str
    status: str
    optional: bool
    files_present: bool
    sha256_ok: bool | None
    loaded: bool
    load_ms: float | None
    latency_ms: float | None
    steady_latency_ms: float | None
    summary: str
    error: str | None

    def __post_init__(self) -> None:
        if self.status not in ("ok", "failed", "missing"):
            raise ValueError(f"status must be ok, failed or missing, got {self.status!r}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sample_image() -> tuple[npt.NDArray[Any], str]:
    """A photo with a person for the photo-based models, and what it is."""
    try:
        from skimage import data  # test extra; verify must also work on a bare deployment
    except ImportError:
        rows = np.linspace(40, 220, 480, dtype=np.uint8)[:, None]
        gradient = np.repeat(np.repeat(rows, 640, axis=1)[:, :, None], 3, axis=2)
        return np.ascontiguousarray(gradient), "synthetic gradient (install scikit-image for a photo)"
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), "scikit-image astronaut"  # type: ignore[no-untyped-call]


def _marker_scene() -> npt.NDArray[Any]:
    from models.markers import render_marker

    scene = np.full((360, 480, 3), 200, np.uint8)
    marker = render_marker(SAMPLE_MARKER_ID, 120, quiet_zone_px=20)
    scene[100:100 + marker.shape[0], 160:160 + marker.shape[1]] = marker[:, :, None]
    return scene


def _text_scene(text: str, font: FreeTypeFont) -> npt.NDArray[Any]:
    """`text` in black on white in `font` (the CJK font the pause sign is printed with), as a BGR image."""
    from PIL import Image, ImageDraw

    left, top, right, bottom = ImageDraw.Draw(Image.new("RGB", (1, 1))).textbbox((0, 0), text, font=font)
    margin = SAMPLE_TEXT_PX
    # textbbox gives ints here (Pillow types them as float): the page size is whole pixels.
    page = Image.new("RGB", (int(right - left + 2 * margin), int(bottom - top + 2 * margin)), "white")
    ImageDraw.Draw(page).text((margin - left, margin - top), text, font=font, fill="black")
    return np.ascontiguousarray(np.asarray(page)[:, :, ::-1])


def _runner(
    runtime: ModelRuntime, text_sample: TextSample | None,
) -> tuple[npt.NDArray[Any], Callable[[npt.NDArray[Any]], object], Callable[[object], str]]:
    """Sample image, one-inference call, and a summary (raising ModelError when a self-check fails)."""
    photo, photo_name = sample_image()
    if isinstance(runtime, ObjectDetector):
        return photo, lambda im: runtime.detect(im, min_score=0.5), \
            lambda r: f"{photo_name}: " + (", ".join(f"{d.label} {d.score:.2f}" for d in r) or "nothing")
    if isinstance(runtime, PoseEstimator):
        return photo, runtime.estimate, lambda r: f"{photo_name}: {len(r)} pose(s)"
    if isinstance(runtime, FaceDetector):
        return photo, runtime.detect, lambda r: f"{photo_name}: {len(r)} face(s)"
    if isinstance(runtime, FaceMesher):
        height, width = photo.shape[:2]
        crop = photo[int(height * 0.08):int(height * 0.4), int(width * 0.28):int(width * 0.6)].copy()
        return crop, runtime.mesh, lambda r: f"{photo_name} head crop: {'468 points' if r is not None else 'no face'}"
    if isinstance(runtime, HandLandmarker):
        return photo, runtime.detect, lambda r: f"{photo_name}: {len(r)} hand(s)"
    if isinstance(runtime, ImageClassifier):
        return photo, lambda im: runtime.classify(im, top_k=1), \
            lambda r: f"{photo_name}: top-1 {r[0].label} {r[0].score:.2f}"
    if isinstance(runtime, MarkerDetector):
        def check_marker(result: object) -> str:
            ids = [m.marker_id for m in result]  # type: ignore[attr-defined]
            if ids != [SAMPLE_MARKER_ID]:
                raise ModelError(runtime.name, f"rendered marker {SAMPLE_MARKER_ID} read as {ids}",
                                 "check the dictionary option matches the printed signs")
            return f"rendered marker {SAMPLE_MARKER_ID} found"
        return _marker_scene(), runtime.detect, check_marker
    if isinstance(runtime, TextReader):
        if text_sample is None:
            raise ModelError(runtime.name, "cannot render the pause-sign text to read",
                             "no text sample given (verify_model's text_sample)")
        sign_text = text_sample.text

        def check_text(result: object) -> str:
            text = "".join(line.text for line in result)  # type: ignore[attr-defined]
            if sign_text not in "".join(text.split()):
                raise ModelError(runtime.name, f"rendered pause-sign text {sign_text!r} read as {text!r}",
                                 "the pause sign's text will not be confirmed; " + runtime.manifest.fix_hint())
            return f"rendered pause-sign text read as {text!r}"
        try:
            font = text_sample.font(SAMPLE_TEXT_PX)
        except RuntimeError as exc:  # the font is not installed (counterwatch.fonts.FontMissing)
            raise ModelError(runtime.name, "cannot render the pause-sign text to read", str(exc)) from None
        return _text_scene(sign_text, font), runtime.read, check_text
    raise ModelError(runtime.name, f"verify has no sample for {type(runtime).__name__}", "add one in models/verify.py")


def verify_model(name: str, manifests: Mapping[str, ModelManifest], *, repeat: int = 1,
                 text_sample: TextSample | None = None) -> VerifyResult:
    """Files present, sha256 matches, loads, runs ``repeat`` inferences (latency of the first and the median).
    A text reader must read ``text_sample`` back (without one it fails verification)."""
    if repeat < 1:
        raise ValueError(f"repeat must be >= 1, got {repeat}")
    manifest = manifests.get(name)
    if manifest is None:
        return VerifyResult(name, "failed", False, False, None, False, None, None, None, "",
                            str(ModelError(name, "no manifest with this name", f"use one of {sorted(manifests)}")))
    partial: dict[str, Any] = dict(name=name, optional=manifest.optional)
    try:
        paths = resolve_files(manifest)
    except ModelError as exc:
        return VerifyResult(**partial, status="missing", files_present=False, sha256_ok=None, loaded=False,
                            load_ms=None, latency_ms=None, steady_latency_ms=None, summary="", error=str(exc))
    missing = [p for p in paths if not p.is_file()]
    if missing:
        error = ModelError(name, f"file {missing[0]} not found", manifest.fix_hint())
        return VerifyResult(**partial, status="missing", files_present=False, sha256_ok=None, loaded=False,
                            load_ms=None, latency_ms=None, steady_latency_ms=None, summary="", error=str(error))
    try:
        check_files(manifest)
    except ModelError as exc:
        return VerifyResult(**partial, status="failed", files_present=True, sha256_ok=False, loaded=False,
                            load_ms=None, latency_ms=None, steady_latency_ms=None, summary="", error=str(exc))
    pinned = all(f.sha256 is not None for f in manifest.files)
    started = time.perf_counter()
    try:
        runtime: ModelRuntime = load_model(name, manifests)
    except ModelError as exc:
        return VerifyResult(**partial, status="failed", files_present=True, sha256_ok=pinned or None, loaded=False,
                            load_ms=None, latency_ms=None, steady_latency_ms=None, summary="", error=str(exc))
    load_ms = (time.perf_counter() - started) * 1000
    latencies: list[float] = []
    try:
        with runtime:
            image, infer, summarise = _runner(runtime, text_sample)
            for _ in range(repeat):
                started = time.perf_counter()
                result = infer(image)
                latencies.append((time.perf_counter() - started) * 1000)
            summary = summarise(result)
    except Exception as exc:  # report any inference failure as this model's failure, not a crash of verify
        error = exc if isinstance(exc, ModelError) else ModelError(name, f"inference failed: {exc}",
                                                                    manifest.fix_hint())
        return VerifyResult(**partial, status="failed", files_present=True, sha256_ok=pinned or None, loaded=True,
                            load_ms=load_ms, latency_ms=latencies[0] if latencies else None,
                            steady_latency_ms=None, summary="", error=str(error))
    if not pinned:
        summary += " (sha256 not pinned: export with `counterwatch models export` to pin it)"
    steady = statistics.median(latencies[1:]) if len(latencies) > 1 else None
    return VerifyResult(**partial, status="ok", files_present=True, sha256_ok=pinned or None, loaded=True,
                        load_ms=load_ms, latency_ms=latencies[0], steady_latency_ms=steady, summary=summary,
                        error=None)
