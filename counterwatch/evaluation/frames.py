"""Per-frame behaviour evidence scored on folder-per-class photos.

Each photo goes through the perception cascade (no hall config: the whole image is one area) and vision.cues; a
frame-level decision turns the cues of the main person into one of BEHAVIOURS. The rules integrate cues over time
(a phone for 30 s, three hand-to-mouth movements in 20 s); this measures the single-frame evidence they start from.

Decision rule (`decide`), one evidence score per behaviour, the highest at or above DECISION_THRESHOLD wins, ties
in the order of BEHAVIOURS (phone first: a call posture with a cup in view is a call):
- phone_use: the phone cue (detector score weighted by closeness to a hand); a call posture scores CALL_EVIDENCE.
- drinking / eating: a cup/bottle (food/bowl) near the hands or mouth AND a hand at the mouth scores AT_MOUTH.
  Food near without a hand at the mouth scores FOOD_ONLY (food in hand at a counter is itself the breach); a cup
  near without a hand at the mouth scores CUP_ONLY, below the threshold: staff keep water on the desk.
- sleeping: head down scores HEAD_DOWN; eyes closed (raw eye aspect ratio below EYES_CLOSED_EAR: one photo has no
  per-person baseline, which the rules use) scores EYES_CLOSED; both together BOTH_SLEEP_CUES.
- none: nothing reached the threshold, or no person was found.
- learned heads (on by default; BehaviourCues.head): where a head scored the photo, its probability, put on the
  same scale (`head_evidence`: DECISION_THRESHOLD exactly at the head's own threshold), replaces the rule evidence
  of its behaviour. The head's features hold every cue above; the cues alone fire on people doing nothing forbidden
  (a wallet at the ear, a cup on the table, a head bent over papers), and leaving them in (the max of both) measured
  worse on the photo source the heads never saw (`counterwatch models loso`, README).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from counterwatch.behaviours import BEHAVIOURS as BEHAVIOURS_TABLE, HEAD_BEHAVIOURS
from counterwatch.evaluation.metrics import Confusion
from vision.cues import DEFAULT_CUE_SETTINGS, BehaviourCues, CueSettings, person_cues
from vision.observation import Person

log = logging.getLogger("counterwatch.evaluation")

BEHAVIOURS = (*HEAD_BEHAVIOURS, "none")  # what the per-frame decision can say
# Truth labels a photo set may carry: the decision's, and smoking, which no single frame shows (the smoking rule
# counts puffs over minutes): a smoking photo is scored as a miss or as the behaviour decided instead.
TRUTH_LABELS = (*(b.name for b in BEHAVIOURS_TABLE if b.learnable or b.label_key), "none")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")

DECISION_THRESHOLD = 0.3
PHOTO_WINDOW = "photo"  # the one window a HeadScorer for photos is built for
CALL_EVIDENCE = 0.6
AT_MOUTH = 0.7
FOOD_ONLY = 0.35
CUP_ONLY = 0.2
HEAD_DOWN = 0.6
EYES_CLOSED = 0.5
BOTH_SLEEP_CUES = 0.8
EYES_CLOSED_EAR = 0.15


@dataclass(frozen=True)
class LabelMap:
    """Folder name -> behaviour (one of TRUTH_LABELS)."""

    folders: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        for folder, behaviour in self.folders:
            if behaviour not in TRUTH_LABELS:
                raise ValueError(f"label map: folder {folder!r} maps to {behaviour!r}; use one of {TRUTH_LABELS}")

    def behaviour(self, folder: str) -> str | None:
        return dict(self.folders).get(folder)


def load_label_map(path: Path) -> LabelMap:
    """YAML with a `folders:` mapping of folder name -> behaviour."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError) as exc:
        raise ValueError(f"{path}: cannot read the label map: {exc}") from None
    folders = data.get("folders") if isinstance(data, dict) else None
    if not isinstance(folders, dict) or not folders:
        raise ValueError(f"{path}: expected a mapping `folders: {{folder name: behaviour}}`")
    return LabelMap(tuple((str(k), str(v)) for k, v in folders.items()))


