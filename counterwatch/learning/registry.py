"""Model registry for behaviour heads: versions, the active pointer, promotion, rollback and the runtime predictor.

Layout: ROOT/<behaviour>/<version>/{model.joblib, card.json} and ROOT/<behaviour>/active.json =
{"version": v, "history": [previously active, newest last], "updated": iso}. Promotion only moves the pointer, so a
rollback is instant and never retrains.

The default heads ship with the project in BUILTIN_ROOT (same layout, read-only, each model.joblib pinned by the
sha256 on its card). A registry built with `builtin=BUILTIN_ROOT` lists their versions next to its own, and until
the hall promotes a head of its own the shipped one is the active version: a new hall runs the shipped heads, a
promotion replaces one (it must measure at least as well on the hall's held-out data) and a rollback returns to it.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from counterwatch.learning.features import FEATURE_SPEC, Dataset, FeatureExtractor, counts, feature_row
from counterwatch.learning.heads import TrainedHead, TrainSettings, binary_metrics, labels_for, train_head

DEFAULT_ROOT = Path("data/models/heads")
BUILTIN_ROOT = Path(__file__).resolve().parents[2] / "models" / "heads"


class RegistryError(ValueError):
    pass


class Registry:
    def __init__(self, root: Path = DEFAULT_ROOT, *, builtin: Path | None = None) -> None:
        self.root = Path(root)
        self.builtin = Path(builtin) if builtin is not None else None

    def _roots(self) -> tuple[Path, ...]:
        return (self.root,) if self.builtin is None else (self.root, self.builtin)

    def versions(self, behaviour: str) -> list[str]:
        found = {p.name for root in self._roots() if (root / behaviour).is_dir()
                 for p in (root / behaviour).iterdir() if (p / "model.joblib").is_file()}
        return sorted(found)

    def _pointer(self, behaviour: str) -> dict:
        for root in self._roots():
            path = root / behaviour / "active.json"
            if path.is_file():
                pointer = json.loads(path.read_text(encoding="utf-8"))
                return pointer if root == self.root else {"version": pointer.get("version"), "history": []}
        return {"version": None, "history": []}

    def _write_pointer(self, behaviour: str, pointer: dict) -> None:
        path = self.root / behaviour / "active.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        pointer["updated"] = datetime.now(UTC).isoformat(timespec="seconds")
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(pointer, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)  # atomic: a reader never sees half a pointer

    def active(self, behaviour: str) -> str | None:
        return self._pointer(behaviour).get("version")

    def card(self, behaviour: str, version: str) -> dict:
        return json.loads((self._dir(behaviour, version) / "card.json").read_text(encoding="utf-8"))

    def load(self, behaviour: str, version: str | None = None) -> dict:
        """The saved artifact {'model', 'threshold', 'behaviour', 'feature_spec'} of a version (default: active).
        A shipped head's file must match the sha256 on its card."""
        import joblib

        version = version or self.active(behaviour)
        if version is None:
            raise RegistryError(f"{behaviour}: no active version in {self.root}; train-heads first")
        folder = self._dir(behaviour, version)
        if self.builtin is not None and folder.parent.parent == self.builtin:
            expected = json.loads((folder / "card.json").read_text(encoding="utf-8")).get("sha256")
            actual = hashlib.sha256((folder / "model.joblib").read_bytes()).hexdigest()
            if expected != actual:
                raise RegistryError(f"{behaviour} {version}: {folder / 'model.joblib'} has sha256 {actual}, its card "
                                    f"pins {expected}; reinstall counterwatch (git checkout models/heads)")
        return joblib.load(folder / "model.joblib")

    def folder(self, behaviour: str, version: str) -> Path:
        """The folder of one version (model.joblib, card.json), in the registry or the shipped heads."""
        return self._dir(behaviour, version)

    def _dir(self, behaviour: str, version: str) -> Path:
        for root in self._roots():
            folder = root / behaviour / version
            if (folder / "model.joblib").is_file():
                return folder
        raise RegistryError(f"{behaviour}: no version {version!r} in {self.root} (have {self.versions(behaviour)})")

    def save(self, behaviour: str, head: TrainedHead, card: dict) -> str:
        """Writes a new version; the first version of a behaviour becomes active (nothing to compare it with, not
        even a shipped head)."""
        import joblib

        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        version, n = f"{stamp}-s{card.get('seed', 0)}", 1
        taken = set(self.versions(behaviour))  # the shipped heads' versions too: a version names one head
        while (self.root / behaviour / version).exists() or version in taken:
            n += 1
            version = f"{stamp}-s{card.get('seed', 0)}-{n}"
        folder = self.root / behaviour / version
        folder.mkdir(parents=True)
        joblib.dump({"model": head.model, "threshold": head.threshold, "behaviour": behaviour,
                     "feature_spec": FEATURE_SPEC}, folder / "model.joblib")
        digest = hashlib.sha256((folder / "model.joblib").read_bytes()).hexdigest()
        (folder / "card.json").write_text(json.dumps({**card, "version": version, "sha256": digest}, indent=2) + "\n",
                                          encoding="utf-8")
        if self.active(behaviour) is None:
            self.set_active(behaviour, version)
        return version

    def set_active(self, behaviour: str, version: str) -> None:
        self._dir(behaviour, version)
        pointer = self._pointer(behaviour)
        if pointer.get("version") not in (None, version):
            pointer["history"] = [*pointer.get("history", []), pointer["version"]]
        pointer["version"] = version
        self._write_pointer(behaviour, pointer)

    def rollback(self, behaviour: str) -> str:
        """Re-activates the previously active version; returns it."""
        pointer = self._pointer(behaviour)
        if not pointer.get("history"):
            raise RegistryError(f"{behaviour}: no previous version to roll back to")
        previous = pointer["history"].pop()
        pointer["version"] = previous
        self._write_pointer(behaviour, pointer)
        return previous


