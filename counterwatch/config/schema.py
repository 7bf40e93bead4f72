"""The hall configuration schema: windows, cameras, models, perception, storage, calendar, roster, rules."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from shapely.geometry import Polygon as ShapelyPolygon
from shapely.validation import explain_validity

from counterwatch.config.base import Identifier, Point, Strict
from counterwatch.config.calendar import Calendar, RosterEntry, StaffMember
from counterwatch.config.rules import RulesConfig


class Hall(Strict):
    id: Identifier = Field(description="Hall id, used in storage and access control.")
    name: str = Field(min_length=1, max_length=100, description="Display name, e.g. 崇义县政务服务中心.")


class Window(Strict):
    """A service window (窗口): identity and what the pause sign looks like. Geometry is per camera."""

    id: Identifier = Field(description="Window id.")
    name: str = Field(min_length=1, max_length=64, description="Display name, e.g. 3号窗口.")
    department: str = Field(default="", max_length=64, description="Department served at this window.")
    schedule: Identifier = Field(default="standard", description="Name of a schedule under calendar.schedules.")
    pause_marker_id: int = Field(ge=0, le=49, description="ArUco id (DICT_4X4_50) printed on this window's pause "
                                 "sign; `counterwatch sign --window ID` prints it.")


def _polygon_problem(points: tuple[tuple[float, float], ...]) -> str | None:
    if len(points) < 3:
        return f"a polygon needs at least 3 points, got {len(points)}"
    shape = ShapelyPolygon(points)
    if not shape.is_valid:
        return f"polygon is not simple: {explain_validity(shape)}"
    if shape.area < 1e-4:
        return "polygon has (almost) no area"
    return None


class WindowView(Strict):
    """How one camera sees one window. Coordinates are fractions (0..1) of the rotated frame."""

    window: Identifier = Field(description="Window id this view covers.")
    staff_zone: tuple[Point, ...] = Field(description="Polygon where the staff member sits or stands.")
    citizen_side: tuple[Point, ...] = Field(description="Polygon of the citizen side of the counter: masked in all "
                                            "stored evidence.")
    pause_sign_region: tuple[Point, ...] = Field(description="Polygon where the pause sign is placed when shown.")

    @field_validator("staff_zone", "citizen_side", "pause_sign_region")
    @classmethod
    def _simple_polygon(cls, points: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
        problem = _polygon_problem(points)
        if problem:
            raise ValueError(problem)
        return points


class Camera(Strict):
    id: Identifier = Field(description="Camera id.")
    source: str | int = Field(description="Video file path (relative to the config file), rtsp:// or http(s):// URL, "
                              "or a USB device index (int or 'usb:N').")
    rotation: Literal[0, 90, 180, 270] = Field(default=0, description="Clockwise rotation applied after the "
                                                "file's own rotation metadata.")
    analysis_fps: float = Field(default=2.0, gt=0, le=30, description="Frames analysed per second.")
    loop: bool = Field(default=False, description="Files only: restart at the end.")
    pace: Literal["realtime", "fast"] = Field(default="realtime", description="Files only: play at the file's frame "
                                              "rate, or as fast as the analysis allows.")
    open_timeout_s: float = Field(default=10.0, gt=0, le=120, description="Network sources: open timeout.")
    read_timeout_s: float = Field(default=10.0, gt=0, le=120, description="Network sources: read timeout.")
    stall_timeout_s: float = Field(default=15.0, gt=0, le=600, description="No frame for this long = stalled.")
    backoff_max_s: float = Field(default=30.0, gt=0, le=600, description="Cap of the reconnect backoff.")
    distance_m: float = Field(default=4.0, gt=0.3, le=50, description="Typical distance from camera to the counter; "
                              "sizes the printed pause-sign marker.")
    horizontal_fov_deg: float = Field(default=90.0, gt=10, le=180, description="Horizontal field of view.")
    width_px: int = Field(default=1920, ge=160, le=8192, description="Frame width, for sizing the sign marker.")
    views: tuple[WindowView, ...] = Field(min_length=1, description="The windows this camera covers.")


class ModelsConfig(Strict):
    detector: str = Field(default="ssd_mobilenet_v2_coco", description="Object/person detector model name.")
    pose: str = Field(default="mediapipe_pose", description="Body pose model name.")
    face_detector: str = Field(default="mediapipe_face_detection", description="Face detector model name.")
    face_mesh: str = Field(default="mediapipe_face_mesh", description="Face landmark model name.")
    hands: str = Field(default="mediapipe_hands", description="Hand landmark model name.")
    marker: str = Field(default="aruco_4x4_50", description="Pause-sign marker detector.")
    ocr: str | None = Field(default="rapidocr_ppocr", description="Sign text confirmer; null turns OCR off.")
    manifest_dirs: tuple[str, ...] = Field(default=(), description="Extra directories of model manifests (e.g. "
                                           "exported YOLO models), relative to the config file.")
    heads_registry: str | None = Field(default=None, description="Directory of the behaviour-heads registry "
                                       "(`<behaviour>/<version>/`), relative to the config file; null: "
                                       "data/models/heads of the working directory.")
    heads: dict[str, str] = Field(default_factory=dict, description="Behaviour -> head version used as one more "
                                  "cue by that behaviour's rule: 'active' (the registry's active pointer) or a "
                                  "version id. Empty: no heads run.")
    shadow_heads: dict[str, str] = Field(default_factory=dict, description="Behaviour -> candidate head version "
                                         "run in shadow: its rule results are logged under DATA_DIR/shadow, never "
                                         "stored as incidents or alerted.")
    window_heads: dict[str, dict[str, str]] = Field(default_factory=dict, description="Per-window overrides of "
                                                    "`heads`: window id -> behaviour -> 'active', a version id, or "
                                                    "'off' (no head for that behaviour at that window).")

    @field_validator("heads", "shadow_heads")
    @classmethod
    def _known_heads(cls, heads: dict[str, str]) -> dict[str, str]:
        return _check_heads(heads, allow_off=False)

    @field_validator("window_heads")
    @classmethod
    def _known_window_heads(cls, windows: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        return {window: _check_heads(heads, allow_off=True) for window, heads in windows.items()}

    def heads_for(self, window_id: str) -> dict[str, str]:
        """Behaviour -> version ('active' or an id) of the heads used at a window ('off' overrides removed)."""
        merged = {**self.heads, **self.window_heads.get(window_id, {})}
        return {behaviour: version for behaviour, version in merged.items() if version != "off"}

    def heads_for_any(self, window_ids) -> bool:
        return any(self.heads_for(window_id) for window_id in window_ids)


HEAD_BEHAVIOURS = ("phone_use", "eating", "drinking", "sleeping")
_VERSION_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def _check_heads(heads: dict[str, str], *, allow_off: bool) -> dict[str, str]:
    for behaviour, version in heads.items():
        if behaviour not in HEAD_BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}: heads exist for {', '.join(HEAD_BEHAVIOURS)}")
        if version == "off" and not allow_off:
            raise ValueError(f"{behaviour}: 'off' is only meaningful in window_heads; leave the behaviour out instead")
        if not version or len(version) > 100 or not set(version) <= _VERSION_CHARS or version.startswith("."):
            raise ValueError(f"{behaviour}: version must be 'active' or a registry version id (letters, digits, "
                             f"'-', '_', '.'), got {version!r}")
    return heads


class PerceptionConfig(Strict):
    person_min_score: float = Field(default=0.3, ge=0.01, le=1, description="Minimum detector score for a person.")
    object_min_score: float = Field(default=0.25, ge=0.01, le=1, description="Minimum score for other objects.")
    crop_margin: float = Field(default=0.1, ge=0, le=3, description="Window crop = staff-zone box grown by this "
                               "fraction on each side.")
    crop_min_px: int = Field(default=300, ge=64, le=2048, description="Window crops smaller than this are upscaled.")
    motion_threshold: float = Field(default=0.004, ge=0, le=1, description="Fraction of changed pixels in a window "
                                    "below which the motion gate skips heavy models.")
    static_recheck_s: float = Field(default=10.0, gt=0, le=600, description="Run the heavy models at least this often "
                                    "even on a still scene (a sleeping person does not move).")
    ocr_confirm: bool = Field(default=True, description="Confirm a seen pause marker by reading the sign text.")
    phone_classifier: bool = Field(default=True, description="Where the cascade looks at a staff person's hands, "
                                   "also score crops around them with the EfficientNet-Lite3 ImageNet classifier "
                                   "(phone-like classes) and combine that with the detector's phone evidence (max); "
                                   "about 20 ms per hand crop on one core, up to 4 crops per person. False: detector "
                                   "evidence only.")


# Retention classes: evidence is classed by kind until a review moves it to the outcome's class (the names in
# monitor_api.storage.evidence); "samples" are the frames sampled for the labelling queue.
EVIDENCE_RETENTION_CLASSES = ("snapshot", "clip", "confirmed", "dismissed")
SAMPLES_RETENTION_CLASS = "samples"
RETENTION_CLASSES = (*EVIDENCE_RETENTION_CLASSES, SAMPLES_RETENTION_CLASS)
MAX_RETENTION_DAYS = 3650.0  # ten years; to keep a class for ever, leave it out of retention_days

RetentionDays = Annotated[float, Field(ge=0, le=MAX_RETENTION_DAYS, allow_inf_nan=False)]


class StorageConfig(Strict):
    url: str = Field(default="sqlite:///var/counterwatch.db", description="SQLAlchemy database URL (SQLite file "
                     "relative to the config file, or postgresql://...).")
    data_dir: str = Field(default="var/data", description="Evidence and exports directory, relative to the config.")
    retention_days: dict[str, RetentionDays] = Field(
        default_factory=dict, description="Retention class -> days (0..3650) after which files are deleted (rows "
        "stay, marked purged): snapshot, clip (unreviewed evidence), confirmed, dismissed (evidence after that "
        "review outcome), samples (frames of the labelling queue). A class left out is kept for ever; empty (the "
        "default) deletes nothing: deleting evidence is the operator's decision. Evidence of an incident with an "
        "undecided appeal is kept until the decision. Applied hourly by `counterwatch run`/`serve`, or once by "
        "`counterwatch purge`.")

    @field_validator("retention_days")
    @classmethod
    def _known_retention_classes(cls, days: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(days) - set(RETENTION_CLASSES))
        if unknown:
            raise ValueError(f"unknown retention class(es) {', '.join(map(repr, unknown))}: retention_days takes "
                             f"{', '.join(RETENTION_CLASSES)}")
        return days


class LearningConfig(Strict):
    """The learning loop's share of the running pipeline (issue 6): frames kept for supervisors to label."""

    sample_frames_per_hour: float = Field(default=0.0, ge=0, le=3600, description="Frames per window per hour of "
                                          "service stored (privacy-masked, under DATA_DIR/samples/) for the "
                                          "labelling queue and as negatives; the most uncertain frame of each "
                                          "interval is kept. 0 turns sampling off.")


