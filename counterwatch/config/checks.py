"""What `counterwatch check-config` checks beyond the schema, on the machine that will run the hall.

The schema says whether the file is well formed; these checks say whether it will run here: camera files exist, are
readable and decode; every model the pipeline loads is known to the model registry, is the right kind and has its
files; every behaviour head version exists; marker ids exist in the marker detector's dictionary; and each window's
pause-sign region can hold the sign `counterwatch sign` prints for its camera; the national holiday calendars the
hall follows cover this year (and, from November, the next). What cannot be checked without running (network
cameras, USB devices) and what works badly (a marker or text too small for the camera, a year without national
holidays) are warnings, not errors.
"""
from __future__ import annotations

import datetime as dt
import inspect
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from counterwatch.config.schema import Camera, HallConfig

# The models the pipeline loads (counterwatch.perception.load_models), by field of `models:`, and the task each needs.
MODEL_TASKS = {
    "person_detector": "object_detection",
    "detector": "object_detection",
    "pose": "pose",
    "face_detector": "face_detection",
    "face_mesh": "face_landmarks",
    "hands": "hand_landmarks",
    "marker": "marker_detection",
    "ocr": "text_recognition",
}
ASSUMED_ASPECT = 16 / 9  # frame width / height where no frame can be read (network and USB cameras); 9:16 rotated


@dataclass(frozen=True)
class Finding:
    level: Literal["error", "warning"]
    path: str  # the config field, e.g. cameras[0].source
    message: str


def check_hall(config: HallConfig, today: dt.date | None = None) -> list[Finding]:
    """Every finding about `config` on this machine, section by section: cameras, models, heads, pause signs,
    national calendars (as of `today`, default: today in the hall's time zone)."""
    findings: list[Finding] = []
    frame_sizes: dict[str, tuple[int, int]] = {}
    for index, camera in enumerate(config.cameras):
        camera_findings, size = _check_camera(config, index, camera)
        findings.extend(camera_findings)
        if size is not None:
            frame_sizes[camera.id] = size
    manifests, manifest_findings = _load_manifests(config)
    findings.extend(manifest_findings)
    if manifests is not None:
        findings.extend(_check_models(config, manifests))
        findings.extend(_check_marker_ids(config, manifests))
    findings.extend(_check_heads(config))
    findings.extend(_check_sign_regions(config, frame_sizes))
    findings.extend(check_national_years(config, today))
    return findings


def check_national_years(config: HallConfig, today: dt.date | None = None) -> list[Finding]:
    """A warning for each year the hall's national calendars lack: this year, and from November (the State Council
    publishes the next year's arrangement in the autumn) the next."""
    from zoneinfo import ZoneInfo

    from counterwatch.config.national import load_national

    if not config.calendar.national:
        return []
    today = today or dt.datetime.now(ZoneInfo(config.calendar.timezone)).date()
    national = load_national(config.calendar.national, config.base_dir)
    years = [today.year] + ([today.year + 1] if today.month >= 11 else [])
    return [_warning("calendar.national", f"no national holiday calendar for {year}: its holidays and make-up "
                     f"working days (调休) count as an ordinary week; once published, run `counterwatch calendar "
                     f"update --year {year}` (from the chinesecalendar package, or --from FILE.csv typed from the "
                     "notice) into a file or folder listed here")
            for year in years if not national.covers(year)]


def _error(path: str, message: str) -> Finding:
    return Finding("error", path, message)


def _warning(path: str, message: str) -> Finding:
    return Finding("warning", path, message)


# Cameras -------------------------------------------------------------------------------------------------------


def _check_camera(config: HallConfig, index: int, camera: Camera) -> tuple[list[Finding], tuple[int, int] | None]:
    """Findings about one camera's source, and its rotated frame size (width, height) when a frame was read."""
    from cameras import NetworkStreamSource, UsbDeviceSource, VideoFileSource, open_source
    from cameras.stream_sources import redact_url
    from counterwatch.perception import camera_source

    field = f"cameras[{index}].source"
    try:
        source = open_source(camera_source(config, camera), loop=False, pace="fast",
                             open_timeout_s=camera.open_timeout_s, read_timeout_s=camera.read_timeout_s)
    except ValueError as exc:
        return [_error(field, str(exc).removeprefix("source: "))], None
    if isinstance(source, NetworkStreamSource):
        return [_warning(field, f"network camera {redact_url(str(camera.source))}: not checked (it is first opened "
                                "by `counterwatch run`, which reports it offline with the reason if it cannot)")], None
    if isinstance(source, UsbDeviceSource):
        return [_warning(field, f"USB camera {camera.source}: not checked (it is first opened by "
                                "`counterwatch run`, which reports it offline with the reason if it cannot)")], None
    assert isinstance(source, VideoFileSource)
    path = Path(os.path.normpath(source.path))
    problem = _file_problem(path)
    if problem is None:
        size, problem = _first_frame_size(source, path)
    if problem is not None:
        if not path.exists() and not Path(str(camera.source)).is_absolute() and "://" not in str(camera.source):
            problem += f" ({camera.source} is resolved against the config file's directory)"
        return [_error(field, problem)], None
    assert size is not None
    width, height = size if camera.rotation in (0, 180) else size[::-1]
    findings = []
    if width != camera.width_px:
        findings.append(_warning(f"cameras[{index}].width_px",
                                 f"{camera.width_px} px, but the frames of {path} are {width} px wide (after "
                                 f"rotation); the pause sign is sized from width_px: set it to {width}"))
    return findings, (width, height)


