"""Counting arithmetic shared by the evaluation commands: precision, recall, F1, confusion, box matching."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from models.types import Box


@dataclass(frozen=True)
class Counts:
    """True positives, false positives, false negatives of one class (or one bucket)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __post_init__(self) -> None:
        if min(self.tp, self.fp, self.fn) < 0:
            raise ValueError(f"Counts must be >= 0, got {self}")

    @property
    def precision(self) -> float | None:
        """None when nothing was predicted: undefined, not 0 (a class never predicted has no false alarms)."""
        predicted = self.tp + self.fp
        return self.tp / predicted if predicted else None

    @property
    def recall(self) -> float | None:
        actual = self.tp + self.fn
        return self.tp / actual if actual else None

    @property
    def f1(self) -> float | None:
        """Harmonic mean; 0 when there are positives but none were found; None when no positive exists anywhere."""
        if self.tp + self.fp + self.fn == 0:
            return None
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn)

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    def as_dict(self) -> dict:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": _round(self.precision),
                "recall": _round(self.recall), "f1": _round(self.f1)}


@dataclass(frozen=True)
class Confusion:
    """A confusion matrix: `matrix[i][j]` counts items of true class `classes[i]` predicted as `classes[j]`."""

    classes: tuple[str, ...]
    matrix: tuple[tuple[int, ...], ...]

    @classmethod
    def from_pairs(cls, classes: Sequence[str], pairs: Sequence[tuple[str, str]]) -> Confusion:
        index = {name: i for i, name in enumerate(classes)}
        if len(index) != len(classes):
            raise ValueError(f"duplicate class names: {list(classes)}")
        rows = [[0] * len(classes) for _ in classes]
        for truth, predicted in pairs:
            if truth not in index or predicted not in index:
                raise ValueError(f"unknown class in pair ({truth!r}, {predicted!r}); classes are {list(classes)}")
            rows[index[truth]][index[predicted]] += 1
        return cls(tuple(classes), tuple(tuple(row) for row in rows))

    def counts(self, name: str) -> Counts:
        i = self.classes.index(name)
        tp = self.matrix[i][i]
        return Counts(tp, sum(row[i] for row in self.matrix) - tp, sum(self.matrix[i]) - tp)

    @property
    def total(self) -> int:
        return sum(map(sum, self.matrix))

    @property
    def accuracy(self) -> float | None:
        return sum(self.matrix[i][i] for i in range(len(self.classes))) / self.total if self.total else None

    def macro_f1(self, classes: Sequence[str] | None = None) -> float | None:
        """Mean F1 over `classes` (default all) that have an F1 at all."""
        values = [f for f in (self.counts(c).f1 for c in (classes or self.classes)) if f is not None]
        return sum(values) / len(values) if values else None

    def format(self) -> str:
        width = max(8, *(len(c) for c in self.classes)) + 1
        lines = ["truth \\ predicted".ljust(width + 2) + "".join(c[:width].rjust(width) for c in self.classes)]
        for name, row in zip(self.classes, self.matrix, strict=True):
            lines.append(name.ljust(width + 2) + "".join(str(v).rjust(width) for v in row))
        return "\n".join(lines)


def match_boxes(truth: Sequence[Box], predicted: Sequence[tuple[Box, float]], *,
                iou_threshold: float = 0.5) -> tuple[list[int | None], list[int | None]]:
    """Greedy matching, best score first (the PASCAL VOC / COCO rule): each truth box is matched at most once.

    Returns (for each truth box the index of its matched prediction or None, for each prediction the index of its
    truth box or None). Ties in IoU go to the truth box listed first, so the result is deterministic.
    """
    truth_of: list[int | None] = [None] * len(predicted)
    prediction_of: list[int | None] = [None] * len(truth)
    for p in sorted(range(len(predicted)), key=lambda i: -predicted[i][1]):
        box = predicted[p][0]
        best, best_iou = None, iou_threshold
        for t, truth_box in enumerate(truth):
            if prediction_of[t] is not None:
                continue
            iou = truth_box.iou(box)
            if iou >= best_iou and (best is None or iou > best_iou):
                best, best_iou = t, iou
        if best is not None:
            prediction_of[best] = p
            truth_of[p] = best
    return prediction_of, truth_of


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
