"""`counterwatch bench county` end to end on a tiny county (2 halls x 2 windows): the real PostgreSQL and NATS
servers, the centre as a subprocess, simulated edges; the figures it prints are sane and nothing is lost."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from counterwatch.cli.bench.county_report import format_report, percentile

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

COUNTERWATCH = str(Path(sys.executable).parent / "counterwatch")


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value >= 0


def test_a_tiny_county_under_load(tmp_path: Path) -> None:
    # 600 incidents per window per hour: about ten incidents (thirty events) in 15 s over four windows.
    result = subprocess.run([COUNTERWATCH, "bench", "county", "--halls", "2", "--windows", "2", "--seconds", "15",
                             "--warmup-s", "2", "--incident-rate", "600", "--single", "--edge-processes", "2",
                             "--json"], capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    [size] = report["sizes"]
    assert (size["halls"], size["windows_per_hall"], size["cameras"]) == (2, 2, 2)
    stored = size["stored_per_s"]
    assert stored["incident"] > 0 and stored["status"] > 0 and stored["stats"] > 0, stored
    assert stored["total"] == pytest.approx(sum(v for k, v in stored.items() if k != "total"), abs=0.05)

    events = size["incident_events"]
    assert events["raised"] > 0 and events["lost"] == 0 and events["stored"] == events["raised"], events
    assert events["on_feed"] == events["raised"] and events["incidents_evidence_missing"] == 0, events
    assert report["target"]["no_loss"] is True

    for name in ("incident_events", "incident_events_to_centre_database", "edge_to_nats", "nats_to_centre_database",
                 "nats_to_live_feed", "window_status"):
        latency = size["latency"][name]
        assert latency["n"] > 0, (name, latency)
        assert all(_finite(latency[key]) for key in ("p50_ms", "p99_ms", "max_ms")), (name, latency)
        assert latency["p50_ms"] <= latency["p99_ms"] <= latency["max_ms"], (name, latency)
    # The live feed comes after the database: an event's arrival on it is no earlier than its row.
    assert size["latency"]["incident_events"]["p50_ms"] >= size["latency"]["incident_events_to_centre_database"][
        "p50_ms"] - 50

    evidence = size["evidence"]
    assert evidence["files_stored"] > 0 and evidence["mb_per_s"] > 0, evidence
    assert evidence["files_written_at_edges"] > 0, evidence
    cpu = size["cpu_pct_of_one_core"]
    assert cpu["centre"] > 0 and cpu["nats"] > 0 and cpu["edges (simulated)"] > 0, cpu
    assert size["centre_rss_mb"]["end"] > 50, size["centre_rss_mb"]
    assert size["edge_processes"] == 2 and size["feed"]["connects"] >= 1
    assert report["growth"] is None  # one size

    text = format_report(report)
    assert "latency incident events p50/p99/max ms" in text and "no incident event lost" in text, text


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0], 99) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    assert percentile(list(range(101)), 99) == pytest.approx(99.0)