def train_dataset(dataset: Dataset, registry: Registry, behaviours: list[str], settings: TrainSettings, *,
                  cache_dir: Path | None = None, progress: bool = True) -> list[tuple[str, str, dict]]:
    """Features (cached), then one head per behaviour that has positives; returns (behaviour, version, card)."""
    from tqdm import tqdm

    samples = list(dataset.samples)
    cache = cache_dir or (dataset.root / ".features" if dataset.root else None)
    with FeatureExtractor(cache) as extractor:
        x, _ = extractor.matrix(samples, progress=progress)
        mirrored, _ = extractor.matrix(samples, mirrored=True, progress=False)
    written = []
    for behaviour in tqdm(behaviours, desc="heads", unit="head", disable=not progress):
        keep = np.array([s.teaches(behaviour) for s in samples], dtype=bool)
        chosen = [s for s, k in zip(samples, keep, strict=True) if k]
        y = labels_for(chosen, behaviour)
        if y.sum() < 2 or (~y).sum() < 2:
            tqdm.write(f"{behaviour}: skipped ({int(y.sum())} positives, {int((~y).sum())} negatives)")
            continue
        # Each sample and its mirrored twin (same label, same CV group: never on both sides of a fold).
        head = train_head(np.vstack([x[keep], mirrored[keep]]), np.concatenate([y, y]), chosen + chosen,
                          settings=settings, progress=progress)
        card = {
            "behaviour": behaviour, "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "dataset": {"path": str(dataset.root) if dataset.root else dataset.info.get("recipe"),
                        "version": dataset.info.get("version"), "config_hash": dataset.config_hash,
                        "sources": _sources_used(dataset.info.get("sources"), chosen), **counts(chosen),
                        "positives": int(y.sum()), "negatives": int((~y).sum())},
            "model": head.choice, "calibration": "Platt sigmoid fitted on grouped out-of-fold scores",
            "augmentation": "every sample also mirrored left-right",
            "threshold": head.threshold, "cv": head.metrics, "seed": settings.seed,
            "settings": {"target_precision": settings.target_precision, "folds": settings.folds,
                         "candidates": list(settings.candidates)},
            "feature_spec": FEATURE_SPEC,
        }
        written.append((behaviour, registry.save(behaviour, head, card), card))
    return written


