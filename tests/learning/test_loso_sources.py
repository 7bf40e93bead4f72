"""Recipe sources: YOLO frames of one scene share a group, folder labels map to behaviours, bad recipes name the
field, and the adaptation curve's draw takes whole groups."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from counterwatch.learning.adapt import draw
from counterwatch.learning.sources import load_recipe, provenance, recipe_samples


def _recipe(tmp_path, text: str):
    path = tmp_path / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    return load_recipe(path)


def test_yolo_source_groups_neighbouring_frames_and_maps_classes(tmp_path):
    split = tmp_path / "data" / "phones" / "train"
    (split / "images").mkdir(parents=True)
    (split / "labels").mkdir()
    for frame, cls in ((3, 1), (7, 2), (45, 0), (46, None)):
        name = f"opencv_frame_{frame}_png.rf.abc{frame}"
        cv2.imwrite(str(split / "images" / f"{name}.jpg"), np.zeros((8, 8, 3), np.uint8))
        (split / "labels" / f"{name}.txt").write_text("" if cls is None else f"{cls} 0.5 0.5 0.2 0.2\n")
    recipe = _recipe(tmp_path, "sources:\n  phones:\n    yolo: phones\n    classes: {1: phone_use, 0: none, 2: none}\n"
                               "    frames_per_group: 20\n    licence: CC BY 4.0\n    attribution: by someone\n")
    by_frame = {int(s.image.name.split("_")[2]): s for s in recipe_samples(recipe, tmp_path / "data")}
    assert {f: s.label for f, s in by_frame.items()} == {3: "phone_use", 7: "none", 45: "none", 46: "none"}
    assert by_frame[3].group == by_frame[7].group != by_frame[45].group == by_frame[46].group
    assert {s.source for s in by_frame.values()} == {"phones"}
    assert provenance(recipe) == {"phones": {"path": "phones", "licence": "CC BY 4.0", "attribution": "by someone"}}


def test_folder_source_labels_roles_and_negatives(tmp_path):
    for folder in ("calling", "sitting", "desk"):
        (tmp_path / "data" / "photos" / folder).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(tmp_path / "data" / "photos" / folder / "a.jpg"), np.zeros((8, 8, 3), np.uint8))
    recipe = _recipe(tmp_path, "sources:\n"
                               "  web:\n    folders: photos\n    labels: {calling: phone_use, sitting: none}\n"
                               "  counters:\n    folders: photos\n    labels: {desk: phone_use}\n    role: negatives\n")
    web = recipe_samples(recipe, tmp_path / "data", roles=("train",))
    assert sorted((s.extra["folder"], s.label) for s in web) == [("calling", "phone_use"), ("sitting", "none")]
    negatives = recipe_samples(recipe, tmp_path / "data", roles=("negatives",))
    assert [(s.source, s.label) for s in negatives] == [("counters", "none")]  # a negatives source is all none


@pytest.mark.parametrize("text, words", [
    ("sources:\n  a:\n    folders: x\n    yolo: y\n    labels: {c: none}\n", "exactly one of"),
    ("sources:\n  a:\n    folders: x\n    labels: {c: dancing}\n", "unknown label"),
    ("sources:\n  a:\n    folders: x\n    labels: {c: none}\n    role: maybe\n", "sources.a.role"),
    ("sources: {}\n", "sources"),
])
def test_bad_recipes_name_the_field(tmp_path, text, words):
    with pytest.raises(ValueError, match=words):
        _recipe(tmp_path, text)


def test_missing_source_folder_is_named(tmp_path):
    recipe = _recipe(tmp_path, "sources:\n  a:\n    folders: nowhere\n    labels: {c: none}\n")
    with pytest.raises(ValueError, match="nowhere"):
        recipe_samples(recipe, tmp_path)


def test_draw_takes_k_of_each_class_and_none_when_too_few():
    groups = np.array(["g1", "g1", "g2", "g2", "g3", "g3", "g4"])
    positive = np.array([True, False, True, False, True, False, False])
    picked = draw(groups, positive, 2, np.random.default_rng(0))
    assert picked is not None and len(picked) == 4
    assert positive[picked].sum() == 2 and (~positive[picked]).sum() == 2
    assert draw(groups, positive, 4, np.random.default_rng(0)) is None  # only three positives
    assert len(draw(groups, positive, 0, np.random.default_rng(0))) == 0
