"""The on-disk dataset the head trainer reads: manifest.jsonl, dataset.json, images/, crops/, labels/.

Layout (kept exactly; another engineer's trainer parses it):
  DIR/manifest.jsonl            one Sample per line
  DIR/dataset.json              {"version": 1, "created_at", "since", "counts", "sources", "config_hash"}
  DIR/images/<label>/<id>.jpg   folder-per-class images
  DIR/crops/<id>.jpg            the person crop, where a person was found
  DIR/labels/<id>.txt           YOLO boxes (class cx cy w h, normalised) where objects were detected
  DIR/classes.txt               the YOLO class names, one per line; line n is class id n

Writes merge: an existing dataset is read first and a sample with the same id is replaced, so re-running an export
or an import is idempotent and several imports append to one dataset. YOLO class ids only ever grow (new names are
appended to classes.txt) so label files written earlier stay valid.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from counterwatch.incidents.media import encode_snapshot, write_bytes_atomic
from vision.cues import PHONE_CLASSIFIER_LABEL

FORMAT_VERSION = 1
MANIFEST = "manifest.jsonl"
DATASET_JSON = "dataset.json"
CLASSES_TXT = "classes.txt"

BoxList = tuple[float, float, float, float]
# Detections whose box is not an object's outline: the hand-crop phone classifier scores a crop around a hand.
NOT_BOXES = frozenset({PHONE_CLASSIFIER_LABEL})


@dataclass(frozen=True)
class DetectedObject:
    label: str
    score: float
    box: BoxList


@dataclass(frozen=True)
class Sample:
    """One manifest line. Paths are relative to the dataset directory; `group` keeps correlated images (one
    incident, one source sequence) on one side of a cross-validation split."""

    sample_id: str
    image: str
    label: str
    source: str
    group: str
    negative_for: tuple[str, ...] = ()
    window: str | None = None
    camera: str | None = None
    time: str | None = None
    review_id: int | None = None
    person_box: BoxList | None = None
    hand_boxes: tuple[BoxList, ...] = ()
    objects: tuple[DetectedObject, ...] = ()
    crop: str | None = None
    label_id: int | None = None  # the label_samples row a supervisor labelled (labelling queue); None otherwise

    def to_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["negative_for"] = list(self.negative_for)
        document["person_box"] = list(self.person_box) if self.person_box is not None else None
        document["hand_boxes"] = [list(b) for b in self.hand_boxes]
        document["objects"] = [{"label": o.label, "score": o.score, "box": list(o.box)} for o in self.objects]
        return document

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Sample:
        person = document.get("person_box")
        return cls(
            sample_id=document["sample_id"], image=document["image"], label=document["label"],
            source=document["source"], group=document["group"],
            negative_for=tuple(document.get("negative_for") or ()), window=document.get("window"),
            camera=document.get("camera"), time=document.get("time"), review_id=document.get("review_id"),
            person_box=tuple(person) if person is not None else None,
            hand_boxes=tuple(tuple(b) for b in document.get("hand_boxes") or ()),
            objects=tuple(DetectedObject(o["label"], float(o["score"]), tuple(o["box"]))
                          for o in document.get("objects") or ()),
            crop=document.get("crop"), label_id=document.get("label_id"))


@dataclass(frozen=True)
class Annotation:
    """What the offline cascade found on an image, in its pixels (empty when detection was skipped)."""

    person_box: BoxList | None = None
    hand_boxes: tuple[BoxList, ...] = ()
    objects: tuple[DetectedObject, ...] = ()


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_id(*parts: str) -> str:
    """A file-name-safe sample id from its parts. Unsafe characters (CJK file names, spaces) are replaced, and a
    short hash of the original keeps two names that differ only there distinct."""
    raw = "-".join(parts)
    cleaned = _SAFE.sub("_", raw).strip("._-") or "sample"
    if cleaned != raw:
        cleaned += "-" + hashlib.sha1(raw.encode("utf-8")).hexdigest()[:8]
    return cleaned


def read_manifest(directory: Path) -> list[Sample]:
    path = directory / MANIFEST
    if not path.exists():
        return []
    return [Sample.from_json(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def read_dataset_info(directory: Path) -> dict[str, Any]:
    path = directory / DATASET_JSON
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, data)


def crop_box(image: np.ndarray, box: BoxList) -> np.ndarray | None:
    height, width = image.shape[:2]
    x1, y1 = max(0, int(box[0])), max(0, int(box[1]))
    x2, y2 = min(width, int(round(box[2]))), min(height, int(round(box[3])))
    if x2 - x1 < 2 or y2 - y1 < 2:
        return None
    return np.ascontiguousarray(image[y1:y2, x1:x2])


@dataclass
class DatasetWriter:
    """Adds samples to a dataset directory; `close()` writes the merged manifest and dataset.json.

    Mutable on purpose (it accumulates); the samples it produces are frozen.
    """

    directory: Path
    since: str | None = None
    config_hash: str | None = None
    _samples: dict[str, Sample] = field(default_factory=dict)
    _classes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._samples = {s.sample_id: s for s in read_manifest(self.directory)}
        classes = self.directory / CLASSES_TXT
        if classes.exists():
            self._classes = [c for c in classes.read_text(encoding="utf-8").splitlines() if c.strip()]
        info = read_dataset_info(self.directory)
        # An import into an exported dataset keeps the export's provenance unless it brings its own.
        self.since = self.since if self.since is not None else info.get("since")
        self.config_hash = self.config_hash if self.config_hash is not None else info.get("config_hash")

    def add(self, sample_id: str, image: np.ndarray, *, label: str, source: str, group: str,
            annotation: Annotation = Annotation(), negative_for: tuple[str, ...] = (), window: str | None = None,
            camera: str | None = None, time: datetime | None = None, review_id: int | None = None,
            label_id: int | None = None) -> Sample:
        """Write the image (already privacy-masked: the writer never sees raw camera frames), its person crop and
        YOLO boxes. Encoded like evidence snapshots (JPEG q90, 4:4:4) so a masked area stays flat."""
        old = self._samples.pop(sample_id, None)
        if old is not None:  # a relabelled sample must not leave its image in the old class folder
            self._remove_files(old)
        relative_image = f"images/{label}/{sample_id}.jpg"
        _write(self.directory / relative_image, encode_snapshot(image))
        crop = None
        if annotation.person_box is not None:
            pixels = crop_box(image, annotation.person_box)
            if pixels is not None:
                crop = f"crops/{sample_id}.jpg"
                _write(self.directory / crop, encode_snapshot(pixels))
        if annotation.objects:
            self._write_yolo(sample_id, image.shape[1], image.shape[0], annotation.objects)
        sample = Sample(sample_id=sample_id, image=relative_image, label=label, source=source, group=group,
                        negative_for=tuple(negative_for), window=window, camera=camera,
                        time=time.astimezone(UTC).isoformat() if time is not None else None,
                        review_id=review_id, person_box=annotation.person_box, hand_boxes=annotation.hand_boxes,
                        objects=annotation.objects, crop=crop, label_id=label_id)
        self._samples[sample_id] = sample
        return sample

    def discard(self, sample_id: str) -> bool:
        """Take a sample (and its files) out of the dataset; False if it was not there."""
        old = self._samples.pop(sample_id, None)
        if old is not None:
            self._remove_files(old)
        return old is not None

    def _remove_files(self, sample: Sample) -> None:
        for relative in (sample.image, sample.crop, f"labels/{sample.sample_id}.txt"):
            if relative:
                (self.directory / relative).unlink(missing_ok=True)

    def _write_yolo(self, sample_id: str, width: int, height: int, objects: tuple[DetectedObject, ...]) -> None:
        lines = []
        for obj in objects:
            if obj.label in NOT_BOXES:
                continue  # kept in the manifest (a head feature), never a detector training box
            if obj.label not in self._classes:
                self._classes.append(obj.label)
            x1, y1, x2, y2 = obj.box
            lines.append(f"{self._classes.index(obj.label)} {(x1 + x2) / 2 / width:.6f} {(y1 + y2) / 2 / height:.6f} "
                         f"{(x2 - x1) / width:.6f} {(y2 - y1) / height:.6f}")
        _write(self.directory / "labels" / f"{sample_id}.txt", ("\n".join(lines) + "\n").encode())

    def samples(self) -> tuple[Sample, ...]:
        return tuple(sorted(self._samples.values(), key=lambda s: s.sample_id))

    def close(self) -> dict[str, Any]:
        samples = self.samples()
        manifest = "".join(json.dumps(s.to_json(), ensure_ascii=False) + "\n" for s in samples)
        _write(self.directory / MANIFEST, manifest.encode("utf-8"))
        if self._classes:
            _write(self.directory / CLASSES_TXT, ("\n".join(self._classes) + "\n").encode("utf-8"))
        info = {"version": FORMAT_VERSION, "created_at": datetime.now(UTC).isoformat(),
                "since": self.since, "counts": dict(sorted(Counter(s.label for s in samples).items())),
                "sources": dict(sorted(Counter(s.source for s in samples).items())), "config_hash": self.config_hash}
        _write(self.directory / DATASET_JSON,
                           (json.dumps(info, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
        return info
