"""The behaviour heads shipped in models/heads: pinned, carded with their data's attribution, and deciding."""
from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime

import cv2
import numpy as np
import pytest
import skimage.data

from cameras.frame import Frame
from counterwatch.evaluation.frames import PHOTO_WINDOW, decide, main_person
from counterwatch.learning.features import BEHAVIOURS, FEATURE_SPEC
from counterwatch.learning.registry import BUILTIN_ROOT, Registry
from counterwatch.learning.runtime import HeadScorer
from vision.cues import person_cues


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
def test_each_shipped_head_is_pinned_current_and_attributed(behaviour):
    registry = Registry(BUILTIN_ROOT)
    version = registry.active(behaviour)
    assert version is not None and registry.versions(behaviour) == [version]
    folder = BUILTIN_ROOT / behaviour / version
    card = json.loads((folder / "card.json").read_text(encoding="utf-8"))
    assert card["sha256"] == hashlib.sha256((folder / "model.joblib").read_bytes()).hexdigest()
    assert card["feature_spec"] == FEATURE_SPEC  # trained on the features this code computes
    assert 0.0 < card["threshold"] < 1.0 and card["cv"]["target_met"]
    sources = card["dataset"]["sources"]
    assert "HAR" in sources["har_full"]["attribution"] and "ODbL" in sources["har_full"]["attribution"]
    assert "CC BY 4.0" in sources["phones_handheld"]["licence"]
    assert ("cctv_staff" in sources) == (behaviour != "phone_use")  # staff crops teach no phone negatives
    assert registry.load(behaviour)["behaviour"] == behaviour


def _bgr(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rgb[:, :, ::-1])


@pytest.fixture(scope="module")
def decisions(loaded_models):
    """(rules-only decision, decision with the shipped heads) of a photo, as `counterwatch eval frames` decides."""
    from counterwatch.perception import build_cascade

    cascade = build_cascade(None, None, loaded_models)
    scorer = HeadScorer(Registry(BUILTIN_ROOT / "no-hall-registry", builtin=BUILTIN_ROOT),
                        {PHOTO_WINDOW: dict.fromkeys(BEHAVIOURS, "active")})

    def decide_both(image: np.ndarray) -> tuple[str, str]:
        observation = cascade.observe(Frame("photo", 0, 0.0, datetime.now(UTC), image))
        person = main_person(observation.persons)
        assert person is not None
        cues = person_cues(person, observation.objects)
        heads = scorer.score(PHOTO_WINDOW, image, person, observation.objects)[0]
        assert [name for name, _, _ in heads] == sorted(BEHAVIOURS)
        return decide(cues).label, decide(replace(cues, head=heads)).label

    yield decide_both
    scorer.close()


def test_a_shipped_head_changes_the_decision_on_a_real_photo(decisions):
    astronaut = _bgr(skimage.data.astronaut())
    # The coffee photo's cup held at the astronaut's mouth: no hand is at her mouth, so the rules see nothing.
    cup = cv2.resize(_bgr(skimage.data.coffee())[0:300, 150:430], (140, 150))
    drinking = astronaut.copy()
    drinking[170:320, 130:270] = cup
    assert decisions(drinking) == ("none", "drinking")
    assert decisions(astronaut) == ("none", "none")  # the heads do not fire on someone doing nothing forbidden
