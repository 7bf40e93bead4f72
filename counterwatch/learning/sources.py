"""Labelled photo sources for training and measuring behaviour heads, described by a recipe file.

A recipe (configs/heads/*.yaml) names each source once: where it lies under a data root passed on the command line
(public data never enters the repository), its layout and how its labels map to behaviours:

    sources:
      har_full:
        folders: train/har_full              # folder per class
        labels: {calling: phone_use, eating: eating, sitting: none, ...}
        role: train                          # train | eval (measured, never trained on) | negatives
      phones_handheld:
        yolo: dev/phones_handheld            # YOLO images/ + labels/ (in split sub-folders or not)
        classes: {1: phone_use, 0: none, 2: none}
        frames_per_group: 20                 # neighbouring video frames share a CV group
        role: train

`role: negatives` marks a source whose photos are all `none` for the heads (e.g. staff at desks on CCTV): it is only
measured, as a false-alarm rate. Every sample keeps the source name, so leave-one-source-out and the adaptation curve
can hold a whole source out.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, ValidationError, model_validator

from counterwatch.config.base import Strict
from counterwatch.learning.features import BEHAVIOURS, Sample

LABELS = (*BEHAVIOURS, "none")
_FRAME = re.compile(r"(.*?)(\d+)_(?:png|jpg|jpeg)\.rf\.")


class Source(Strict):
    folders: str | None = Field(default=None, description="Folder-per-class photos, relative to the data root.")
    labels: dict[str, str] = Field(default_factory=dict, description="Folder name -> behaviour or none.")
    yolo: str | None = Field(default=None, description="YOLO layout (images/, labels/), relative to the data root.")
    classes: dict[int, str] = Field(default_factory=dict, description="YOLO class id -> behaviour or none.")
    frames_per_group: int = Field(default=1, ge=1, le=10000, description="YOLO sets cut from videos: this many "
                                  "consecutive frame numbers form one CV group.")
    crops: bool = Field(default=False, description="YOLO only: every box of a mapped class is one sample, the "
                        "person in that box (e.g. staff at desks on CCTV), instead of one sample per image.")
    min_box_px: int = Field(default=0, ge=0, le=4096, description="With crops: boxes shorter than this are left out.")
    max_samples: int | None = Field(default=None, ge=1, description="Take this many evenly spaced samples of the "
                                    "source at most (a source of near-duplicate video frames says little more "
                                    "with all of them).")
    heads: tuple[str, ...] = Field(default=(), description="Behaviours whose heads learn from this source (empty: "
                                   "all); e.g. staff at desks are clean negatives of eating but maybe not of phones.")
    role: Literal["train", "eval", "negatives"] = Field(default="train", description="train: heads learn from it; "
                                                        "eval: only measured; negatives: only measured, all none.")
    licence: str = Field(default="", description="The data's licence, copied onto the model card.")
    attribution: str = Field(default="", description="The attribution line the licence asks for, copied onto the "
                             "card of every head trained on it.")

    @model_validator(mode="after")
    def _one_layout(self) -> Source:
        if (self.folders is None) == (self.yolo is None):
            raise ValueError("give exactly one of `folders` and `yolo`")
        if self.crops and self.yolo is None:
            raise ValueError("`crops` needs a `yolo` layout (the boxes to crop)")
        unknown_heads = sorted(set(self.heads) - set(BEHAVIOURS))
        if unknown_heads:
            raise ValueError(f"unknown head(s) {unknown_heads}; heads exist for {', '.join(BEHAVIOURS)}")
        mapping = self.labels if self.folders is not None else self.classes
        if not mapping and self.role != "negatives":
            raise ValueError("`labels` (folders) or `classes` (yolo) must map at least one class")
        unknown = sorted({v for v in mapping.values() if v not in LABELS})
        if unknown:
            raise ValueError(f"unknown label(s) {unknown}; use some of {', '.join(LABELS)}")
        return self


class Recipe(Strict):
    sources: dict[str, Source] = Field(min_length=1, description="Source name -> where and how it is labelled.")


def load_recipe(path: Path) -> Recipe:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
        return Recipe.model_validate(data)
    except (OSError, YAMLError) as exc:
        raise ValueError(f"{path}: cannot read the recipe: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"{path}: {problems}") from None


def provenance(recipe: Recipe, roles: tuple[str, ...] = ("train",)) -> dict[str, dict[str, str]]:
    """Source name -> {layout path, licence, attribution} of the chosen roles: what a model card must carry."""
    return {name: {"path": source.folders or str(source.yolo), "licence": source.licence,
                   "attribution": source.attribution}
            for name, source in recipe.sources.items() if source.role in roles}


def recipe_samples(recipe: Recipe, data_root: Path, *, roles: tuple[str, ...] = ("train", "eval", "negatives"),
                   limit: int | None = None) -> list[Sample]:
    """Every photo of the chosen roles' sources as a Sample (label, source name, CV group)."""
    samples: list[Sample] = []
    for name, source in recipe.sources.items():
        if source.role in roles:
            found = source_samples(name, source, data_root, limit=limit)
            if source.max_samples is not None and len(found) > source.max_samples:
                found = [found[i] for i in np.linspace(0, len(found) - 1, source.max_samples).round().astype(int)]
            samples.extend(found)
    return samples


