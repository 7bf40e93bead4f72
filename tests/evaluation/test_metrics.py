"""The counting arithmetic of the evaluation commands, on cases worked out by hand."""
from __future__ import annotations

import pytest

from counterwatch.evaluation.metrics import Confusion, Counts, match_boxes
from models.types import Box


def test_counts_precision_recall_f1() -> None:
    c = Counts(tp=3, fp=1, fn=2)
    assert c.precision == pytest.approx(0.75)
    assert c.recall == pytest.approx(0.6)
    assert c.f1 == pytest.approx(2 * 3 / (2 * 3 + 1 + 2))
    assert Counts(tp=0, fp=0, fn=4).precision is None  # never predicted: undefined, not zero
    assert Counts(tp=0, fp=0, fn=4).f1 == 0.0
    assert Counts().f1 is None
    assert Counts(1, 2, 3) + Counts(1, 1, 1) == Counts(2, 3, 4)
    with pytest.raises(ValueError):
        Counts(tp=-1)


def test_confusion_from_pairs() -> None:
    pairs = [("a", "a"), ("a", "a"), ("a", "b"), ("b", "b"), ("b", "none"), ("none", "a"), ("none", "none")]
    confusion = Confusion.from_pairs(("a", "b", "none"), pairs)
    assert confusion.matrix == ((2, 1, 0), (0, 1, 1), (1, 0, 1))
    assert confusion.counts("a") == Counts(tp=2, fp=1, fn=1)
    assert confusion.counts("b") == Counts(tp=1, fp=1, fn=1)
    assert confusion.accuracy == pytest.approx(4 / 7)
    assert confusion.macro_f1(("a", "b")) == pytest.approx((2 * 2 / (4 + 2) + 2 / 4) / 2)
    assert "truth" in confusion.format()
    with pytest.raises(ValueError, match="unknown class"):
        Confusion.from_pairs(("a",), [("a", "c")])


def test_match_boxes_is_greedy_by_score_and_one_to_one() -> None:
    truth = [Box(0, 0, 10, 10), Box(100, 100, 120, 120)]
    predicted = [(Box(1, 1, 11, 11), 0.5), (Box(0, 0, 10, 10), 0.9), (Box(50, 50, 60, 60), 0.8)]
    prediction_of, truth_of = match_boxes(truth, predicted)
    assert prediction_of == [1, None]  # the best-scored duplicate takes the box, the other is a false positive
    assert truth_of == [None, 0, None]
    # IoU exactly at the threshold counts
    half = Box(0, 0, 10, 20)  # IoU with the first truth box = 100 / 200
    assert match_boxes(truth[:1], [(half, 0.5)])[0] == [0]
