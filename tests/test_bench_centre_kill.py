"""`counterwatch bench centre-kill`: the real centre killed with SIGKILL mid-ingest (here twice) and started again,
through real NATS and PostgreSQL; the command checks that nothing was lost or repeated and says so."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

COUNTERWATCH = str(Path(sys.executable).parent / "counterwatch")


def test_bench_centre_kill_reports_nothing_lost() -> None:
    done = subprocess.run([COUNTERWATCH, "bench", "centre-kill", "--kills", "2", "--every-s", "0.2", "--json"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["kills"] == 2 and report["problems"] == []
    assert report["incidents_raised"] >= 2
    assert report["events_stored"] == report["events_raised"] == 4 * report["incidents_raised"]
    assert report["restart_to_storing_s"]["max"] > 0