@dataclass(frozen=True)
class LabelledPhoto:
    path: Path
    folder: str
    truth: str


def list_photos(root: Path, labels: LabelMap, *, limit_per_folder: int | None = None) -> tuple[LabelledPhoto, ...]:
    """Photos of every mapped folder (sorted; `limit_per_folder` takes evenly spaced ones). Unmapped folders are
    skipped with a log line; a mapped folder that is missing is an error (a typo in the map)."""
    present = {p.name for p in root.iterdir() if p.is_dir()}
    missing = [folder for folder, _ in labels.folders if folder not in present]
    if missing:
        raise ValueError(f"{root}: label map names folders that do not exist: {missing}")
    for folder in sorted(present - {f for f, _ in labels.folders}):
        log.info("folder %s is not in the label map: skipped", folder)
    photos: list[LabelledPhoto] = []
    for folder, behaviour in labels.folders:
        paths = sorted(p for p in (root / folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if limit_per_folder is not None and 0 < limit_per_folder < len(paths):
            paths = [paths[i] for i in np.linspace(0, len(paths) - 1, limit_per_folder).round().astype(int)]
        photos.extend(LabelledPhoto(p, folder, behaviour) for p in paths)
    return tuple(photos)


def parse_class_map(text: str) -> dict[int, str]:
    """'1=phone_use,0=none,2=none' -> {1: 'phone_use', 0: 'none', 2: 'none'}."""
    result = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = part.partition("=")
        if not key.strip().isdigit() or value.strip() not in TRUTH_LABELS:
            raise ValueError(f"--yolo-classes: expected CLASS_ID=BEHAVIOUR with a behaviour in {TRUTH_LABELS}, "
                             f"got {part!r}")
        result[int(key)] = value.strip()
    if not result:
        raise ValueError("--yolo-classes: no class given")
    return result


def list_yolo_photos(root: Path, classes: Mapping[int, str], *, limit: int | None = None
                     ) -> tuple[LabelledPhoto, ...]:
    """Photos of a YOLO set (root/images + root/labels, or split folders each holding them), each labelled by the
    behaviours of its boxes' classes: the first in BEHAVIOURS order wins (a phone beside a wallet is phone_use);
    no mapped box means none. E.g. phones_handheld with 1=phone_use, 0=none, 2=none: wallets and earbud cases
    are the hard negatives of the phone cue. `limit` takes N evenly spaced photos in all."""
    splits = [root] if (root / "images").is_dir() else sorted(p for p in root.iterdir() if (p / "images").is_dir())
    if not splits:
        raise ValueError(f"{root}: no images/ folder (YOLO layout) in it or in its sub-folders")
    photos = []
    for split in splits:
        for path in sorted(p for p in (split / "images").iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
            label = split / "labels" / (path.stem + ".txt")
            ids = {int(line.split()[0]) for line in label.read_text().splitlines() if line.strip()} \
                if label.exists() else set()
            found = {classes[i] for i in ids if i in classes}
            truth = next((b for b in TRUTH_LABELS if b in found and b != "none"), "none")
            photos.append(LabelledPhoto(path, split.name, truth))
    if limit is not None and 0 < limit < len(photos):
        photos = [photos[i] for i in np.linspace(0, len(photos) - 1, limit).round().astype(int)]
    return tuple(photos)


@dataclass(frozen=True)
class Decision:
    label: str
    evidence: tuple[tuple[str, float], ...]  # (behaviour, score) for the four behaviours


def decide(cues: BehaviourCues | None) -> Decision:
    """The per-frame decision described in the module docstring."""
    if cues is None:
        return Decision("none", tuple((b, 0.0) for b in BEHAVIOURS[:-1]))
    phone = max(cues.phone, CALL_EVIDENCE if cues.call else 0.0)
    drink = (AT_MOUTH if cues.hand_to_mouth else CUP_ONLY) if cues.drink_near else 0.0
    food = (AT_MOUTH if cues.hand_to_mouth else FOOD_ONLY) if cues.food_near else 0.0
    eyes_closed = cues.eye_aspect_ratio is not None and cues.eye_aspect_ratio < EYES_CLOSED_EAR
    sleep = BOTH_SLEEP_CUES if cues.head_down and eyes_closed else HEAD_DOWN if cues.head_down else (
        EYES_CLOSED if eyes_closed else 0.0)
    evidence = tuple(_fused(name, value, cues) for name, value in
                     (("phone_use", phone), ("eating", food), ("drinking", drink), ("sleeping", sleep)))
    best = max(evidence, key=lambda item: item[1])  # max keeps the first of equals: BEHAVIOURS order
    return Decision(best[0] if best[1] >= DECISION_THRESHOLD else "none", evidence)


def head_evidence(probability: float, threshold: float) -> float:
    """A head's probability on the decision's 0..1 evidence scale: DECISION_THRESHOLD at the head's threshold,
    linear on each side of it."""
    if probability >= threshold:
        return DECISION_THRESHOLD + (1.0 - DECISION_THRESHOLD) * (probability - threshold) / max(1e-9, 1.0 - threshold)
    return DECISION_THRESHOLD * probability / max(1e-9, threshold)


def _fused(behaviour: str, rule: float, cues: BehaviourCues) -> tuple[str, float]:
    entry = next(((p, t) for name, p, t in cues.head if name == behaviour), None)
    if entry is None:
        return behaviour, rule
    return behaviour, head_evidence(*entry)


@dataclass(frozen=True)
class PhotoResult:
    path: str
    truth: str
    decision: Decision
    cues: BehaviourCues | None  # None: no person found
    persons: int
    objects: tuple[tuple[str, float], ...]  # (label, score) of everything the cascade found
    ms: float


@dataclass(frozen=True)
class FramesReport:
    dataset: str
    results: tuple[PhotoResult, ...]

    @property
    def confusion(self) -> Confusion:
        return Confusion.from_pairs(self.classes, [(r.truth, r.decision.label) for r in self.results])

    @property
    def classes(self) -> tuple[str, ...]:
        """The decision's classes, and smoking when some photo is labelled so."""
        smoking = any(r.truth == "smoking" for r in self.results)
        return tuple(b for b in TRUTH_LABELS if b != "smoking" or smoking)


def main_person(persons: Sequence[Person]) -> Person | None:
    """The photo's subject: the largest person the cascade analysed in depth (has a pose), else the largest."""
    if not persons:
        return None
    analysed = [p for p in persons if p.pose is not None] or list(persons)
    return max(analysed, key=lambda p: p.box.area)


def evaluate_frames(photos: Sequence[LabelledPhoto], cascade, *, cue_settings: CueSettings = DEFAULT_CUE_SETTINGS,
                    name: str = "", heads=None) -> FramesReport:
    """`heads`: a counterwatch.learning.runtime.HeadScorer with window "photo" (None: rules only)."""
    from dataclasses import replace

    from cameras.frame import Frame

    results = []
    for index, photo in enumerate(photos):
        image = cv2.imread(str(photo.path))
        if image is None:
            raise ValueError(f"{photo.path}: not a readable image")
        started = time.perf_counter()
        observation = cascade.observe(Frame("photo", index, float(index), datetime.now(UTC), image))
        person = main_person(observation.persons)
        cues = person_cues(person, observation.objects, settings=cue_settings) if person is not None else None
        if cues is not None and heads is not None:
            cues = replace(cues, head=heads.score(PHOTO_WINDOW, image, person, observation.objects)[0])
        ms = (time.perf_counter() - started) * 1000.0
        decision = decide(cues)
        results.append(PhotoResult(str(photo.path), photo.truth, decision, cues, len(observation.persons),
                                   tuple((o.label, round(o.score, 3)) for o in observation.objects), ms))
        log.info("%d/%d %s: truth %s, decided %s (%.0f ms)", index + 1, len(photos), photo.path.name, photo.truth,
                 decision.label, ms)
    return FramesReport(name, tuple(results))


def summarise(report: FramesReport, *, per_image: bool = False) -> dict:
    confusion = report.confusion
    times = [r.ms for r in report.results]
    summary = {
        "dataset": report.dataset, "images": len(report.results),
        "decision_rule": {"threshold": DECISION_THRESHOLD, "call": CALL_EVIDENCE, "object_at_mouth": AT_MOUTH,
                          "food_only": FOOD_ONLY, "cup_only": CUP_ONLY, "head_down": HEAD_DOWN,
                          "eyes_closed": EYES_CLOSED, "eyes_closed_ear": EYES_CLOSED_EAR},
        "per_behaviour": {b: confusion.counts(b).as_dict() for b in report.classes},
        "macro_f1_behaviours": _r(confusion.macro_f1(report.classes[:-1])),
        "macro_f1_all": _r(confusion.macro_f1()), "accuracy": _r(confusion.accuracy),
        "confusion": {"classes": list(confusion.classes), "matrix": [list(row) for row in confusion.matrix]},
        "ms_per_image": {"mean": _r(float(np.mean(times))) if times else None,
                         "median": _r(float(np.median(times))) if times else None},
        "cue_rates": cue_rates(report),
    }
    if per_image:
        summary["per_image"] = [
            {"path": r.path, "truth": r.truth, "predicted": r.decision.label,
             "evidence": {b: _r(s) for b, s in r.decision.evidence}, "persons": r.persons,
             "cues": None if r.cues is None else {k: (_r(v) if isinstance(v, float) else v)
                                                  for k, v in asdict(r.cues).items()},
             "objects": [list(o) for o in r.objects], "ms": _r(r.ms)} for r in report.results]
    return summary


def cue_rates(report: FramesReport) -> dict:
    """How often each cue fired per true behaviour: which cue carries which class (and which misleads)."""
    rates: dict = {}
    for behaviour in report.classes:
        rows = [r for r in report.results if r.truth == behaviour]
        if not rows:
            continue
        with_cues = [r.cues for r in rows if r.cues is not None]
        rates[behaviour] = {
            "images": len(rows), "person_found": len(with_cues),
            "phone>=0.3": sum(c.phone >= 0.3 for c in with_cues), "call": sum(c.call for c in with_cues),
            "hand_to_mouth": sum(c.hand_to_mouth for c in with_cues), "food_near": sum(c.food_near for c in with_cues),
            "drink_near": sum(c.drink_near for c in with_cues), "head_down": sum(c.head_down for c in with_cues),
            "eyes_closed": sum(c.eye_aspect_ratio is not None and c.eye_aspect_ratio < EYES_CLOSED_EAR
                               for c in with_cues)}
    return rates


def format_summary(summary: dict) -> str:
    lines = [f"{summary['dataset']}: {summary['images']} images, {summary['ms_per_image']['mean']} ms/image; "
             f"macro-F1 (4 behaviours) {summary['macro_f1_behaviours']}, (with none) {summary['macro_f1_all']}, "
             f"accuracy {summary['accuracy']}",
             f"{'behaviour':12} {'precision':>9} {'recall':>7} {'F1':>6}   tp  fp  fn"]
    for behaviour, c in summary["per_behaviour"].items():
        lines.append(f"{behaviour:12} {_f(c['precision']):>9} {_f(c['recall']):>7} {_f(c['f1']):>6} "
                     f"{c['tp']:4d}{c['fp']:4d}{c['fn']:4d}")
    confusion = Confusion(tuple(summary["confusion"]["classes"]),
                          tuple(tuple(row) for row in summary["confusion"]["matrix"]))
    lines.append(confusion.format())
    lines.append("cue firing counts per true behaviour:")
    for behaviour, counts in summary["cue_rates"].items():
        lines.append(f"  {behaviour:10} " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return "\n".join(lines)


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)

