"""Leave-one-source-out and the adaptation curve end to end on two tiny real-photo sources (skimage photos and
their variants, real EfficientNet-Lite3 embeddings and cascade features)."""
from __future__ import annotations

import cv2
import pytest

from counterwatch.learning.adapt import format_curve, run_adapt_curve
from counterwatch.learning.heads import TrainSettings
from counterwatch.learning.loso import format_loso, run_loso
from counterwatch.learning.sources import load_recipe
from tests.learning.conftest import _bases, _variants

FAST = TrainSettings(seed=0, candidates=("logreg",), folds=3)


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """Two sources, each a folder per class: `asleep` (astronaut variants, the positives) and `desk` (other
    photos); a third source with only people doing nothing forbidden (rocket and cat photos as 'none')."""
    root = tmp_path_factory.mktemp("sources")
    for source, offset in (("web", 0), ("hall", 40)):
        for name, (image, positive) in _bases().items():
            folder = root / source / ("asleep" if positive else "desk")
            folder.mkdir(parents=True, exist_ok=True)
            for i, variant in enumerate(_variants(image, 8 if positive else 3, offset)):
                cv2.imwrite(str(folder / f"{name}-{i}.jpg"), variant)
    recipe = root / "recipe.yaml"
    recipe.write_text(
        "sources:\n"
        "  web:\n    folders: web\n    labels: {asleep: sleeping, desk: none}\n    attribution: test photos\n"
        "  hall:\n    folders: hall\n    labels: {asleep: sleeping, desk: none}\n", encoding="utf-8")
    return load_recipe(recipe), root


def test_loso_measures_heads_rules_and_their_fusion_on_each_held_out_source(sources, tmp_path_factory):
    recipe, root = sources
    result = run_loso(recipe, root, cache_dir=tmp_path_factory.mktemp("cache"), settings=FAST, progress=False)
    assert result["sources"] == {"hall": {"role": "train", "photos": 17}, "web": {"role": "train", "photos": 17}}
    rows = {r["held_out"]: r for r in result["loso"]}
    assert set(rows) == {"hall", "web"}
    for row in rows.values():
        assert row["behaviour"] == "sleeping" and row["train"] == 17 and row["test"] == 17
        assert row["heads"]["support"] == 8
        # The astronaut variants are easy to tell from coffee, cats and rockets on these features.
        assert row["heads"]["f1"] >= 0.8
        assert set(row["fused"]) == {"precision", "recall", "f1", "support"}
    assert "held out hall" in format_loso(result)


def test_adaptation_curve_adds_the_held_out_sources_examples(sources, tmp_path_factory):
    recipe, root = sources
    result = run_adapt_curve(recipe, root, held_out=["hall"], cache_dir=tmp_path_factory.mktemp("cache"),
                             ks=(0, 2, 50), draws=2, settings=FAST, progress=False)
    points = {p["k"]: p for p in result["points"]}
    assert set(points) == {0, 2, 50}
    assert points[0]["draws"] == 1 and points[2]["draws"] == 2
    assert 0.0 <= points[0]["f1"] <= 1.0 and points[2]["f1"] >= 0.8
    # The test remainder keeps at least MIN_TEST_POSITIVES positives: 50 of 8 cannot be drawn.
    assert points[50]["draws"] == 0 and "f1" not in points[50]
    assert "n/a" in format_curve(result)
    with pytest.raises(ValueError, match="nowhere"):
        run_adapt_curve(recipe, root, held_out=["nowhere"], cache_dir=tmp_path_factory.mktemp("c"), settings=FAST)
