"""One-vs-rest behaviour heads: grouped CV, model choice, sigmoid calibration, a threshold for a target precision.

Everything is grouped: a group (incident or source sequence) is never on both sides of a fold, for the model choice,
for the out-of-fold predictions the threshold and card metrics come from, and for the calibration folds (frames of
one incident are near-duplicates; leaking them would make every number optimistic). Seeded end to end, so the same
seed and data give identical coefficients.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

CANDIDATES = ("logreg", "mlp")


@dataclass(frozen=True)
class TrainSettings:
    target_precision: float = 0.9
    seed: int = 0
    folds: int = 5
    calibration_folds: int = 3
    candidates: tuple[str, ...] = CANDIDATES


@dataclass
class TrainedHead:
    model: object  # a fitted CalibratedClassifierCV: predict_proba(x)[:, 1] is the calibrated probability
    threshold: float
    choice: str
    metrics: dict
    oof: np.ndarray = field(repr=False)


def make_estimator(name: str, seed: int):
    """Standardised features (embedding and geometry differ in scale) into a small, regularised classifier."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "logreg":
        # Strong L2 (C=0.05): 1300 features against hundreds of samples; balanced weights for rare positives.
        return make_pipeline(StandardScaler(), LogisticRegression(C=0.05, class_weight="balanced", max_iter=3000))
    if name == "mlp":
        return make_pipeline(StandardScaler(), MLPClassifier((64,), alpha=1e-2, max_iter=300, random_state=seed))
    raise ValueError(f"unknown head model {name!r}; use one of {CANDIDATES}")


def grouped_folds(y: np.ndarray, groups: Sequence[str], n_splits: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified group folds; fewer folds when there are fewer positive (or negative) groups than folds."""
    from sklearn.model_selection import StratifiedGroupKFold

    y = np.asarray(y, dtype=bool)
    groups_arr = np.asarray(groups)
    pos, neg = len(set(groups_arr[y])), len(set(groups_arr[~y]))
    splits = min(n_splits, pos, neg)
    if splits < 2:
        raise ValueError(f"grouped CV needs at least 2 positive and 2 negative groups (have {pos} and {neg})")
    folder = StratifiedGroupKFold(n_splits=splits, shuffle=True, random_state=seed)
    return [(train, test) for train, test in folder.split(np.zeros(len(y)), y.astype(int), groups_arr)]


def _calibrated(name: str, x: np.ndarray, y: np.ndarray, groups: Sequence[str], settings: TrainSettings):
    from sklearn.calibration import CalibratedClassifierCV

    folds = grouped_folds(y, groups, settings.calibration_folds, settings.seed)
    model = CalibratedClassifierCV(make_estimator(name, settings.seed), method="sigmoid", cv=folds)
    return model.fit(x, y.astype(int))


def grouped_oof(x: np.ndarray, y: np.ndarray, groups: Sequence[str], settings: TrainSettings,
                folds: int | None = None, progress=None) -> tuple[np.ndarray, str]:
    """(calibrated out-of-fold probabilities, chosen model): the candidate with the best out-of-fold average
    precision wins (ranking quality at the high-precision end is what the threshold needs)."""
    from sklearn.base import clone
    from sklearn.metrics import average_precision_score

    y = np.asarray(y, dtype=bool)
    groups = list(groups)
    outer = grouped_folds(y, groups, folds or settings.folds, settings.seed)
    best, best_ap = settings.candidates[0], -1.0
    if len(settings.candidates) > 1:
        for name in settings.candidates:
            raw = np.zeros(len(y))
            for train, test in outer:
                est = clone(make_estimator(name, settings.seed)).fit(x[train], y[train].astype(int))
                raw[test] = est.predict_proba(x[test])[:, 1]
            ap = float(average_precision_score(y, raw))
            if ap > best_ap + 1e-9:
                best, best_ap = name, ap
            if progress is not None:
                progress.update(1)
    oof = np.zeros(len(y))
    for train, test in outer:
        model = _calibrated(best, x[train], y[train], [groups[i] for i in train], settings)
        oof[test] = model.predict_proba(x[test])[:, 1]
    return oof, best


def choose_threshold(y: np.ndarray, scores: np.ndarray, target_precision: float) -> tuple[float, bool]:
    """The lowest threshold whose precision reaches the target (most recall at that precision); when none does,
    the F1-best threshold, flagged (False) so the card says the target was not met."""
    y = np.asarray(y, dtype=bool)
    candidates = np.unique(scores)[::-1]
    best_f1, best_f1_thr, meeting = -1.0, float(candidates[0]) if len(candidates) else 0.5, None
    for thr in candidates:
        predicted = scores >= thr
        tp = int((predicted & y).sum())
        fp = int((predicted & ~y).sum())
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / int(y.sum()) if y.any() else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        if tp and precision >= target_precision:
            meeting = float(thr)  # keeps lowering while the target holds (scanning high -> low)
        if f1 > best_f1:
            best_f1, best_f1_thr = f1, float(thr)
    return (meeting, True) if meeting is not None else (best_f1_thr, False)


def binary_metrics(y: np.ndarray, predicted: np.ndarray, scores: np.ndarray | None = None) -> dict:
    y, predicted = np.asarray(y, dtype=bool), np.asarray(predicted, dtype=bool)
    tp, fp, fn = int((predicted & y).sum()), int((predicted & ~y).sum()), int((~predicted & y).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    out = {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4), "support": int(y.sum()),
           "tp": tp, "fp": fp, "fn": fn}
    if scores is not None and 0 < y.sum() < len(y):
        from sklearn.metrics import roc_auc_score

        out["auc"] = round(float(roc_auc_score(y, scores)), 4)
    return out


def train_head(x: np.ndarray, y: np.ndarray, samples: Sequence, *, settings: TrainSettings = TrainSettings(),
               progress: bool = True) -> TrainedHead:
    """Grouped OOF -> model choice, threshold and card metrics; then the calibrated model fitted on all data."""
    from tqdm import tqdm

    y = np.asarray(y, dtype=bool)
    groups = [s.fold_group for s in samples]
    steps = len(settings.candidates) if len(settings.candidates) > 1 else 0
    with tqdm(total=steps + 1, desc="head", unit="step", disable=not progress, leave=False) as bar:
        oof, choice = grouped_oof(x, y, groups, settings, progress=bar)
        threshold, met = choose_threshold(y, oof, settings.target_precision)
        metrics = binary_metrics(y, oof >= threshold, oof)
        metrics.update(target_precision=settings.target_precision, target_met=met, validation="grouped out-of-fold")
        model = _calibrated(choice, x, y, groups, settings)
        bar.update(1)
    return TrainedHead(model, threshold, choice, metrics, oof)


def labels_for(samples: Sequence, behaviour: str) -> np.ndarray:
    """One-vs-rest: positive when labelled this behaviour; every other label (none, other behaviours, dismissed
    reviews listing it in negative_for) is a negative."""
    return np.array([s.label == behaviour and behaviour not in s.negative_for for s in samples], dtype=bool)