def _file_problem(path: Path) -> str | None:
    if not path.exists():
        return f"file {path} does not exist"
    if not path.is_file():
        return f"{path} is not a file"
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        return f"file {path} is not readable: {exc.strerror or exc}"
    return None


def _first_frame_size(source, path: Path) -> tuple[tuple[int, int] | None, str | None]:
    """(width, height) of the file's first frame as the camera reader sees it (rotation metadata applied)."""
    from cameras import EndOfStream, SourceError

    try:
        source.open()
        image = source.read()
    except EndOfStream:
        return None, f"video file {path} has no frame"
    except SourceError:
        return None, f"OpenCV cannot read {path} as a video (not a video, or a format it cannot decode)"
    finally:
        source.close()
    if image is None:
        return None, f"video file {path} has no readable frame"
    return (int(image.shape[1]), int(image.shape[0])), None


# Models --------------------------------------------------------------------------------------------------------


def _load_manifests(config: HallConfig):
    """The model registry the pipeline will use (shipped manifests plus models.manifest_dirs), or None."""
    from models import ModelError, load_manifests

    findings, usable = [], []
    for index, directory in enumerate(config.models.manifest_dirs):
        path = config.resolve(directory)
        try:
            load_manifests([path])
        except ModelError as exc:
            findings.append(_error(f"models.manifest_dirs[{index}]", str(exc)))
        else:
            usable.append(path)
    try:
        return load_manifests(usable), findings
    except ModelError as exc:
        return None, [*findings, _error("models", f"the shipped model manifests cannot be read: {exc}")]


def _used_models(config: HallConfig) -> Iterable[tuple[str, str, str]]:
    """(config field, model name, task it needs) for every model the pipeline loads with this config."""
    from counterwatch.perception import PHONE_CLASSIFIER_MODEL

    chosen = config.models
    for field, task in MODEL_TASKS.items():
        name = getattr(chosen, field)
        if name is None or (field == "ocr" and not config.perception.ocr_confirm):
            continue
        if field == "person_detector" and name == chosen.detector:
            continue  # the pipeline then runs the detector alone
        yield f"models.{field}", name, task
    if config.perception.phone_classifier:
        yield "perception.phone_classifier", PHONE_CLASSIFIER_MODEL, "image_classification"
    elif chosen.heads_for_any(w.id for w in config.windows) or chosen.shadow_heads:
        yield "models.heads", PHONE_CLASSIFIER_MODEL, "image_classification"  # the heads' image embedding


def _check_models(config: HallConfig, manifests) -> list[Finding]:
    from models import ModelError, resolve_files

    findings = []
    for field, name, task in _used_models(config):
        manifest = manifests.get(name)
        if manifest is None:
            findings.append(_error(field, f"unknown model {name!r}: the model registry has {sorted(manifests)} "
                                          "(a model of your own needs its manifest directory in "
                                          "models.manifest_dirs)"))
            continue
        if manifest.task.value != task:
            findings.append(_error(field, f"model {name!r} is a {manifest.task.value} model; this field needs a "
                                          f"{task} model"))
            continue
        try:
            paths = resolve_files(manifest)
        except ModelError as exc:
            findings.append(_error(field, str(exc)))
            continue
        missing = [path for path in paths if not path.is_file()]
        if missing:
            findings.append(_error(field, str(ModelError(name, f"file {missing[0]} does not exist",
                                                         manifest.fix_hint()))))
    return findings


def _check_marker_ids(config: HallConfig, manifests) -> list[Finding]:
    """Pause-marker ids exist in the dictionary the marker model reads, which is the one the signs are printed in."""
    from models.markers import ArucoMarkerDetector, aruco_dictionary, render_marker

    manifest = manifests.get(config.models.marker)
    if manifest is None or manifest.type != ArucoMarkerDetector.type:
        return []  # an unknown marker model is reported by _check_models
    default = inspect.signature(ArucoMarkerDetector.__init__).parameters["dictionary"].default
    name = manifest.options.get("dictionary", default)
    try:
        count = aruco_dictionary(name).bytesList.shape[0]
    except ValueError as exc:
        return [_error("models.marker", f"model {manifest.name!r}: {exc}")]
    findings = []
    printed = inspect.signature(render_marker).parameters["dictionary"].default
    if name != printed:
        findings.append(_error("models.marker", f"model {manifest.name!r} reads {name} markers, but `counterwatch "
                                                f"sign` prints {printed} markers: the printed signs would not be "
                                                "recognised"))
    for index, window in enumerate(config.windows):
        if window.pause_marker_id >= count:
            findings.append(_error(f"windows[{index}].pause_marker_id",
                                   f"marker id {window.pause_marker_id} is not in {name} (ids 0..{count - 1}), the "
                                   f"dictionary of models.marker {manifest.name!r}"))
    return findings


