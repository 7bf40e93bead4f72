"""Heads in the running pipeline, with real models: an active head changes the incidents of a camera pipeline, a
shadow head never creates one (its results go to DATA_DIR/shadow only)."""
from __future__ import annotations

import json
import shutil
import stat
from datetime import timedelta

import numpy as np
import pytest

from counterwatch.config.schema import HallConfig
from counterwatch.learning.features import load_dataset
from counterwatch.learning.heads import TrainSettings
from counterwatch.learning.registry import Registry, train_dataset
from counterwatch.rules.pause import QueueStatus
from counterwatch.runtime.worker import CameraPipeline
from tests.learning.conftest import BEHAVIOUR  # sleeping

FPS = 2.0
SECONDS = 12.0


@pytest.fixture(scope="module")
def registry(datasets, tmp_path_factory):
    """A real trained head, plus copies of it whose card threshold is 0 ("always": it fires on every frame) and 1
    ("never": a calibrated probability does not reach 1)."""
    registry = Registry(tmp_path_factory.mktemp("heads") / "heads")
    [(_, version, _)] = train_dataset(load_dataset(datasets["train"]), registry, [BEHAVIOUR],
                                      TrainSettings(seed=0, candidates=("logreg",)), cache_dir=datasets["cache"],
                                      progress=False)
    always = registry.root / BEHAVIOUR / "always"
    shutil.copytree(registry.root / BEHAVIOUR / version, always)
    card = json.loads((always / "card.json").read_text(encoding="utf-8"))
    (always / "card.json").write_text(json.dumps({**card, "threshold": 0.0, "version": "always"}), encoding="utf-8")
    never = registry.root / BEHAVIOUR / "never"
    shutil.copytree(registry.root / BEHAVIOUR / version, never)
    (never / "card.json").write_text(json.dumps({**card, "threshold": 1.0, "version": "never"}), encoding="utf-8")
    return registry


@pytest.fixture(scope="module")
def frames(demo_config):
    """The demo hall with both staff members at their posts, still (sensor noise only)."""
    from cameras.frame import Frame
    from counterwatch.demo_scene import SceneRenderer
    from tests.rules.helpers import ORIGIN

    renderer, rng = SceneRenderer({}), np.random.default_rng(0)
    present = frozenset({"w01", "w02"})
    camera = demo_config.cameras[0].id
    return [Frame(camera, i, i / FPS, ORIGIN + timedelta(seconds=i / FPS), renderer.frame(present, frozenset(), rng))
            for i in range(int(SECONDS * FPS))]


def _config(demo_config, registry, **models) -> HallConfig:
    document = demo_config.model_dump(mode="json")
    document["rules"] = {**document["rules"], "sleeping": {**document["rules"]["sleeping"], "dwell_s": 5.0}}
    document["models"] = {**document["models"], "heads_registry": str(registry.root), **models}
    return HallConfig.model_validate(document).model_copy(update={"base_dir": demo_config.base_dir})


def _run(config, loaded_models, frames, data_dir):
    pipeline = CameraPipeline(config, config.cameras[0], loaded_models, QueueStatus(), evidence_dir=data_dir,
                              face_detector=loaded_models.cascade_models.face_detector)
    results = [pipeline.step(frame) for frame in frames]
    closing = pipeline.close()
    return results, closing


def _sleeping(events):
    return [e for e in events if e.incident_type == "sleeping"]


