"""Behaviour heads at runtime: which head versions score which window, and the scores as cues.

`HeadScorer` is built once per camera pipeline from `models.heads` / `models.window_heads` (the heads whose results
the rules use) and `models.shadow_heads` (candidates whose results only feed the shadow rule engine). Versions named
'active' are resolved through the registry's active pointer when the scorer is built and again whenever the pipeline
calls `reload_if_changed` (the camera pipeline does so every RELOAD_INTERVAL_S): a promotion or rollback reaches a
running hall within that interval, without a restart. Each head's threshold is the one on its model card.

One person is scored with one embedding (EfficientNet-Lite3 on the person crop) shared by all heads; the cascade's
person and objects are passed in, so the cascade does not run again.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from counterwatch.config.schema import HallConfig
from counterwatch.learning.features import FeatureExtractor
from counterwatch.learning.registry import BUILTIN_ROOT, DEFAULT_ROOT, HeadPredictor, Registry, RegistryError

RELOAD_INTERVAL_S = 30.0  # how often a running pipeline looks for a promotion or rollback of an 'active' head

HeadCue = tuple[tuple[str, float, float], ...]  # (behaviour, probability, threshold), as in BehaviourCues.head


@dataclass(frozen=True)
class _Head:
    behaviour: str
    version: str
    threshold: float
    predictor: HeadPredictor


def registry_root(config: HallConfig) -> Path:
    return config.resolve(config.models.heads_registry) if config.models.heads_registry else DEFAULT_ROOT


class HeadScorer:
    """`heads`: window id -> behaviour -> version ('active' or an id); `shadow`: behaviour -> candidate version."""

    def __init__(self, registry: Registry, heads: Mapping[str, Mapping[str, str]],
                 shadow: Mapping[str, str] | None = None, *, extractor: FeatureExtractor | None = None) -> None:
        self.registry = registry
        self._extractor = extractor or FeatureExtractor(None)
        self._owns_extractor = extractor is None
        self._loaded: dict[tuple[str, str], _Head] = {}
        self._configured = {window_id: dict(sorted(versions.items())) for window_id, versions in heads.items()}
        self._configured_shadow = dict(sorted((shadow or {}).items()))
        self.active: dict[str, tuple[_Head, ...]] = {}
        self.shadow: tuple[_Head, ...] = ()
        self._build()

    @classmethod
    def from_config(cls, config: HallConfig, window_ids: Iterable[str], *,
                    extractor: FeatureExtractor | None = None) -> HeadScorer:
        """The heads a hall config asks for at these windows, from the hall's registry and the shipped heads."""
        registry = Registry(registry_root(config), builtin=BUILTIN_ROOT)
        heads = {window_id: config.models.heads_for(window_id) for window_id in window_ids}
        return cls(registry, heads, config.models.shadow_heads, extractor=extractor)

    def _build(self) -> None:
        active = {window_id: tuple(self._head(b, v) for b, v in heads.items())
                  for window_id, heads in self._configured.items()}
        shadow = tuple(self._head(b, v) for b, v in self._configured_shadow.items())
        self.active, self.shadow = active, shadow  # both or neither: a failed load keeps the heads in use

    def versions(self) -> dict[str, str]:
        """'<window>/<behaviour>' (and 'shadow/<behaviour>') -> the version in use."""
        in_use = {f"{window_id}/{h.behaviour}": h.version for window_id, heads in self.active.items() for h in heads}
        return {**in_use, **{f"shadow/{h.behaviour}": h.version for h in self.shadow}}

    def reload_if_changed(self) -> tuple[str, ...]:
        """Re-resolve the heads configured as 'active' against the registry; when a promotion or rollback moved a
        pointer, load the new versions. Returns one '<where>: <old> -> <new>' line per change (empty: nothing
        changed). A registry that cannot be read leaves the heads in use as they are (the error is raised)."""
        before = self.versions()
        self._build()
        after = self.versions()
        in_use = {(h.behaviour, h.version) for heads in self.active.values() for h in heads} | {
            (h.behaviour, h.version) for h in self.shadow}
        for key in [key for key in self._loaded if key not in in_use]:
            del self._loaded[key]  # a version no longer in use: free its model
        return tuple(f"{key}: {before.get(key)} -> {version}" for key, version in sorted(after.items())
                     if before.get(key) != version)

    def _head(self, behaviour: str, version: str) -> _Head:
        resolved = self.registry.active(behaviour) if version == "active" else version
        if resolved is None:
            raise RegistryError(f"{behaviour}: configured head 'active' but {self.registry.root} has no active "
                                f"version of it")
        key = (behaviour, resolved)
        if key not in self._loaded:
            card = self.registry.card(behaviour, resolved)
            predictor = HeadPredictor(behaviour, registry=self.registry, version=resolved, extractor=self._extractor)
            threshold = float(card.get("threshold", predictor.threshold))
            if not 0.0 <= threshold <= 1.0:
                raise RegistryError(f"{behaviour} {resolved}: card threshold {threshold} is not within 0..1")
            self._loaded[key] = _Head(behaviour, resolved, threshold, predictor)
        return self._loaded[key]

    @property
    def has_shadow(self) -> bool:
        return bool(self.shadow)

    @property
    def shadow_behaviours(self) -> frozenset[str]:
        return frozenset(head.behaviour for head in self.shadow)

    def shadow_versions(self) -> dict[str, str]:
        return {head.behaviour: head.version for head in self.shadow}

    def wants(self, window_id: str) -> bool:
        return bool(self.active.get(window_id) or self.shadow)

    def score(self, window_id: str, image: np.ndarray, person, objects: Sequence) -> tuple[HeadCue, HeadCue]:
        """(active heads' cue, shadow cue) for one person: the shadow cue is the active one with each shadow
        behaviour's entry replaced by its candidate's."""
        active = self.active.get(window_id, ())
        if not active and not self.shadow:
            return (), ()
        box = person.box
        blocks = self._extractor.image_blocks(image, (box.x1, box.y1, box.x2, box.y2), person=person,
                                              objects=tuple(objects))
        cue = tuple((h.behaviour, h.predictor.predict_blocks(blocks), h.threshold) for h in active)
        if not self.shadow:
            return cue, cue
        candidates = {h.behaviour: (h.behaviour, h.predictor.predict_blocks(blocks), h.threshold)
                      for h in self.shadow}
        shadow = tuple(candidates.pop(entry[0], entry) for entry in cue) + tuple(candidates.values())
        return cue, shadow

    def close(self) -> None:
        if self._owns_extractor:
            self._extractor.close()
