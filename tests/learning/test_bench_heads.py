"""`counterwatch bench heads` runs end to end and reports figures that fit together (timings are not asserted:
speed is read off the benchmark's output, not checked by unit tests)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from counterwatch.learning.features import BLOCKS, EMBEDDING_DIM, block_columns
from counterwatch.learning.heads import CANDIDATES


def test_bench_heads_reports_feature_and_fit_costs() -> None:
    # A subprocess: the benchmark pins its process to one core, which must not pin the test session.
    result = subprocess.run([str(Path(sys.executable).parent / "counterwatch"), "bench", "heads", "--samples", "200",
                             "--groups", "40", "--repeat", "3", "--json"],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["cpus_used"] == 1 and report["samples"] == 200
    assert report["feature_width"] == len(block_columns(BLOCKS)) > 2 * EMBEDDING_DIM
    assert report["feature_ms_per_sample"] > 0 and report["fit_s"] > 0
    assert report["chosen_model"] in CANDIDATES
    assert report["features_s_projected"] == round(report["feature_ms_per_sample"] * 200 / 1000.0, 1)
