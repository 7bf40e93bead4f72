"""Proof on public data: leave-one-source-out heads vs the rules-only per-frame decision, plus within-har CV.

Datasets are built in memory from ../shared/data/dev (never copied into the repo): `har` (folder-per-class photos,
label map configs/eval/har.yaml, one group per file) and `phones_handheld` (YOLO: phone -> phone_use,
wallet/airpods -> none; its images are frames of a few videos, so neighbouring frames share a group).
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from counterwatch.learning.features import BEHAVIOURS, FeatureExtractor, Sample
from counterwatch.learning.heads import TrainSettings, binary_metrics, grouped_oof, train_head

REPO = Path(__file__).resolve().parents[2]
PHONES_CLASSES = {0: "none", 1: "phone_use", 2: "none"}  # data.yaml: airpods, phone, wallet
FRAMES_PER_GROUP = 20  # phones_handheld: opencv_frame_<n>; 20 consecutive frames are one scene


def har_samples(root: Path, *, limit: int | None = None) -> list[Sample]:
    from counterwatch.evaluation.frames import list_photos, load_label_map

    photos = list_photos(root, load_label_map(REPO / "configs/eval/har.yaml"), limit_per_folder=limit)
    return [Sample(f"har/{p.folder}/{p.path.stem}", p.path, p.truth, source="har", group=f"har/{p.path.name}",
                   camera="har") for p in photos]


def phones_samples(root: Path, *, limit: int | None = None) -> list[Sample]:
    from counterwatch.evaluation.frames import list_yolo_photos

    samples = []
    for p in list_yolo_photos(root, PHONES_CLASSES, limit=limit):
        match = re.match(r"(.*?)(\d+)_(?:png|jpg)\.rf\.", p.path.name)
        group = f"{match.group(1)}{int(match.group(2)) // FRAMES_PER_GROUP}" if match else p.path.stem
        samples.append(Sample(f"phones/{p.folder}/{p.path.stem}", p.path, p.truth, source="phones_handheld",
                              group=f"phones/{group}", camera="phones_handheld"))
    return samples


def _scores(truth: np.ndarray, predicted: np.ndarray) -> dict:
    return {k: v for k, v in binary_metrics(truth, predicted).items() if k in ("precision", "recall", "f1", "support")}


def run_loso(data: Path, *, cache_dir: Path, limit: int | None = None, settings: TrainSettings = TrainSettings(),
             cv_folds: int = 5) -> dict:
    """{'sources': counts, 'loso': [...per held-out source and behaviour...], 'har_cv': {...per behaviour...}}."""
    from counterwatch.evaluation.frames import BEHAVIOURS as DECISIONS

    samples = har_samples(data / "har", limit=limit) + phones_samples(data / "phones_handheld",
                                                                        limit=None if limit is None else limit * 4)
    with FeatureExtractor(cache_dir) as extractor:
        x, rules = extractor.matrix(samples)
    rule_labels = np.array([DECISIONS[i] for i in rules])
    labels = np.array([s.label for s in samples])
    sources = np.array([s.source for s in samples])
    result: dict = {"sources": {src: int((sources == src).sum()) for src in sorted(set(sources))}, "loso": [],
                    "har_cv": {}}
    for held in sorted(set(sources)):
        train, test = sources != held, sources == held
        for behaviour in BEHAVIOURS:
            y_train, y_test = labels[train] == behaviour, labels[test] == behaviour
            if not y_test.any() or y_train.sum() < 2:
                continue  # the held-out source has no such label, or the others cannot teach it
            head = train_head(x[train], y_train, _subset(samples, train), settings=settings, progress=False)
            predicted = head.model.predict_proba(x[test])[:, 1] >= head.threshold
            result["loso"].append({
                "held_out": held, "behaviour": behaviour, "train": int(train.sum()), "test": int(test.sum()),
                "model": head.choice, "threshold": round(head.threshold, 4),
                "heads": _scores(y_test, predicted), "rules": _scores(y_test, rule_labels[test] == behaviour)})
    har = sources == "har"
    for behaviour in BEHAVIOURS:
        y = labels[har] == behaviour
        oof, choice = grouped_oof(x[har], y, [s.fold_group for s in _subset(samples, har)], settings, cv_folds)
        head_metrics = binary_metrics(y, oof >= _target_threshold(settings, y, oof), oof)
        result["har_cv"][behaviour] = {"model": choice, "heads": head_metrics,
                                       "rules": _scores(y, rule_labels[har] == behaviour)}
    return result


def _target_threshold(settings: TrainSettings, y: np.ndarray, oof: np.ndarray) -> float:
    from counterwatch.learning.heads import choose_threshold

    return choose_threshold(y, oof, settings.target_precision)[0]


def _subset(samples: Sequence[Sample], mask: np.ndarray) -> list[Sample]:
    return [s for s, keep in zip(samples, mask) if keep]


def format_loso(result: dict) -> str:
    def row(name: str, m: dict) -> str:
        return f"{name:6s} P {m['precision']:.2f}  R {m['recall']:.2f}  F1 {m['f1']:.2f}"

    lines = [f"sources: {result['sources']}", "", "leave-one-source-out (train on the others, test on the held-out):"]
    for r in result["loso"]:
        lines.append(f"  held out {r['held_out']:16s} {r['behaviour']:9s} (n={r['test']}, positives="
                     f"{r['heads']['support']}, head={r['model']}, thr={r['threshold']})")
        lines.append(f"    {row('heads', r['heads'])}   |   {row('rules', r['rules'])}")
    lines += ["", "within-har grouped CV (out-of-fold, threshold for the target precision):"]
    for behaviour, r in result["har_cv"].items():
        lines.append(f"  {behaviour:9s} {row('heads', r['heads'])} AUC {r['heads'].get('auc', float('nan')):.2f}"
                     f" ({r['model']})   |   {row('rules', r['rules'])}")
    return "\n".join(lines)
