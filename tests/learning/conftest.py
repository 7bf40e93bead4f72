"""Tiny real datasets for the learning tests: skimage photos and rendered variants, written in the export format.

The astronaut (a person) and its variants are the positives of one behaviour; photos without a person (coffee, cat,
rocket) are the negatives. Each base photo's variants share a group, as frames of one incident do.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

BEHAVIOUR = "sleeping"


def _variants(image: np.ndarray, count: int, offset: int) -> list[np.ndarray]:
    """Flips, crops, rotations and brightness changes: different pixels, same content."""
    h, w = image.shape[:2]
    out = []
    for i in range(offset, offset + count):
        v = image[int(h * 0.03 * (i % 4)): h - int(h * 0.02 * (i % 3)), int(w * 0.03 * (i % 3)): w]
        if i % 2:
            v = cv2.flip(v, 1)
        m = cv2.getRotationMatrix2D((v.shape[1] / 2, v.shape[0] / 2), (i % 5 - 2) * 3.0, 1.0)
        v = cv2.warpAffine(v, m, (v.shape[1], v.shape[0]), borderMode=cv2.BORDER_REFLECT)
        out.append(cv2.convertScaleAbs(v, alpha=0.85 + 0.06 * (i % 5), beta=0))
    return out


def _bases() -> dict[str, tuple[np.ndarray, bool]]:
    from skimage import data

    def bgr(rgb: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)

    return {"astronaut": (bgr(data.astronaut()), True), "coffee": (bgr(data.coffee()), False),
            "chelsea": (bgr(data.chelsea()), False), "rocket": (bgr(data.rocket()), False)}


def write_dataset(root: Path, *, per_base: int = 6, offset: int = 0, flip_labels: bool = False,
                  groups_per_base: int = 3) -> Path:
    """DIR/manifest.jsonl + images/ + dataset.json. Positives: astronaut variants in `groups_per_base` groups;
    negatives: the other photos. `flip_labels` writes the same images with swapped labels (a bad training set)."""
    rows = []
    for name, (image, positive) in _bases().items():
        copies = per_base * 3 if positive else per_base  # balance: one positive base against three negative ones
        for i, variant in enumerate(_variants(image, copies, offset)):
            label = BEHAVIOUR if positive != flip_labels else "none"
            sid = f"{name}-{offset + i}"
            rel = f"images/{label}/{sid}.jpg"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / rel), variant)
            rows.append({"sample_id": sid, "image": rel, "label": label, "negative_for": [], "source": "skimage",
                         "group": f"{name}-g{i % groups_per_base}-{offset}", "window": "w1", "camera": "cam1",
                         "time": None, "review_id": None, "person_box": None, "hand_boxes": [], "objects": [],
                         "crop": None})
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    labels = sorted({r["label"] for r in rows})
    (root / "dataset.json").write_text(json.dumps({
        "version": 1, "counts": {lb: sum(r["label"] == lb for r in rows) for lb in labels},
        "sources": ["skimage"], "config_hash": "test-hash"}), encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def datasets(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("learning")
    return {"train": write_dataset(base / "train"), "flipped": write_dataset(base / "flipped", flip_labels=True),
            "heldout": write_dataset(base / "heldout", per_base=2, offset=20), "cache": base / "cache"}


@pytest.fixture(scope="session")
def extractor(datasets):
    from counterwatch.learning.features import FeatureExtractor

    with FeatureExtractor(datasets["cache"]) as fx:
        yield fx


@pytest.fixture(scope="session")
def train_features(datasets, extractor):
    from counterwatch.learning.features import load_dataset

    samples = list(load_dataset(datasets["train"]).samples)
    x, _ = extractor.matrix(samples, progress=False)
    return samples, x
