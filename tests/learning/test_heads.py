"""Grouped folds, reproducible training, model cards: real EfficientNet-Lite3 embeddings and cascade features."""
from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from counterwatch.learning.heads import TrainSettings, choose_threshold, grouped_folds, labels_for, train_head
from counterwatch.learning.registry import BUILTIN_ROOT, Registry
from tests.learning.conftest import BEHAVIOUR


def test_grouped_folds_never_split_a_group(train_features):
    samples, _ = train_features
    y = labels_for(samples, BEHAVIOUR)
    groups = np.array([s.fold_group for s in samples])
    folds = grouped_folds(y, groups, 5, seed=0)
    assert len(folds) >= 2
    for train, test in folds:
        assert not set(groups[train]) & set(groups[test])
        assert y[test].any() and (~y[test]).any()  # stratified: each test fold has both classes
    # Every sample is tested exactly once.
    assert sorted(np.concatenate([t for _, t in folds]).tolist()) == list(range(len(samples)))
    # And on a larger random layout: many small groups of mixed sizes, several seeds.
    rng = np.random.default_rng(1)
    groups = rng.integers(0, 60, 600).astype(str)
    y = np.isin(groups, [str(g) for g in range(15)])
    for seed in range(3):
        for train, test in grouped_folds(y, groups, 5, seed=seed):
            assert not set(groups[train]) & set(groups[test])


def _coefficients(head) -> list[np.ndarray]:
    final = head.model.estimator[-1]
    weights = [final.coef_.ravel()] if hasattr(final, "coef_") else [w.ravel() for w in final.coefs_]
    return [*weights, np.array([head.model.a, head.model.b])]


def test_training_is_reproducible_with_a_seed(train_features):
    samples, x = train_features
    y = labels_for(samples, BEHAVIOUR)
    settings = TrainSettings(seed=3)
    first = train_head(x, y, samples, settings=settings, progress=False)
    second = train_head(x, y, samples, settings=settings, progress=False)
    assert first.choice == second.choice and first.threshold == second.threshold
    for a, b in zip(_coefficients(first), _coefficients(second), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first.oof, second.oof)
    # The person photos are separable from the others on these features: the head learned something real.
    assert first.metrics["auc"] > 0.9
    probabilities = first.model.predict_proba(x)[:, 1]
    assert probabilities[y].mean() > probabilities[~y].mean()


def test_threshold_meets_the_target_precision():
    y = np.array([0, 0, 1, 0, 1, 1, 1, 0, 1, 1], dtype=bool)
    scores = np.linspace(0.05, 0.95, 10)
    threshold, met = choose_threshold(y, scores, 0.9)
    predicted = scores >= threshold
    assert met and (predicted & y).sum() / predicted.sum() >= 0.9
    # The lowest threshold that still meets the target: one step lower breaks it.
    lower = scores[scores < threshold].max()
    assert ((scores >= lower) & y).sum() / (scores >= lower).sum() < 0.9


def test_train_heads_cli_writes_a_versioned_model_with_a_card(datasets, tmp_path):
    from counterwatch.cli.models import models_cli

    out = tmp_path / "heads"
    result = CliRunner().invoke(models_cli, ["train-heads", "--dataset", str(datasets["train"]), "--out", str(out),
                                             "--behaviours", BEHAVIOUR, "--seed", "0",
                                             "--cache-dir", str(datasets["cache"])])
    assert result.exit_code == 0, result.output
    versions = [p for p in (out / BEHAVIOUR).iterdir() if p.is_dir()]
    assert len(versions) == 1 and (versions[0] / "model.joblib").is_file()
    card = json.loads((versions[0] / "card.json").read_text())
    assert card["dataset"]["per_class"] == {"none": 18, BEHAVIOUR: 18}
    assert card["dataset"]["per_source"] == {"skimage": {"none": 18, BEHAVIOUR: 18}}
    assert card["dataset"]["config_hash"] == "test-hash" and card["seed"] == 0
    assert {"precision", "recall", "f1", "auc"} <= set(card["cv"]) and 0 < card["threshold"] < 1
    assert card["model"] in ("logreg", "mlp") and len(card["feature_spec"]["geometry"]) > 0
    # The shipped head stays active: a hall's first head must be promoted (measured against it) to replace it.
    registry = Registry(out, builtin=BUILTIN_ROOT)
    assert registry.active(BEHAVIOUR) != versions[0].name
    assert registry.active(BEHAVIOUR) in {p.name for p in (BUILTIN_ROOT / BEHAVIOUR).iterdir() if p.is_dir()}
    assert not (out / BEHAVIOUR / "active.json").exists()