class HallConfig(Strict):
    version: Literal[1] = Field(default=1, description="Config format version.")
    hall: Hall
    windows: tuple[Window, ...] = Field(min_length=1, description="Service windows.")
    cameras: tuple[Camera, ...] = Field(min_length=1, description="Cameras and the windows each covers.")
    calendar: Calendar = Field(default_factory=Calendar)
    staff: tuple[StaffMember, ...] = Field(default=(), description="Staff members.")
    roster: tuple[RosterEntry, ...] = Field(default=(), description="Who staffs which window when.")
    rules: RulesConfig = Field(default_factory=RulesConfig)
    models: ModelsConfig = Field(default_factory=ModelsConfig)
    perception: PerceptionConfig = Field(default_factory=PerceptionConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    learning: LearningConfig = Field(default_factory=LearningConfig, description="Frame sampling for the "
                                     "labelling queue.")
    base_dir: Path = Field(default=Path("."), exclude=True, description="Directory of the config file; set by the "
                           "loader, not in YAML.")

    @model_validator(mode="before")
    @classmethod
    def _no_base_dir_in_yaml(cls, data: object) -> object:
        if isinstance(data, dict) and "base_dir" in data:
            raise ValueError("base_dir is set by the loader and may not appear in the file")
        return data

    def window(self, window_id: str) -> Window:
        for window in self.windows:
            if window.id == window_id:
                return window
        raise KeyError(window_id)

    def view_of(self, window_id: str) -> tuple[Camera, WindowView]:
        for camera in self.cameras:
            for view in camera.views:
                if view.window == window_id:
                    return camera, view
        raise KeyError(window_id)

    def resolve(self, relative: str) -> Path:
        """A path from the file, resolved against the config file's directory."""
        path = Path(relative).expanduser()
        return path if path.is_absolute() else (self.base_dir / path)