def _check_heads(config: HallConfig) -> list[Finding]:
    """Every configured head version ('active' or an id) exists in the hall's registry or the shipped heads."""
    from counterwatch.learning.registry import BUILTIN_ROOT, Registry
    from counterwatch.learning.runtime import registry_root

    registry = Registry(registry_root(config), builtin=BUILTIN_ROOT)
    wanted = [(f"models.heads.{b}", b, v) for b, v in config.models.heads.items()]
    wanted += [(f"models.shadow_heads.{b}", b, v) for b, v in config.models.shadow_heads.items()]
    wanted += [(f"models.window_heads.{w}.{b}", b, v) for w, heads in config.models.window_heads.items()
               for b, v in heads.items() if v != "off"]
    findings = []
    for field, behaviour, version in wanted:
        try:
            resolved = registry.active(behaviour) if version == "active" else version
            versions = registry.versions(behaviour)
        except (OSError, ValueError) as exc:
            findings.append(_error(field, f"cannot read the {behaviour} head's registry in {registry.root}: {exc}"))
            continue
        if resolved is None:
            findings.append(_error(field, f"no active {behaviour} head in {registry.root} or the shipped heads "
                                          f"({BUILTIN_ROOT}); train one with `counterwatch models train-heads`"))
        elif resolved not in versions:
            where = "the active pointer names" if version == "active" else "there is no"
            findings.append(_error(field, f"{where} version {resolved!r} of the {behaviour} head, which is not in "
                                          f"{registry.root} or the shipped heads (versions: {versions or 'none'})"))
    return findings


# Pause signs ---------------------------------------------------------------------------------------------------


def _check_sign_regions(config: HallConfig, frame_sizes: dict[str, tuple[int, int]]) -> list[Finding]:
    """Each pause-sign region can hold the marker (with its white margin) that `counterwatch sign` prints for the
    camera; the sizes come from counterwatch.sign, so the check and the printed sign agree."""
    from counterwatch.sign import A4_LANDSCAPE_MM, pixels_per_mm, plan_sign
    from models.markers import aruco_dictionary, render_marker

    cells = aruco_dictionary(inspect.signature(render_marker).parameters["dictionary"].default).markerSize + 2
    findings = []
    for c, camera in enumerate(config.cameras):
        width, height = frame_sizes.get(camera.id) or _assumed_frame(camera)
        measured = camera.id in frame_sizes
        ppmm = pixels_per_mm(camera)
        for v, view in enumerate(camera.views):
            field = f"cameras[{c}].views[{v}].pause_sign_region"
            plan = plan_sign(config.window(view.window), camera)
            xs = [x * width for x, _ in view.pause_sign_region]
            ys = [y * height for _, y in view.pause_sign_region]
            region_w, region_h = max(xs) - min(xs), max(ys) - min(ys)
            marker_px = plan.marker_px_at_camera * (cells + 2) / cells  # one white cell around the marker
            frame = f"{width}x{height} frame" + ("" if measured else " (width_px, 16:9 assumed)")
            if marker_px > min(region_w, region_h):
                findings.append(_error(field, f"the region is {region_w:.0f}x{region_h:.0f} px of the {frame}, "
                                              f"too small for the {plan.marker_mm:.0f} mm marker `counterwatch sign` "
                                              f"prints for window {view.window} ({marker_px:.0f} px with its white "
                                              f"margin at {camera.distance_m} m): enlarge the region to where the "
                                              "sign stands"))
                continue
            page_w, page_h = (side * ppmm for side in A4_LANDSCAPE_MM)
            if page_w > region_w or page_h > region_h:
                findings.append(_warning(field, f"the region is {region_w:.0f}x{region_h:.0f} px of the {frame}; the "
                                                f"A4 sign is about {page_w:.0f}x{page_h:.0f} px there, so its text "
                                                "may fall outside the region and not be read"))
            for warning in plan.warnings:
                findings.append(_warning(field, f"window {view.window}'s sign: {warning}"))
    return findings


def _assumed_frame(camera: Camera) -> tuple[int, int]:
    width = camera.width_px
    aspect = ASSUMED_ASPECT if camera.rotation in (0, 180) else 1 / ASSUMED_ASPECT
    return width, round(width / aspect)
