"""The adaptation curve: how many of a hall's own labelled frames a behaviour head needs to hold on its cameras.

A source plays the hall: for each k, k examples of a behaviour and k of everything else are drawn from it (whole
CV groups at a time, so no near-duplicate frame of a drawn example is left to be tested), added to the other train
sources (each weighing `weight` public photos), a head of the shipped kind (the MLP) is trained the way
`models train-heads` trains one (calibration and threshold from grouped out-of-fold scores), and its F1 at that
threshold is measured on the rest of that source. k = 0 is the shipped situation.
Each point is the mean over `draws` random draws; a point whose remainder has fewer than MIN_TEST_POSITIVES
positives is not measured, and every point reports how many scenes (CV groups) with positives its test kept, since
a source with few scenes gives a curve that says more about those scenes than about the method.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from counterwatch.learning.features import BEHAVIOURS, FeatureExtractor
from counterwatch.learning.heads import TrainSettings, binary_metrics
from counterwatch.learning.loso import FeatureTable
from counterwatch.learning.sources import Recipe, recipe_samples

DEFAULT_KS = (0, 10, 25, 50, 100)
MIN_TEST_POSITIVES = 5
DEFAULT_SETTINGS = TrainSettings(candidates=("mlp",))


def draw(groups: np.ndarray, positive: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray | None:
    """Indices of k positives and k negatives drawn group by group in random order (a group gives what it has, up
    to what is still missing); None when the source has too few of either. The caller drops every drawn group from
    the test set."""
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    chosen: list[int] = []
    need = {True: k, False: k}
    for group in rng.permutation(np.unique(groups)):
        members = rng.permutation(np.flatnonzero(groups == group))
        for index in members:
            kind = bool(positive[index])
            if need[kind] > 0:
                chosen.append(int(index))
                need[kind] -= 1
        if not need[True] and not need[False]:
            return np.asarray(chosen, dtype=np.int64)
    return None


def run_adapt_curve(recipe: Recipe, data_root: Path, *, held_out: Sequence[str], cache_dir: Path,
                    ks: Sequence[int] = DEFAULT_KS, draws: int = 3, weight: float = 1.0, seed: int = 0,
                    settings: TrainSettings = DEFAULT_SETTINGS, progress: bool = True) -> dict:
    """{'points': [{'source', 'behaviour', 'k', 'f1', 'precision', 'recall', 'draws', 'test_positives'}...]}."""
    unknown = sorted(set(held_out) - set(recipe.sources))
    if unknown:
        raise ValueError(f"--held-out names no source of the recipe: {unknown} (have {sorted(recipe.sources)})")
    samples = recipe_samples(recipe, data_root)
    with FeatureExtractor(cache_dir) as extractor:
        table = FeatureTable(samples, extractor, progress=progress)
    trainable = np.array([recipe.sources[s].role == "train" for s in table.sources])
    groups = np.array([s.fold_group for s in table.samples])
    rng = np.random.default_rng(seed)
    points = []
    for source in held_out:
        in_source = table.sources == source
        for behaviour in BEHAVIOURS:
            positive = table.labels == behaviour
            if not (positive & in_source).any():
                continue
            for k in ks:
                scores = []
                for _ in range(draws if k else 1):
                    picked = draw(groups[in_source], positive[in_source], k, rng)
                    if picked is None:
                        break
                    picked = np.flatnonzero(in_source)[picked]
                    test = in_source & ~np.isin(groups, groups[picked])
                    if (positive & test).sum() < MIN_TEST_POSITIVES:
                        break
                    train = (trainable & ~in_source) | np.isin(np.arange(len(groups)), picked)
                    head = table.train(train, behaviour, settings, weights=np.where(in_source, weight, 1.0))
                    probability = head.model.predict_proba(table.x[test])[:, 1]
                    metrics = binary_metrics(positive[test], probability >= head.threshold)
                    metrics["scenes"] = len(np.unique(groups[positive & test]))
                    scores.append(metrics)
                point = {"source": source, "behaviour": behaviour, "k": k, "draws": len(scores)}
                if scores:
                    point.update({m: round(float(np.mean([s[m] for s in scores])), 4)
                                  for m in ("f1", "precision", "recall")},
                                 test_positives=int(np.mean([s["support"] for s in scores])),
                                 test_scenes=int(np.mean([s["scenes"] for s in scores])))
                points.append(point)
    return {"points": points, "ks": list(ks), "weight": weight, "draws": draws}


def format_curve(result: dict) -> str:
    lines = [f"F1 on the rest of the held-out source after adding k of its labelled examples per class "
             f"(mean of up to {result['draws']} draws; each added example weighs {result['weight']:g} public photos; "
             f"F1/scenes with positives left to test):",
             f"  {'source':16s} {'behaviour':10s} " + " ".join(f"{'k=' + str(k):>7s}" for k in result["ks"])]
    rows: dict[tuple[str, str], dict[int, dict]] = {}
    for point in result["points"]:
        rows.setdefault((point["source"], point["behaviour"]), {})[point["k"]] = point
    for (source, behaviour), by_k in rows.items():
        cells = []
        for k in result["ks"]:
            point = by_k.get(k, {})
            cells.append(f"{point['f1']:4.2f}/{point['test_scenes']:<2d}" if "f1" in point else f"{'n/a':>7s}")
        lines.append(f"  {source:16s} {behaviour:10s} " + " ".join(cells))
    return "\n".join(lines)
