"""Per-sample features for the behaviour heads, cached on disk.

A feature vector is four blocks (FEATURE_SPEC names them, the model card records it):
- `embedding`: the EfficientNet-Lite3 embedding (1280) of the person crop: the crop file if the export wrote one,
  else the person box cut from the image, else the main person the cascade found, else the whole image;
- `action`: the same embedding of the action region: the head, the hands and what they hold (from the pose and
  hand landmarks; the upper part of the person box without them), where phones, cups, food and cigarettes are;
- `geometry`: pose geometry in shoulder widths (head-down margin, wrist-to-mouth, wrist-to-ear) and the
  BehaviourCues of the main person, from running the perception cascade on the image;
- `objects`: object scores near the hands (phone, cup/bottle, food) from the cascade's detections.
Training also reads `embedding_flip` and `action_flip` (the mirrored crops) as extra rows: a left-handed phone
call is still a call. Running the cascade costs ~150-300 ms an image, so each sample's blocks are cached in an npz
keyed by sample id and the image's sha256: retraining, CV and promotion re-read them in milliseconds.
"""
from __future__ import annotations

import hashlib
import json
import math
import pickle
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from counterwatch.behaviours import HEAD_BEHAVIOURS

if TYPE_CHECKING:
    from counterwatch.perception import LoadedModels
    from vision.cascade import PerceptionCascade
    from vision.observation import Person

BEHAVIOURS = HEAD_BEHAVIOURS  # the behaviours a head is trained for
EMBEDDING_DIM = 1280
GEOMETRY_NAMES = ("person_found", "pose_found", "head_down_margin", "wrist_mouth", "wrist_ear", "phone_cue",
                  "call", "hand_to_mouth", "food_near", "drink_near", "head_down", "eye_aspect_ratio",
                  "eyes_measured", "head_pitch")
OBJECT_NAMES = ("phone_near_hand", "drink_near_hand", "food_near_hand", "phone_any", "drink_any", "food_any")
# Bump when a block's meaning changes: old cache files then miss instead of feeding stale features.
FEATURE_VERSION = 4  # 3: YOLOX person detector, the action-region embedding, mirrored crops for training;
# 4: people confirmed by YOLOX and the SSD on the window crop, a labelled person box analysed in context
BLOCKS = ("embedding", "action", "geometry", "objects")  # the order of a feature row
FEATURE_SPEC = {"version": FEATURE_VERSION, "blocks": list(BLOCKS),
                "embedding": {"model": "efficientnet_lite3", "dim": EMBEDDING_DIM,
                              "input": "crop file | person_box | main person | whole image"},
                "action": {"model": "efficientnet_lite3", "dim": EMBEDDING_DIM,
                           "input": "head + hands region of the main person (pose, hand landmarks)"},
                "geometry": list(GEOMETRY_NAMES), "objects": list(OBJECT_NAMES)}
PERSON_MARGIN = 0.1  # the person crop embedded: the box grown by this fraction of its size on each side
CONTEXT_MARGIN = 0.5  # a labelled person box is analysed in this much context, as at a window
_FAR = 3.0  # distances (shoulder widths) are clipped here; an unseen wrist or mouth counts as far


@dataclass(frozen=True)
class Sample:
    """One manifest row (paths resolved); `rules` is filled by the extractor, not read from the manifest."""

    sample_id: str
    image: Path
    label: str
    source: str = ""
    group: str = ""
    camera: str = ""
    negative_for: tuple[str, ...] = ()
    person_box: tuple[float, float, float, float] | None = None
    crop: Path | None = None
    extra: dict = field(default_factory=dict, compare=False, repr=False)
    heads: tuple[str, ...] = ()  # the behaviours whose heads may learn from this sample (empty: all)

    def teaches(self, behaviour: str) -> bool:
        return not self.heads or behaviour in self.heads

    @property
    def fold_group(self) -> str:
        """The CV unit: the incident or source sequence; without one, the camera (never leak a camera's day)."""
        return self.group or (f"camera:{self.camera}" if self.camera else self.sample_id)


@dataclass(frozen=True)
class Dataset:
    root: Path | None
    samples: tuple[Sample, ...]
    info: dict

    @property
    def config_hash(self) -> str:
        return str(self.info.get("config_hash", ""))


