"""One-vs-rest behaviour heads: grouped CV, model choice, Platt calibration, a threshold for a target precision.

Everything is grouped: a group (incident or source sequence) is never on both sides of a fold, for the model choice
and for the out-of-fold predictions that the calibration, the threshold and the card metrics come from (frames of
one incident are near-duplicates; leaking them would make every number optimistic). Calibration is Platt scaling
fitted on those out-of-fold scores, and the head is the chosen model fitted once on all data followed by that
sigmoid: one fit per fold and one final fit, so a head on thousands of photos trains in minutes. Seeded end to
end, so the same seed and data give identical coefficients.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

# mlp_person: the MLP on every block but the action-region embedding (the whole person's look, pose and objects).
CANDIDATES = ("logreg", "mlp", "mlp_person")
DEFAULT_CANDIDATES = ("mlp", "mlp_person")


@dataclass(frozen=True)
class TrainSettings:
    target_precision: float = 0.8
    seed: int = 0
    folds: int = 5
    candidates: tuple[str, ...] = DEFAULT_CANDIDATES


DEFAULT_TRAIN_SETTINGS = TrainSettings()

class PlattHead:
    """A fitted scikit-learn classifier followed by a sigmoid of its score: predict_proba like a classifier."""

    def __init__(self, estimator, a: float, b: float) -> None:
        self.estimator = estimator
        self.a = float(a)
        self.b = float(b)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        positive = platt(self.estimator.predict_proba(x)[:, 1], self.a, self.b)
        return np.stack([1.0 - positive, positive], axis=1)


@dataclass
class TrainedHead:
    model: PlattHead  # predict_proba(x)[:, 1] is the calibrated probability
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
        # Strong L2 (C=0.01): thousands of features against a few thousand samples; balanced weights for rare
        # positives.
        return make_pipeline(StandardScaler(), LogisticRegression(C=0.01, class_weight="balanced", max_iter=3000))
    if name in ("mlp", "mlp_person"):
        mlp = MLPClassifier((64,), alpha=1e-2, max_iter=300, early_stopping=True, random_state=seed)
        if name == "mlp":
            return make_pipeline(StandardScaler(), mlp)
        from sklearn.compose import ColumnTransformer

        from counterwatch.learning.features import block_columns

        keep = ColumnTransformer([("person", "passthrough", block_columns(("embedding", "geometry", "objects")))])
        return make_pipeline(keep, StandardScaler(), mlp)
    raise ValueError(f"unknown head model {name!r}; use one of {CANDIDATES}")


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def platt(scores: np.ndarray, a: float, b: float) -> np.ndarray:
    """The calibrated probability of raw scores: sigmoid(a * logit(score) + b)."""
    return 1.0 / (1.0 + np.exp(-(a * _logit(scores) + b)))


def fit_platt(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(a, b) of the sigmoid that maps out-of-fold raw scores to probabilities (maximum likelihood)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e4, max_iter=1000).fit(_logit(scores)[:, None], np.asarray(y, dtype=int))
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def grouped_folds(y: np.ndarray, groups: Sequence[str], n_splits: int, seed: int
                  ) -> list[tuple[np.ndarray, np.ndarray]]:
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


def fit(estimator, x: np.ndarray, y: np.ndarray, weights: np.ndarray | None):
    """Fit a pipeline, passing per-row weights to its final step."""
    if weights is None:
        return estimator.fit(x, y.astype(int))
    return estimator.fit(x, y.astype(int), **{f"{estimator.steps[-1][0]}__sample_weight": weights})


def grouped_oof(x: np.ndarray, y: np.ndarray, groups: Sequence[str], settings: TrainSettings,
                folds: int | None = None, progress=None, *,
                weights: np.ndarray | None = None) -> tuple[np.ndarray, str, tuple[float, float]]:
    """(calibrated out-of-fold probabilities, chosen model, Platt (a, b)): the candidate with the best out-of-fold
    average precision wins (ranking quality at the high-precision end is what the threshold needs); the Platt
    sigmoid is fitted on the same out-of-fold scores."""
    from sklearn.base import clone
    from sklearn.metrics import average_precision_score

    y = np.asarray(y, dtype=bool)
    outer = grouped_folds(y, list(groups), folds or settings.folds, settings.seed)
    best, best_ap, best_raw = settings.candidates[0], -1.0, np.zeros(len(y))
    for name in settings.candidates:
        raw = np.zeros(len(y))
        for train, test in outer:
            est = fit(clone(make_estimator(name, settings.seed)), x[train], y[train],
                      None if weights is None else weights[train])
            raw[test] = est.predict_proba(x[test])[:, 1]
        ap = float(average_precision_score(y, raw))
        if ap > best_ap + 1e-9:
            best, best_ap, best_raw = name, ap, raw
        if progress is not None:
            progress.update(1)
    a, b = fit_platt(best_raw, y)
    return platt(best_raw, a, b), best, (a, b)


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


def train_head(x: np.ndarray, y: np.ndarray, samples: Sequence, *, settings: TrainSettings = DEFAULT_TRAIN_SETTINGS,
               progress: bool = True, weights: np.ndarray | None = None) -> TrainedHead:
    """Grouped OOF -> model choice, calibration, threshold and card metrics; then the chosen model fitted on all
    data, followed by the calibration. `weights`: per-row sample weights (e.g. a hall's own labels among public
    photos)."""
    from tqdm import tqdm

    y = np.asarray(y, dtype=bool)
    groups = [s.fold_group for s in samples]
    with tqdm(total=len(settings.candidates) + 1, desc="head", unit="step", disable=not progress, leave=False) as bar:
        oof, choice, (a, b) = grouped_oof(x, y, groups, settings, progress=bar, weights=weights)
        threshold, met = choose_threshold(y, oof, settings.target_precision)
        metrics = binary_metrics(y, oof >= threshold, oof)
        metrics.update(target_precision=settings.target_precision, target_met=met, validation="grouped out-of-fold",
                       rows=len(y))
        estimator = fit(make_estimator(choice, settings.seed), x, y, weights)
        bar.update(1)
    return TrainedHead(PlattHead(estimator, a, b), threshold, choice, metrics, oof)


def labels_for(samples: Sequence, behaviour: str) -> np.ndarray:
    """One-vs-rest: positive when labelled this behaviour; every other label (none, other behaviours, dismissed
    reviews listing it in negative_for) is a negative."""
    return np.array([s.label == behaviour and behaviour not in s.negative_for for s in samples], dtype=bool)
