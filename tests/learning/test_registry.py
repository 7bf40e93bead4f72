"""Promotion refuses a worse candidate and accepts a better one; rollback restores; the runtime predictor."""
from __future__ import annotations

import cv2
import numpy as np
from click.testing import CliRunner

from counterwatch.learning.features import load_dataset
from counterwatch.learning.heads import TrainSettings
from counterwatch.learning.registry import HeadPredictor, Registry, train_dataset
from tests.learning.conftest import BEHAVIOUR

FAST = TrainSettings(seed=0, candidates=("logreg",))


def _train(registry: Registry, dataset, cache) -> str:
    [(_, version, _)] = train_dataset(load_dataset(dataset), registry, [BEHAVIOUR], FAST, cache_dir=cache,
                                      progress=False)
    return version


def _promote(root, version, heldout):
    from counterwatch.cli.models import models_cli

    return CliRunner().invoke(models_cli, ["promote", BEHAVIOUR, version, "--dataset", str(heldout),
                                           "--registry", str(root)])


def test_worse_candidate_refused_better_accepted_and_rollback_restores(datasets, tmp_path):
    registry = Registry(tmp_path / "heads")
    good = _train(registry, datasets["train"], datasets["cache"])  # first version: active
    bad = _train(registry, datasets["flipped"], datasets["cache"])  # learned the opposite
    assert registry.active(BEHAVIOUR) == good

    refused = _promote(registry.root, bad, datasets["heldout"])
    assert refused.exit_code == 1, refused.output
    assert "REFUSED" in refused.output and refused.output.count("F1") == 2  # both numbers are shown
    assert registry.active(BEHAVIOUR) == good

    # The other way round: with the bad one active, the good one measures better and is promoted.
    registry.set_active(BEHAVIOUR, bad)
    accepted = _promote(registry.root, good, datasets["heldout"])
    assert accepted.exit_code == 0, accepted.output
    assert "promoted" in accepted.output and registry.active(BEHAVIOUR) == good

    from counterwatch.cli.models import models_cli

    rolled = CliRunner().invoke(models_cli, ["rollback", BEHAVIOUR, "--registry", str(registry.root)])
    assert rolled.exit_code == 0, rolled.output
    assert registry.active(BEHAVIOUR) == bad


def test_predictor_returns_probabilities_that_follow_the_image(datasets, extractor, tmp_path):
    from skimage import data

    registry = Registry(tmp_path / "heads")
    version = _train(registry, datasets["train"], datasets["cache"])
    astronaut = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    coffee = cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR)
    predictor = HeadPredictor(BEHAVIOUR, root=registry.root, extractor=extractor)
    assert predictor.version == version
    positive = predictor.predict_proba(astronaut, (0, 0, astronaut.shape[1], astronaut.shape[0]))
    negative = predictor.predict_proba(coffee, None)
    assert 0.0 <= negative <= 1.0 and 0.0 <= positive <= 1.0
    assert positive > 0.5 > negative
    # A named version loads too, and the same input gives the same probability.
    named = HeadPredictor(BEHAVIOUR, root=registry.root, version=version, extractor=extractor)
    assert np.isclose(named.predict_proba(coffee, None), negative)


def test_shipped_heads_are_active_until_a_promotion_and_rollback_returns_to_them(datasets, tmp_path):
    builtin, hall = tmp_path / "builtin", tmp_path / "hall"
    shipped = _train(Registry(builtin), datasets["train"], datasets["cache"])
    registry = Registry(hall, builtin=builtin)
    assert registry.active(BEHAVIOUR) == shipped and registry.versions(BEHAVIOUR) == [shipped]
    assert not (hall / BEHAVIOUR / "active.json").exists()  # nothing written to the hall for the shipped head

    candidate = _train(registry, datasets["train"], datasets["cache"])
    assert candidate != shipped and registry.active(BEHAVIOUR) == shipped  # a new version must be promoted
    assert registry.versions(BEHAVIOUR) == sorted([shipped, candidate])

    registry.set_active(BEHAVIOUR, candidate)
    assert registry.active(BEHAVIOUR) == candidate
    assert Registry(builtin).active(BEHAVIOUR) == shipped  # the shipped pointer is never moved
    assert registry.rollback(BEHAVIOUR) == shipped and registry.active(BEHAVIOUR) == shipped


def test_a_shipped_head_that_does_not_match_its_card_is_refused(datasets, tmp_path):
    import pytest

    from counterwatch.learning.registry import RegistryError

    builtin = tmp_path / "builtin"
    version = _train(Registry(builtin), datasets["train"], datasets["cache"])
    registry = Registry(tmp_path / "hall", builtin=builtin)
    assert registry.load(BEHAVIOUR)["threshold"] >= 0
    model = builtin / BEHAVIOUR / version / "model.joblib"
    model.write_bytes(model.read_bytes() + b"\0")
    with pytest.raises(RegistryError, match="sha256"):
        registry.load(BEHAVIOUR)