def load_dataset(root: Path) -> Dataset:
    """DIR/manifest.jsonl (+ DIR/dataset.json when present)."""
    manifest = root / "manifest.jsonl"
    if not manifest.is_file():
        raise ValueError(f"{root}: no manifest.jsonl (not a dataset export)")
    samples = []
    for number, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            box = row.get("person_box")
            samples.append(Sample(
                sample_id=str(row["sample_id"]), image=root / row["image"], label=str(row["label"]),
                source=str(row.get("source") or ""), group=str(row.get("group") or ""),
                camera=str(row.get("camera") or ""), negative_for=tuple(row.get("negative_for") or ()),
                person_box=tuple(float(v) for v in box) if box else None,  # type: ignore[arg-type]
                crop=root / row["crop"] if row.get("crop") else None, extra=row))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{manifest}:{number}: bad row: {exc}") from None
    info_path = root / "dataset.json"
    info = json.loads(info_path.read_text(encoding="utf-8")) if info_path.is_file() else {}
    return Dataset(root, tuple(samples), info)


def counts(samples: Iterable[Sample]) -> dict:
    """Per class and per source counts for the model card."""
    by_label: dict[str, int] = {}
    by_source: dict[str, dict[str, int]] = {}
    for s in samples:
        by_label[s.label] = by_label.get(s.label, 0) + 1
        per = by_source.setdefault(s.source or "unknown", {})
        per[s.label] = per.get(s.label, 0) + 1
    return {"per_class": dict(sorted(by_label.items())), "per_source": dict(sorted(by_source.items()))}


