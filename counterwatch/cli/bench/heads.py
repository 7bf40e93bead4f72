"""What `counterwatch bench heads` measures: what training behaviour heads costs on one CPU core, split into its two
parts.

1. Features, once per sample (then cached): the perception cascade for the person, pose geometry and objects, and
   four EfficientNet-Lite3 embeddings (the person crop and the action region, each also mirrored), measured on a
   real photo (scikit-image's astronaut, a person filling the frame like a counter camera's crop).
2. Fitting from cached features: grouped cross-validation over the candidate heads, Platt calibration and the final
   fit, measured on synthetic features of the real width (the fit's cost depends on the shape, not on the pixels),
   with positives clustered by group as incidents are.
The projection for N samples is N x (1) + (2 at N).
"""
from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class _Synthetic:
    fold_group: str


def _feature_ms(repeat: int) -> float:
    from skimage import data

    from counterwatch.learning.features import FeatureExtractor

    image = np.ascontiguousarray(data.astronaut()[:, :, ::-1])

    def one_sample(extractor: FeatureExtractor) -> None:  # what a training sample costs: cascade, 4 embeddings
        person, _ = extractor.observe(image, None)
        extractor.embeddings(image, None, person, mirrored=True)

    with FeatureExtractor(None) as extractor:
        one_sample(extractor)  # warm-up: model load and first inference
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            one_sample(extractor)
            times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def _synthetic(samples: int, groups: int, positive_share: float, seed: int):
    from counterwatch.learning.features import BLOCKS, block_columns

    rng = np.random.default_rng(seed)
    width = len(block_columns(BLOCKS))
    group_of = rng.integers(0, groups, size=samples)
    positive_groups = rng.random(groups) < positive_share
    y = positive_groups[group_of]
    direction = rng.normal(size=width).astype(np.float32)
    x = rng.normal(size=(samples, width)).astype(np.float32) + np.outer(y * 0.15, direction).astype(np.float32)
    x += rng.normal(size=(groups, width)).astype(np.float32)[group_of] * 0.5  # frames of one incident are alike
    return x, y, [_Synthetic(f"g{g}") for g in group_of]


@dataclass(frozen=True)
class HeadsBench:
    report: dict[str, Any]  # what `counterwatch bench heads --json` prints
    feature_ms: float  # per sample, median of the repeats
    fit_s: float


def measure_heads(samples: int, groups: int, repeat: int, seed: int, *, progress: bool) -> HeadsBench:
    """Time one head's training (features per sample, then the grouped-CV fit) on one CPU core: pins this process
    to one CPU."""
    from counterwatch.learning.heads import TrainSettings, train_head

    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, native thread pools included
    feature_ms = _feature_ms(repeat)
    x, y, groups_of = _synthetic(samples, groups, 0.2, seed)
    start = time.perf_counter()
    head = train_head(x, y, groups_of, settings=TrainSettings(seed=seed), progress=progress)
    fit_s = time.perf_counter() - start
    report: dict[str, Any] = {"cpus_used": len(os.sched_getaffinity(0)), "samples": samples, "groups": groups,
                              "feature_width": int(x.shape[1]), "feature_ms_per_sample": round(feature_ms, 1),
                              "features_s_projected": round(feature_ms * samples / 1000.0, 1), "fit_s": round(fit_s, 1),
                              "chosen_model": head.choice,
                              "first_training_s_projected": round(feature_ms * samples / 1000.0 + fit_s, 1),
                              "retraining_from_cache_s": round(fit_s, 1)}
    return HeadsBench(report, feature_ms, fit_s)