def test_active_head_opens_incidents_and_a_shadow_head_never_does(demo_config, loaded_models, registry, frames,
                                                                   tmp_path):
    # Without heads (none configured) the still, upright staff are not asleep: no sleeping incident.
    plain, _ = _run(_config(demo_config, registry, heads={}), loaded_models, frames, None)
    assert not _sleeping(e for r in plain for e in r.events)
    assert all(not p.cues.head for r in plain for s in r.states for p in s.staff)
    assert sum(r.shadow_events for r in plain) == 0

    # The always-firing head as the ACTIVE sleeping head: the same frames open sleeping incidents at both windows.
    active, closing = _run(_config(demo_config, registry, heads={BEHAVIOUR: "always"}), loaded_models, frames,
                           None)
    opened = [e for r in active for e in _sleeping(r.events) if e.kind.value == "opened"]
    assert sorted(e.window_id for e in opened) == ["w01", "w02"]
    assert _sleeping(closing)
    # Only the main staff person carries head scores, on every frame (fresh or reused by the motion gate).
    for result in active:
        for state in result.states:
            assert state.staff, "the demo staff are detected on every frame"
            assert state.staff[0].cues.head_prob(BEHAVIOUR) is not None
            assert state.staff[0].cues.head_fired(BEHAVIOUR)
            assert all(not p.cues.head for p in state.staff[1:])

    # The same head in SHADOW: no incident comes out of the pipeline, the shadow log gets them.
    data_dir = tmp_path / "data"
    shadow, closing = _run(_config(demo_config, registry, heads={}, shadow_heads={BEHAVIOUR: "always"}), loaded_models,
                           frames, data_dir)
    assert not _sleeping(e for r in shadow for e in r.events)
    assert not _sleeping(closing)
    assert all(not p.cues.head for r in shadow for s in r.states for p in s.staff)  # returned states: no head
    assert sum(r.shadow_events for r in shadow) >= 2
    lines = [json.loads(line) for line in
             (data_dir / "shadow" / f"{BEHAVIOUR}.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {line["kind"] for line in lines} >= {"opened", "closed"}
    assert {line["shadow_version"] for line in lines} == {"always"}
    assert sorted({line["window_id"] for line in lines}) == ["w01", "w02"]
    assert list(data_dir.glob("shadow/*.jsonl")) == [data_dir / "shadow" / f"{BEHAVIOUR}.jsonl"]
    # The shadow log holds staff records: private to the service's user.
    assert stat.S_IMODE((data_dir / "shadow").stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / "shadow" / f"{BEHAVIOUR}.jsonl").stat().st_mode) == 0o600


def test_a_promotion_reaches_a_running_scorer_without_a_restart(demo_config, registry):
    """Heads configured as 'active' follow the registry's pointer: promote, then rollback, while the scorer runs."""
    from counterwatch.learning.runtime import HeadScorer

    trained = next(v for v in registry.versions(BEHAVIOUR) if v not in ("always", "never"))
    registry.set_active(BEHAVIOUR, trained)
    scorer = HeadScorer.from_config(_config(demo_config, registry, heads={BEHAVIOUR: "active"}), ["w01", "w02"])
    try:
        assert scorer.versions() == {f"w01/{BEHAVIOUR}": trained, f"w02/{BEHAVIOUR}": trained}
        assert scorer.reload_if_changed() == ()
        registry.set_active(BEHAVIOUR, "always")
        assert scorer.reload_if_changed() == (f"w01/{BEHAVIOUR}: {trained} -> always",
                                              f"w02/{BEHAVIOUR}: {trained} -> always")
        assert [h.threshold for h in scorer.active["w01"]] == [0.0]  # the new card's threshold is in use
        registry.rollback(BEHAVIOUR)
        assert scorer.reload_if_changed() == (f"w01/{BEHAVIOUR}: always -> {trained}",
                                              f"w02/{BEHAVIOUR}: always -> {trained}")
    finally:
        scorer.close()


def test_a_running_pipeline_picks_up_a_promotion(demo_config, loaded_models, registry):
    """The camera pipeline re-resolves 'active' heads every RELOAD_INTERVAL_S of wall time: with "never" active,
    promoting the always-firing head while it runs opens sleeping incidents from the next reload on, not before."""
    from cameras.frame import Frame
    from counterwatch.demo_scene import SceneRenderer
    from counterwatch.learning.runtime import RELOAD_INTERVAL_S
    from tests.rules.helpers import ORIGIN

    registry.set_active(BEHAVIOUR, "never")
    config = _config(demo_config, registry, heads={BEHAVIOUR: "active"})
    pipeline = CameraPipeline(config, config.cameras[0], loaded_models, QueueStatus(), evidence_dir=None,
                              face_detector=loaded_models.cascade_models.face_detector)
    renderer, rng = SceneRenderer({}), np.random.default_rng(0)
    present = frozenset({"w01", "w02"})
    wall_step = 1.0  # one wall second per frame (stream time 0.5 s): reloads come every RELOAD_INTERVAL_S frames
    promoted_at, reload_at = 5, int(RELOAD_INTERVAL_S / wall_step)
    opened: list[tuple[int, str]] = []
    in_use: list[int] = []  # frames whose main staff carry the promoted head's score (its card threshold is 0)
    try:
        for i in range(reload_at + 35):
            if i == promoted_at:
                registry.set_active(BEHAVIOUR, "always")
            frame = Frame(config.cameras[0].id, i, i / FPS, ORIGIN + timedelta(seconds=i * wall_step),
                          renderer.frame(present, frozenset(), rng))
            result = pipeline.step(frame)
            opened += [(i, e.window_id) for e in _sleeping(result.events) if e.kind.value == "opened"]
            if any(t == 0.0 for s in result.states for p in s.staff[:1] for _, _, t in p.cues.head):
                in_use.append(i)
        pipeline.close()
    finally:
        registry.set_active(BEHAVIOUR, "never")
    # Not before the reload; from the next freshly analysed frame on (the motion gate may reuse a score a while).
    assert in_use and in_use[0] >= reload_at and in_use == list(range(in_use[0], reload_at + 35)), in_use
    assert in_use[0] <= reload_at + 15
    assert sorted(w for _, w in opened) == ["w01", "w02"]
    assert all(i > reload_at for i, _ in opened), (opened, in_use)