def file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class FeatureExtractor:
    """Loads EfficientNet-Lite3 and the cascade models lazily (once) and computes or reads cached features.

    Use as a context manager so the native runtimes are released."""

    def __init__(self, cache_dir: Path | None) -> None:
        self.cache_dir = cache_dir
        self._embedder = None
        self._models: LoadedModels | None = None
        self._cascade: PerceptionCascade | None = None

    def __enter__(self) -> FeatureExtractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._models is not None:
            self._models.close()
            self._models = None
        if self._embedder is not None and hasattr(self._embedder, "close"):
            self._embedder.close()
        self._embedder = None

    @property
    def embedder(self):
        if self._embedder is None:
            from models import load_manifests, load_model

            self._embedder = load_model("efficientnet_lite3", load_manifests())
        return self._embedder

    @property
    def cascade(self):
        if self._cascade is None:
            from counterwatch.perception import build_cascade, load_models

            self._models = load_models(None)
            self._cascade = build_cascade(None, None, self._models)
        return self._cascade

    # -- one sample -------------------------------------------------------------------------------------------
    def sample_blocks(self, sample: Sample) -> dict[str, np.ndarray]:
        """BLOCKS, the mirrored embeddings and 'rules' of a sample. The expensive part (cascade, embeddings) is
        cached per image; the cheap part (geometry, cues, objects) is derived from the cached person and objects
        with the current code, so a change of the cues needs no new extraction."""
        raw, person, objects = self._raw(sample)
        return {**raw, **derived_blocks(person, objects)}

    def sample_cues(self, sample: Sample):
        """The main person's BehaviourCues (None: no person), from the cached cascade run."""
        from vision.cues import person_cues

        _, person, objects = self._raw(sample)
        return person_cues(person, objects) if person is not None else None

    def _raw(self, sample: Sample) -> tuple[dict[str, np.ndarray], Person | None, tuple]:
        """(embeddings, person, objects) of a sample: from the cache, or computed and cached."""
        cache = None
        if self.cache_dir is not None:
            cache = self.cache_dir / f"{cache_key(sample)}.npz"
            if cache.is_file():
                with np.load(cache) as data:
                    raw = {k: data[k] for k in data.files}
                person, objects = pickle.loads(raw.pop("observation").tobytes())
                return raw, person, objects
        image = cv2.imread(str(sample.image))
        if image is None:
            raise ValueError(f"{sample.image}: not a readable image")
        crop_image = cv2.imread(str(sample.crop)) if sample.crop is not None and sample.crop.is_file() else None
        box: Sequence[float] | None = sample.person_box
        if box is not None:  # what the cascade sees at a window: the person and some context, not the whole frame
            image, box = context(image, box, CONTEXT_MARGIN)
        person, objects = self.observe(image, box)
        raw = self.embeddings(image, box, person, crop_image=crop_image, mirrored=True)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(".tmp.npz")
            observation = np.frombuffer(pickle.dumps((person, objects)), dtype=np.uint8)
            np.savez(tmp, observation=observation, **raw)
            tmp.replace(cache)  # atomic: a killed run never leaves a truncated cache file
        return raw, person, objects

    def observe(self, image: np.ndarray, person_box: Sequence[float] | None) -> tuple[Person | None, tuple]:
        """(the person the sample is about, the objects) from one cascade run on the whole image."""
        from cameras.frame import Frame
        from counterwatch.evaluation.frames import main_person

        observation = self.cascade.observe(Frame("learning", 0, 0.0, datetime.now(UTC), image))
        person = _pick_person(observation.persons, person_box) or main_person(observation.persons)
        return person, tuple(observation.objects)

    def embeddings(self, image: np.ndarray, person_box: Sequence[float] | None, person, *,
                   crop_image: np.ndarray | None = None, mirrored: bool = False) -> dict[str, np.ndarray]:
        """'embedding' and 'action' (and their mirrored twins when `mirrored`)."""
        if crop_image is not None:
            crop = crop_image
        elif person_box is not None or person is not None:
            box = person_box if person_box is not None else _xyxy(person.box)
            crop = cut(image, _grown(box, PERSON_MARGIN))
        else:
            crop = image
        action = cut(image, action_region(person, image.shape[1], image.shape[0])) if person is not None else crop
        out = {"embedding": self._embed(crop), "action": self._embed(action)}
        if mirrored:
            out["embedding_flip"] = self._embed(cv2.flip(crop, 1))
            out["action_flip"] = self._embed(cv2.flip(action, 1))
        return out

    def _embed(self, image: np.ndarray) -> np.ndarray:
        return np.asarray(self.embedder.embed(np.ascontiguousarray(image)), dtype=np.float32).reshape(-1)

    def image_blocks(self, image: np.ndarray, person_box: Sequence[float] | None, *,
                     crop_image: np.ndarray | None = None, person=None, objects=None) -> dict[str, np.ndarray]:
        """Features of one image. `person`/`objects` (a cascade Person and its Detections) skip the cascade run
        when the caller already has them (the runtime does)."""
        if person is None and objects is None:
            person, objects = self.observe(image, person_box)
        objects = tuple(objects or ())
        return {**self.embeddings(image, person_box, person, crop_image=crop_image),
                **derived_blocks(person, objects)}

    def matrix(self, samples: Sequence[Sample], *, mirrored: bool = False,
               progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(features (n, d) float32, rules decisions (n,) as behaviour names' indices) for all samples;
        `mirrored`: the rows of the mirrored crops (training augmentation)."""
        from tqdm import tqdm

        rows, rules = [], []
        for sample in tqdm(samples, desc="features", unit="img", disable=not progress):
            blocks = self.sample_blocks(sample)
            rows.append(feature_row(blocks, mirrored=mirrored))
            rules.append(int(blocks["rules"][0]))
        return np.vstack(rows).astype(np.float32), np.asarray(rules, dtype=np.int64)


def block_columns(names: Sequence[str]) -> list[int]:
    """Column indices of the named blocks in a feature row."""
    sizes = {"embedding": EMBEDDING_DIM, "action": EMBEDDING_DIM, "geometry": len(GEOMETRY_NAMES),
             "objects": len(OBJECT_NAMES)}
    unknown = sorted(set(names) - set(sizes))
    if unknown:
        raise ValueError(f"unknown feature block(s) {unknown}; blocks are {list(BLOCKS)}")
    columns: list[int] = []
    start = 0
    for block in BLOCKS:
        if block in names:
            columns.extend(range(start, start + sizes[block]))
        start += sizes[block]
    return columns


def cache_key(sample: Sample) -> str:
    """The cache file's name: what the features depend on (the image bytes, the person box, the crop file and the
    feature version), not the sample's id, so every dataset holding the same photo shares one entry."""
    crop = file_sha(sample.crop) if sample.crop is not None and sample.crop.is_file() else ""
    return hashlib.sha256(f"{file_sha(sample.image)}|{sample.person_box}|{crop}|{FEATURE_VERSION}".encode()
                          ).hexdigest()[:32]


def feature_row(blocks: dict[str, np.ndarray], *, mirrored: bool = False) -> np.ndarray:
    """One row in BLOCKS order; `mirrored` takes the mirrored embeddings (training augmentation)."""
    names = [f"{b}_flip" if mirrored and b in ("embedding", "action") else b for b in BLOCKS]
    return np.concatenate([np.asarray(blocks[name], dtype=np.float32).reshape(-1) for name in names])


def derived_blocks(person, objects: Sequence) -> dict[str, np.ndarray]:
    """'geometry', 'objects' and 'rules' (the per-frame rules decision) from a cascade person and objects."""
    from counterwatch.evaluation.frames import BEHAVIOURS as DECISIONS, decide
    from vision.cues import person_cues

    objects = tuple(objects or ())
    cues = person_cues(person, objects) if person is not None else None
    return {"geometry": geometry(person, cues), "objects": object_scores(person, objects),
            "rules": np.array([DECISIONS.index(decide(cues).label)], dtype=np.int64)}


def action_region(person, width: int, height: int):
    """The head and hands of a person and a margin for what they hold: the box around the head keypoints, wrists
    and hand landmarks grown by half a body scale; without them the upper 60% of the person box."""
    from models.types import Box
    from vision.cues import body_frame

    body = body_frame(person)
    points = list(body.hands) + list(body.ears) + [p for p in (body.nose, body.mouth) if p is not None]
    box = person.box
    if len(points) >= 2:
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        margin = 0.5 * body.scale
        region = Box(min(xs) - margin, min(ys) - margin, max(xs) + margin, max(ys) + margin)
    else:
        region = Box(box.x1, box.y1, box.x2, box.y1 + 0.6 * box.height)
    return _xyxy(region.clip(width, height))


def _xyxy(box) -> tuple[float, float, float, float]:
    return (box.x1, box.y1, box.x2, box.y2)


def _grown(box: Sequence[float], fraction: float) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = box
    dx, dy = (x2 - x1) * fraction, (y2 - y1) * fraction
    return (x1 - dx, y1 - dy, x2 + dx, y2 + dy)


def context(image: np.ndarray, box: Sequence[float], margin: float) -> tuple[np.ndarray, tuple[float, ...]]:
    """The part of a frame around a person box (grown by `margin` of its size each side) and the box in it."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = _grown(box, margin)
    x1, y1, x2, y2 = max(0, int(x1)), max(0, int(y1)), min(w, int(np.ceil(x2))), min(h, int(np.ceil(y2)))
    if x2 - x1 < 8 or y2 - y1 < 8:
        return image, tuple(box)
    return image[y1:y2, x1:x2], (box[0] - x1, box[1] - y1, box[2] - x1, box[3] - y1)


def cut(image: np.ndarray, box: Sequence[float] | None) -> np.ndarray:
    """The person box (clipped to the image) or the whole image when there is none or it is degenerate."""
    if box is None:
        return image
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
    return image[y1:y2, x1:x2] if x2 - x1 >= 8 and y2 - y1 >= 8 else image


def _pick_person(persons: Sequence, box: Sequence[float] | None):
    """The cascade person overlapping the labelled box most (the export names whom the label is about)."""
    if box is None or not persons:
        return None
    from models.types import Box

    target = Box(*box)
    best = max(persons, key=lambda p: p.box.intersection(target))
    return best if best.box.intersection(target) > 0 else None


def geometry(person, cues) -> np.ndarray:
    """GEOMETRY_NAMES: distances in shoulder widths, clipped; unmeasured values take neutral defaults plus a flag,
    so a linear head can tell 'far' from 'not seen'."""
    out = np.zeros(len(GEOMETRY_NAMES), dtype=np.float32)
    out[2:5] = (0.0, _FAR, _FAR)
    out[11] = 0.3  # an open eye's aspect ratio: the neutral value when no face was measured
    if person is None or cues is None:
        return out
    from vision.cues import body_frame

    body = body_frame(person)
    out[0] = 1.0
    out[1] = 1.0 if person.pose is not None else 0.0
    if body.shoulder_y is not None and body.nose is not None:
        out[2] = np.clip((body.shoulder_y - body.nose[1]) / body.scale, -_FAR, _FAR)
    if body.hands and body.mouth is not None:
        out[3] = min(_FAR, min(math.dist(h, body.mouth) for h in body.hands) / body.scale)
    if body.hands and body.ears:
        out[4] = min(_FAR, min(math.dist(h, e) for h in body.hands for e in body.ears) / body.scale)
    out[5] = cues.phone
    out[6:11] = (cues.call, cues.hand_to_mouth, cues.food_near, cues.drink_near, cues.head_down)
    if cues.eye_aspect_ratio is not None:
        out[11], out[12] = cues.eye_aspect_ratio, 1.0
    out[13] = (cues.head_pitch_deg or 0.0) / 90.0
    return out


def object_scores(person, objects: Sequence) -> np.ndarray:
    """OBJECT_NAMES: best detector score per object kind within reach of a hand (1 shoulder width), and anywhere
    on the person (a phone at the ear often hides the wrist)."""
    from vision.cues import DRINK_LABELS, FOOD_LABELS, PHONE_LABELS, body_frame, box_distance

    kinds = (PHONE_LABELS, DRINK_LABELS, FOOD_LABELS)
    out = np.zeros(len(OBJECT_NAMES), dtype=np.float32)
    body = body_frame(person) if person is not None else None
    for obj in objects:
        for i, labels in enumerate(kinds):
            if obj.label not in labels:
                continue
            if person is None or person.box.intersection(obj.box) > 0:
                out[3 + i] = max(out[3 + i], obj.score)
            if body is not None and body.hands and \
                    min(box_distance(obj.box, x, y) for x, y in body.hands) <= body.scale:
                out[i] = max(out[i], obj.score)
    return out