def source_samples(name: str, source: Source, data_root: Path, *, limit: int | None = None) -> list[Sample]:
    from counterwatch.evaluation.frames import LabelMap, list_photos, list_yolo_photos

    if source.folders is not None:
        root = data_root / source.folders
        if not root.is_dir():
            raise ValueError(f"source {name}: {root} is not a directory (check --data and the recipe)")
        label_map = LabelMap(tuple(source.labels.items()))
        photos = list_photos(root, label_map, limit_per_folder=limit)
        return [Sample(f"{name}/{p.folder}/{p.path.stem}", p.path, _label(p.truth, source), source=name,
                       group=f"{name}/{p.folder}/{p.path.name}", camera=name, extra={"folder": p.folder},
                       heads=source.heads) for p in photos]
    root = data_root / str(source.yolo)
    if not root.is_dir():
        raise ValueError(f"source {name}: {root} is not a directory (check --data and the recipe)")
    if source.crops:
        return _box_samples(name, source, root, limit)
    samples = []
    for p in list_yolo_photos(root, source.classes, limit=limit):
        match = _FRAME.match(p.path.name)
        group = f"{match.group(1)}{int(match.group(2)) // source.frames_per_group}" if match else p.path.stem
        samples.append(Sample(f"{name}/{p.folder}/{p.path.stem}", p.path, _label(p.truth, source), source=name,
                              group=f"{name}/{group}", camera=name, extra={"folder": p.folder}, heads=source.heads))
    return samples


def _box_samples(name: str, source: Source, root: Path, limit: int | None) -> list[Sample]:
    """One sample per labelled box of a mapped class: the person in it, with the image's camera (from the file
    name, see _camera) as the CV group."""
    from PIL import Image

    splits = [root] if (root / "images").is_dir() else sorted(p for p in root.iterdir() if (p / "images").is_dir())
    samples = []
    for split in splits:
        for path in sorted((split / "images").iterdir()):
            labels = split / "labels" / (path.stem + ".txt")
            if not labels.is_file():
                continue
            with Image.open(path) as image:
                width, height = image.size
            for number, line in enumerate(labels.read_text().splitlines()):
                parts = line.split()
                if len(parts) != 5 or int(parts[0]) not in source.classes:
                    continue
                cx, cy, w, h = (float(v) for v in parts[1:])
                box = ((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height)
                if box[3] - box[1] < source.min_box_px:
                    continue
                camera = _camera(path.name)
                samples.append(Sample(f"{name}/{split.name}/{path.stem}/{number}", path,
                                      _label(source.classes[int(parts[0])], source), source=name,
                                      group=f"{name}/camera-{camera}", camera=f"{name}-{camera}",
                                      person_box=box, extra={"folder": split.name}, heads=source.heads))
    if limit is not None and 0 < limit < len(samples):
        samples = [samples[i] for i in np.linspace(0, len(samples) - 1, limit).round().astype(int)]
    return samples


def _camera(name: str) -> str:
    """'3-41-_jpg.rf...' -> '3'; 'frame_27750_jpg.rf...' -> 'frame' (one video's frames); else the file stem."""
    match = re.match(r"^(\d+)[-_]", name) or re.match(r"^([A-Za-z]+)_\d", name)
    return match.group(1) if match else Path(name).stem


def _label(truth: str, source: Source) -> str:
    return "none" if source.role == "negatives" else truth
