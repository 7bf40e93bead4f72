"""The hall configuration schema: windows, cameras, models, perception, storage, calendar, roster, rules."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from shapely.geometry import Polygon as ShapelyPolygon
from shapely.validation import explain_validity

from counterwatch.behaviours import HEAD_BEHAVIOURS
from counterwatch.config.base import Identifier, Point, Strict
from counterwatch.config.calendar import Calendar, RosterEntry, StaffMember
from counterwatch.config.rules import RulesConfig
from counterwatch.config.uplink import UplinkConfig
from vision.cascade import CASCADE_LIMITS


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
    person_detector: str | None = Field(default="yolox_nano", description="Person detector on each window crop; "
                                        "`detector` runs on the crop too and a person both find keeps the geometric "
                                        "mean of their scores, one only one finds half its score (fewer empty chairs "
                                        "and posters taken for people). Null: `detector` alone finds people.")
    detector: str = Field(default="ssd_mobilenet_v2_coco", description="Object detector (phones, cups, food) on each "
                          "window crop and again on the staff person's hands and desk; confirms (or, with "
                          "person_detector null, finds) people.")
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
    heads: dict[str, str] = Field(default_factory=lambda: dict.fromkeys(HEAD_BEHAVIOURS, "active"),
                                  description="Behaviour -> head version used as one more cue by that behaviour's "
                                  "rule: 'active' (the registry's active pointer: the head shipped with counterwatch "
                                  "until the hall promotes one of its own) or a version id. Default: every "
                                  "behaviour 'active'. {} (empty): no heads run.")
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


class CuesConfig(Strict):
    """The geometry of the behaviour cues (vision.cues.CueSettings). Distances are in body scales (shoulder widths);
    scores are detector scores. The defaults were set from body proportions and checked with `counterwatch eval
    frames`; a change here moves the rules' decisions, so measure it the same way. The learned heads' features keep
    the defaults (they are the inputs the heads were trained on)."""

    keypoint_min_score: float = Field(default=0.3, ge=0, le=1, description="Pose keypoints below this score are "
                                      "treated as unseen.")
    phone_in_hand: float = Field(default=0.6, ge=0, le=5, description="A phone box within this distance of a hand "
                                 "point is in the hand (full detector score).")
    phone_reach: float = Field(default=1.5, gt=0, le=10, description="Beyond this distance from every hand point a "
                               "phone is not held (its score falls linearly to 0 here); must exceed phone_in_hand.")
    phone_without_hands: float = Field(default=0.5, ge=0, le=1, description="Factor for a phone over the person "
                                       "when no hand could be located.")
    lookalike_factor: float = Field(default=0.5, ge=0, le=1, description="Factor for phone look-alike labels "
                                    "(remote).")
    object_min_score: float = Field(default=0.25, ge=0, le=1, description="Food and drink boxes below this score "
                                    "are ignored.")
    call_distance: float = Field(default=0.6, ge=0, le=5, description="Hand point to ear distance of a call "
                                 "posture.")
    mouth_distance: float = Field(default=0.5, ge=0, le=5, description="Hand point to mouth distance of "
                                  "hand-to-mouth.")
    object_at_mouth: float = Field(default=0.2, ge=0, le=5, description="A cup or food box this close to the mouth "
                                   "is held there (the hand hides behind it).")
    object_near: float = Field(default=0.8, ge=0, le=5, description="Food or drink box to a hand point or the mouth "
                               "for food near / drink near.")
    head_down_margin: float = Field(default=0.1, ge=0, le=2, description="Nose less than this above the shoulder "
                                    "line counts as head down.")
    min_scale_box_fraction: float = Field(default=0.2, ge=0, le=1, description="Floor of the body scale as a "
                                          "fraction of the person box height.")
    face_width_to_shoulders: float = Field(default=2.0, ge=0, le=10, description="Floor of the body scale in face "
                                           "widths.")

    @model_validator(mode="after")
    def _reach_exceeds_hand(self) -> CuesConfig:
        if self.phone_reach <= self.phone_in_hand:
            raise ValueError("phone_reach must exceed phone_in_hand")
        return self


def _limited(name: str, default: float, description: str):
    """A perception field bounded by the cascade's own limits (vision.cascade.CASCADE_LIMITS)."""
    low, high = CASCADE_LIMITS[name]
    return Field(default=default, ge=low, le=high, description=description)


