"""Transfer measured on public photos: leave-one-source-out heads vs the rules' per-frame decision.

The sources come from a recipe (counterwatch.learning.sources; data never enters the repo). For each source that
holds positives of a behaviour, heads are trained on every other `train` source (mirrored crops included, as for
the shipped heads) and measured on the held-out source: the head alone at its card threshold, the rules alone, and
the per-frame decision over all behaviours (counterwatch.evaluation.frames.decide, what `eval frames` reports:
each head in place of its rule evidence, the highest evidence wins).
Sources without any behaviour (people doing nothing forbidden) give each behaviour's false-alarm rate, measured with
heads that never saw them.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from counterwatch.learning.features import BEHAVIOURS, FeatureExtractor, Sample
from counterwatch.learning.heads import DEFAULT_TRAIN_SETTINGS, TrainedHead, TrainSettings, binary_metrics, train_head
from counterwatch.learning.sources import Recipe, recipe_samples


def _scores(truth: np.ndarray, predicted: np.ndarray) -> dict:
    return {k: v for k, v in binary_metrics(truth, predicted).items() if k in ("precision", "recall", "f1", "support")}


class FeatureTable:
    """Every sample's feature row, mirrored row, rules decision and cues, read once."""

    def __init__(self, samples: Sequence[Sample], extractor: FeatureExtractor, *, progress: bool = True) -> None:
        from counterwatch.evaluation.frames import BEHAVIOURS as DECISIONS

        self.samples = list(samples)
        self.x, rules = extractor.matrix(self.samples, progress=progress)
        self.x_mirrored, _ = extractor.matrix(self.samples, mirrored=True, progress=False)
        self.rules = np.array([DECISIONS[i] for i in rules])
        self.cues = [extractor.sample_cues(s) for s in self.samples]
        self.labels = np.array([s.label for s in self.samples])
        self.sources = np.array([s.source for s in self.samples])

    def train(self, mask: np.ndarray, behaviour: str, settings: TrainSettings, *, weights: np.ndarray | None = None
              ) -> TrainedHead:
        """A head trained on the masked samples and their mirrored twins (a sample and its twin share a CV group);
        `weights` (per sample) as for train_head, e.g. a hall's own labels among public photos."""
        index = np.flatnonzero(mask & np.array([s.teaches(behaviour) for s in self.samples], dtype=bool))
        chosen = [self.samples[i] for i in index]
        x = np.vstack([self.x[index], self.x_mirrored[index]])
        y = np.concatenate([self.labels[index] == behaviour] * 2)
        w = None if weights is None else np.concatenate([weights[index]] * 2)
        return train_head(x, y, chosen + chosen, settings=settings, progress=False, weights=w)

    def decisions(self, mask: np.ndarray, heads: dict[str, tuple[np.ndarray, float]]) -> np.ndarray:
        """The fused per-frame decision of the masked samples given each head's probabilities and threshold."""
        from counterwatch.evaluation.frames import decide

        out = []
        for row, index in enumerate(np.flatnonzero(mask)):
            cues = self.cues[index]
            if cues is not None:
                cues = replace(cues, head=tuple((b, float(p[row]), t) for b, (p, t) in heads.items()))
            out.append(decide(cues).label)
        return np.array(out)


def run_loso(recipe: Recipe, data_root: Path, *, cache_dir: Path, limit: int | None = None,
             settings: TrainSettings = DEFAULT_TRAIN_SETTINGS, progress: bool = True) -> dict:
    """{'sources': counts, 'loso': [...per held-out source and behaviour...], 'negatives': {...}}."""
    samples = recipe_samples(recipe, data_root, limit=limit)
    roles = {name: source.role for name, source in recipe.sources.items()}
    with FeatureExtractor(cache_dir) as extractor:
        table = FeatureTable(samples, extractor, progress=progress)
    trainable = np.array([roles[s] == "train" for s in table.sources])
    result: dict = {"sources": {src: {"role": roles[src], "photos": int((table.sources == src).sum())}
                                for src in sorted(set(table.sources))}, "loso": [], "negatives": {}}
    for held in sorted(set(table.sources)):
        test = table.sources == held
        if roles[held] == "negatives" or not any((table.labels[test] == b).any() for b in BEHAVIOURS):
            continue
        train = trainable & ~test
        heads = {}
        for behaviour in BEHAVIOURS:
            if (table.labels[train] == behaviour).sum() >= 2:
                head = table.train(train, behaviour, settings)
                heads[behaviour] = (head.model.predict_proba(table.x[test])[:, 1], head.threshold, head.choice)
        fused = table.decisions(test, {b: (p, t) for b, (p, t, _) in heads.items()})
        for behaviour, (probability, threshold, choice) in heads.items():
            y_test = table.labels[test] == behaviour
            if not y_test.any():
                continue
            result["loso"].append({
                "held_out": held, "behaviour": behaviour, "train": int(train.sum()), "test": int(test.sum()),
                "model": choice, "threshold": round(threshold, 4),
                "heads": _scores(y_test, probability >= threshold),
                "rules": _scores(y_test, table.rules[test] == behaviour),
                "fused": _scores(y_test, fused == behaviour)})
    # Sources of people doing nothing forbidden: how often each behaviour fires there when the heads never saw them
    # (a `train` source held out) or as shipped (a `negatives` source, never trained on).
    for src in sorted(set(table.sources)):
        test = table.sources == src
        if any((table.labels[test] == b).any() for b in BEHAVIOURS):
            continue
        train = trainable & ~test
        trained = {b: table.train(train, b, settings) for b in BEHAVIOURS}
        probabilities = {b: (h.model.predict_proba(table.x[test])[:, 1], h.threshold) for b, h in trained.items()}
        fused = table.decisions(test, probabilities)
        result["negatives"][src] = {
            b: {"heads": round(float((p >= t).mean()), 4), "rules": round(float((table.rules[test] == b).mean()), 4),
                "fused": round(float((fused == b).mean()), 4)} for b, (p, t) in probabilities.items()}
    return result


def _subset(samples: Sequence[Sample], mask: np.ndarray) -> list[Sample]:
    return [s for s, keep in zip(samples, mask, strict=True) if keep]


def format_loso(result: dict) -> str:
    def row(name: str, m: dict) -> str:
        return f"{name} P {m['precision']:.2f} R {m['recall']:.2f} F1 {m['f1']:.2f}"

    lines = [f"sources: {result['sources']}", "",
             "leave-one-source-out (heads trained on the other train sources, measured on the held-out one):"]
    for r in result["loso"]:
        lines.append(f"  held out {r['held_out']:16s} {r['behaviour']:9s} (n={r['test']}, positives="
                     f"{r['heads']['support']}, head={r['model']}, thr={r['threshold']})")
        lines.append(f"    {row('heads', r['heads'])} | {row('rules', r['rules'])} | {row('fused', r['fused'])}")
    for src, rates in result["negatives"].items():
        lines.append(f"  false alarms on {src} (every photo is none): " + ", ".join(
            f"{b} heads {r['heads']:.2f} rules {r['rules']:.2f} fused {r['fused']:.2f}" for b, r in rates.items()))
    return "\n".join(lines)
