"""`counterwatch dataset import`: external labelled photo sets into the dataset format, to bootstrap the heads.

Two layouts:
- folders: SRC/<folder>/<photo>, each folder mapped to a label by a label map (`folders: {calling: phone_use}`,
  the format of configs/eval/har.yaml, read by counterwatch.evaluation.frames.load_label_map);
- yolo: SRC/images + SRC/labels (or split folders each holding both), a label map `classes: {1: phone_use, 0: none}`
  and optionally `names: {1: phone, 0: wallet}` for the object labels (else SRC/classes.txt, else the class id).
  The photo's label is the first mapped behaviour in BEHAVIOURS order among its boxes (as in `eval frames`); none
  when no box maps to a behaviour. The boxes become the sample's objects (score 1.0: they are ground truth).

External photos show no hall, so there is no citizen side to mask. Group: the file stem, or the first capture group
of `group_regex` on it (frames of one video sequence must share a group so cross-validation never splits them).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from counterwatch.dataset.annotate import Annotator
from counterwatch.dataset.format import Annotation, DatasetWriter, DetectedObject, safe_id
from counterwatch.evaluation.frames import BEHAVIOURS, IMAGE_SUFFIXES, list_photos, load_label_map

logger = logging.getLogger("counterwatch.dataset")


@dataclass(frozen=True)
class ImportReport:
    directory: Path
    imported: int
    unreadable: tuple[str, ...]
    counts: dict[str, int]


@dataclass(frozen=True)
class _Item:
    path: Path
    key: str  # the folder or split: part of the sample id, so equal stems in two folders stay distinct
    label: str
    objects: tuple[DetectedObject, ...] = ()


def _group(stem: str, group_regex: str | None) -> str:
    if group_regex:
        match = re.search(group_regex, stem)
        if match:
            return match.group(1) if match.groups() else match.group(0)
    return stem


def _read(path: Path) -> np.ndarray | None:
    data = np.fromfile(str(path), dtype=np.uint8)  # np.fromfile + imdecode: cv2.imread fails on non-ASCII paths
    return cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None


def _load_yaml(path: Path) -> dict:
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping")
    return data


def folder_items(src: Path, labels: Path) -> list[_Item]:
    return [_Item(p.path, p.folder, p.truth) for p in list_photos(src, load_label_map(labels))]


def yolo_items(src: Path, labels: Path) -> list[_Item]:
    data = _load_yaml(labels)
    classes = {int(k): str(v) for k, v in (data.get("classes") or {}).items()}
    bad = {k: v for k, v in classes.items() if v not in BEHAVIOURS}
    if not classes or bad:
        raise ValueError(f"{labels}: expected `classes: {{class id: behaviour}}` with behaviours in {BEHAVIOURS}"
                         + (f"; bad: {bad}" if bad else ""))
    names = {int(k): str(v) for k, v in (data.get("names") or {}).items()}
    if not names and (src / "classes.txt").exists():
        names = dict(enumerate(line.strip() for line in (src / "classes.txt").read_text().splitlines()))
    splits = [src] if (src / "images").is_dir() else sorted(p for p in src.iterdir() if (p / "images").is_dir())
    if not splits:
        raise ValueError(f"{src}: no images/ folder (YOLO layout) in it or in its sub-folders")
    items = []
    for split in splits:
        for path in sorted(p for p in (split / "images").iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
            label_file = split / "labels" / f"{path.stem}.txt"
            rows = [line.split() for line in label_file.read_text().splitlines() if line.strip()] \
                if label_file.exists() else []
            found = {classes[int(r[0])] for r in rows if int(r[0]) in classes}
            truth = next((b for b in BEHAVIOURS if b in found and b != "none"), "none")
            # Boxes stay normalised here; they become pixels once the image size is known (_objects_in_pixels).
            objects = tuple(DetectedObject(names.get(int(r[0]), str(r[0])), 1.0,
                                           tuple(float(v) for v in r[1:5]))  # type: ignore[arg-type]
                            for r in rows if len(r) >= 5)
            items.append(_Item(path, split.name, truth, objects))
    return items


def _objects_in_pixels(objects: tuple[DetectedObject, ...], width: int, height: int) -> tuple[DetectedObject, ...]:
    out = []
    for obj in objects:
        cx, cy, w, h = obj.box
        box = (round((cx - w / 2) * width, 1), round((cy - h / 2) * height, 1),
               round((cx + w / 2) * width, 1), round((cy + h / 2) * height, 1))
        out.append(DetectedObject(obj.label, obj.score, box))
    return tuple(out)


def import_dataset(src: Path, out: Path, *, fmt: str, labels: Path, source: str | None = None,
                   group_regex: str | None = None, detect: bool = True) -> ImportReport:
    """Append the labelled photos under `src` to the dataset at `out` (created if missing)."""
    if fmt not in ("folders", "yolo"):
        raise ValueError(f"format must be folders or yolo, got {fmt!r}")
    items = folder_items(src, labels) if fmt == "folders" else yolo_items(src, labels)
    name = source or src.name
    writer = DatasetWriter(out)
    unreadable: list[str] = []
    imported = 0
    with Annotator(None, detect=detect) as annotator:
        for item in items:
            image = _read(item.path)
            if image is None:
                unreadable.append(str(item.path))
                continue
            found = annotator.annotate(image, None, None)
            if item.objects:  # ground-truth boxes replace detected objects; the detected person and hands stay
                found = Annotation(found.person_box, found.hand_boxes,
                                   _objects_in_pixels(item.objects, image.shape[1], image.shape[0]))
            writer.add(safe_id(name, item.key, item.path.stem), image, label=item.label, source=name,
                       group=_group(item.path.stem, group_regex), annotation=found)
            imported += 1
    info = writer.close()
    for path in unreadable:
        logger.warning("%s: not a readable image: skipped", path)
    return ImportReport(out, imported, tuple(unreadable), info["counts"])