class PerceptionConfig(Strict):
    person_min_score: float = _limited("person_min_score", 0.3, "Minimum detector score for a person.")
    object_min_score: float = _limited("object_min_score", 0.25, "Minimum score for other objects.")
    crop_margin: float = _limited("crop_margin", 0.1, "Window crop = staff-zone box grown by this fraction on each "
                                  "side.")
    crop_min_px: int = _limited("crop_min_px", 300, "Window crops smaller than this are upscaled.")
    motion_threshold: float = _limited("motion_threshold", 0.004, "Fraction of changed pixels in a window below "
                                       "which the motion gate skips heavy models.")
    static_recheck_s: float = _limited("static_recheck_s", 10.0, "Run the heavy models at least this often even on "
                                       "a still scene (a sleeping person does not move); the sign text is re-read "
                                       "at most this often while its marker stays.")
    look_interval_s: float = _limited("look_interval_s", 1.0, "A full look at a window's staff (second detector, "
                                      "hands, pose, face, behaviour heads) at least this often; the person "
                                      "detector runs on every analysed frame, and a newcomer, a raised wrist or a "
                                      "hand-held object appearing bring the next look forward. 0: a full look on "
                                      "every analysed frame.")
    idle_look_interval_s: float = _limited("idle_look_interval_s", 2.0, "The next full look waits this long "
                                           "instead while the last one found the staff's hands idle (nothing "
                                           "hand-held near, no raised wrist); a value below look_interval_s "
                                           "means look_interval_s.")
    confirm_interval_s: float = _limited("confirm_interval_s", 5.0, "The object detector confirms the person "
                                         "detector's people at a look at least this often, and at the next look "
                                         "when someone not yet confirmed appears; in between its boxes follow the "
                                         "people. 0: at every look.")
    heads_interval_s: float = Field(default=2.0, ge=0.0, le=60.0, description="The behaviour heads score a "
                                    "window's main staff person at a look at most this often (their two "
                                    "embeddings are the look's most expensive step); someone new is scored at "
                                    "their first look. 0: at every look.")
    max_staff_per_window: int = _limited("max_staff_per_window", 2, "People in one staff zone analysed in depth "
                                         "(pose, face, hands); a visitor is the second.")
    ocr_confirm: bool = Field(default=True, description="Confirm a seen pause marker by reading the sign text.")
    phone_classifier: bool = Field(default=True, description="Where the cascade looks at a staff person's hands, "
                                   "also score crops around them with the EfficientNet-Lite3 ImageNet classifier "
                                   "(phone-like classes) and combine that with the detector's phone evidence (max); "
                                   "about 20 ms per hand crop on one core, up to 4 crops per person. False: detector "
                                   "evidence only.")
    cues: CuesConfig = Field(default_factory=CuesConfig, description="Geometry of the behaviour cues.")


class PresenceConfig(Strict):
    """Presence at the post fused from the detector, pose, motion and the empty-zone reference (vision.presence)."""

    enabled: bool = Field(default=True, description="Fuse the cues into each window's occupancy; false: a person "
                          "detected in the staff zone is the only sign of presence.")
    reference_learn_s: float = Field(default=10.0, gt=0, le=3600, description="Seconds an unchanging staff zone "
                                     "with nobody detected, while the window is paused or closed, must last before "
                                     "it becomes the window's empty-zone reference.")
    reference_update_tau_s: float = Field(default=120.0, gt=0, le=86400, description="Time constant (s) of the slow "
                                          "update of the reference while the window stays paused or closed and empty.")
    reference_max_age_s: float = Field(default=21600.0, gt=0, le=604800, description="A reference not refreshed "
                                       "for this long (s) is not used (presence falls back to detector, pose, motion).")
    reference_empty_below: float = Field(default=0.05, ge=0, le=1, description="Fraction of the staff zone's blocks "
                                         "unlike the reference at or below which the zone reads as empty.")
    reference_occupied_above: float = Field(default=0.25, ge=0, le=1, description="Fraction of blocks unlike the "
                                            "reference at or above which the zone reads as occupied (person-sized).")
    reference_support_s: float = Field(default=120.0, gt=0, le=3600, description="A staff zone unlike its reference "
                                       "counts as a person only this long (s, fading) after a detection or movement "
                                       "there: a moved chair or a bumped camera is still, a person rarely is.")
    motion_above: float = Field(default=0.004, ge=0, le=1, description="Staff-zone motion score (fraction of changed "
                                "pixels between analysed frames) that counts as movement.")
    switch_tau_s: float = Field(default=5.0, gt=0, le=3600, description="Expected seconds between changes of "
                                "occupancy: the smoothing of the presence filter.")
    occupied_above: float = Field(default=0.7, gt=0, lt=1, description="Occupancy from which a window with no "
                                  "person detected still counts as staffed.")
    empty_below: float = Field(default=0.3, gt=0, lt=1, description="Occupancy below which it counts as empty "
                               "again (hysteresis).")

    @model_validator(mode="after")
    def _ordered(self) -> PresenceConfig:
        if self.reference_empty_below >= self.reference_occupied_above:
            raise ValueError("reference_empty_below must be below reference_occupied_above")
        if self.empty_below >= self.occupied_above:
            raise ValueError("empty_below must be below occupied_above")
        return self


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


LABEL_TARGET = 50
"""Labelled frames per behaviour a hall needs of its own cameras: `counterwatch models adapt-curve` measures F1 on
a camera the heads never saw as k of its labelled frames per behaviour are added (k = 0, 10, 25, 50, 100); the
goal is F1 >= 0.95 at about 50. The labelling queue serves behaviours below it first."""


class LearningConfig(Strict):
    """The learning loop's share of the running pipeline (issue 6): frames kept for supervisors to label."""

    sample_frames_per_hour: float = Field(default=0.0, ge=0, le=3600, description="Frames per window per hour of "
                                          "service stored (privacy-masked, under DATA_DIR/samples/) for the "
                                          "labelling queue and as negatives; the most uncertain frame of each "
                                          "interval is kept. 0 turns sampling off.")
    label_target_per_behaviour: int = Field(default=LABEL_TARGET, ge=1, le=10000, description="Labelled frames "
                                            "per behaviour the hall aims for (`counterwatch models adapt-curve`: "
                                            "the aim is F1 >= 0.95 on a new camera at about 50). The labelling "
                                            "queue shows first the frames whose most likely behaviour is still "
                                            "below it; the dashboard shows each behaviour's progress towards it.")


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
    presence: PresenceConfig = Field(default_factory=PresenceConfig, description="Presence fusion at the post.")
    storage: StorageConfig = Field(default_factory=StorageConfig)
    learning: LearningConfig = Field(default_factory=LearningConfig, description="Frame sampling for the "
                                     "labelling queue.")
    uplink: UplinkConfig | None = Field(default=None, description="Send everything also to the county centre over "
                                        "NATS JetStream (an edge node); absent: this hall stands alone.")
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