def _sources_used(described, chosen: Sequence) -> dict:
    """The dataset's source descriptions (a recipe's provenance, or an export's counts per source) limited to the
    sources this head's samples come from."""
    used = {s.source for s in chosen}
    if isinstance(described, dict):
        return {name: about for name, about in described.items() if name in used}
    return {name: {} for name in sorted(used)}


@dataclass(frozen=True)
class Promotion:
    behaviour: str
    candidate: str
    active: str | None
    candidate_metrics: dict
    active_metrics: dict | None

    @property
    def accepted(self) -> bool:
        return self.active_metrics is None or self.candidate_metrics["f1"] >= self.active_metrics["f1"]

    def message(self) -> str:
        cand = f"candidate {self.candidate} F1 {self.candidate_metrics['f1']:.3f}"
        if self.active_metrics is None:
            return f"{self.behaviour}: {cand}; no active version: promoted"
        act = f"active {self.active} F1 {self.active_metrics['f1']:.3f}"
        verdict = "promoted" if self.accepted else "REFUSED: the candidate measures worse"
        return f"{self.behaviour}: {cand} vs {act} on held-out data: {verdict}"


def promote(registry: Registry, behaviour: str, version: str, heldout: Dataset, *, cache_dir: Path | None = None,
            progress: bool = False) -> Promotion:
    """Measures candidate and active (F1 at each one's own threshold) on held-out reviewed data; moves the active
    pointer only when the candidate is at least as good."""
    samples = list(heldout.samples)
    y = labels_for(samples, behaviour)
    if not y.any():
        raise RegistryError(f"{behaviour}: the held-out dataset has no {behaviour} sample; cannot measure")
    with FeatureExtractor(cache_dir or (heldout.root / ".features" if heldout.root else None)) as extractor:
        x, _ = extractor.matrix(samples, progress=progress)

    def measure(ver: str) -> dict:
        artifact = registry.load(behaviour, ver)
        scores = artifact["model"].predict_proba(x)[:, 1]
        return binary_metrics(y, scores >= artifact["threshold"], scores)

    active = registry.active(behaviour)
    result = Promotion(behaviour, version, active, measure(version),
                       measure(active) if active is not None and active != version else None)
    if result.accepted:
        registry.set_active(behaviour, version)
    return result


class HeadPredictor:
    """The runtime hook: a behaviour head's calibrated probability for an image and a person box.

    Pass the cascade's `person` and `objects` when the caller already has them (the runtime does): then only the
    embedding runs (~45 ms); without them the cascade runs once on the image for the geometry features."""

    def __init__(self, behaviour: str, *, root: Path = DEFAULT_ROOT, version: str | None = None,
                 extractor: FeatureExtractor | None = None, registry: Registry | None = None) -> None:
        registry = registry if registry is not None else Registry(root)
        self.behaviour = behaviour
        self.version = version or registry.active(behaviour)
        artifact = registry.load(behaviour, self.version)
        trained_on = (artifact.get("feature_spec") or {}).get("version")
        if trained_on != FEATURE_SPEC["version"]:
            raise RegistryError(f"{behaviour} {self.version}: trained on features version {trained_on}, this code "
                                f"computes version {FEATURE_SPEC['version']}; retrain it with `counterwatch models "
                                f"train-heads`")
        self.model = artifact["model"]
        self.threshold = float(artifact["threshold"])
        self._extractor = extractor or FeatureExtractor(None)
        self._owns_extractor = extractor is None

    def predict_proba(self, image: np.ndarray, person_box=None, *, person=None, objects=None) -> float:
        return self.predict_blocks(self._extractor.image_blocks(image, person_box, person=person, objects=objects))

    def predict_blocks(self, blocks: dict[str, np.ndarray]) -> float:
        """The probability for features already computed by `FeatureExtractor.image_blocks` (several heads of one
        person share one embedding)."""
        row = feature_row(blocks)[None, :]
        return float(np.clip(self.model.predict_proba(row)[0, 1], 0.0, 1.0))

    def close(self) -> None:
        if self._owns_extractor:
            self._extractor.close()

    def __enter__(self) -> HeadPredictor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
