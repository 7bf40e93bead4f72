"""`counterwatch run` killed with SIGKILL: its worker processes die with it (a parent-death signal on Linux and, on
every platform, the worker's own watch of its parent), so no camera is read and no evidence written by a pipeline
whose parent is gone; and the next start removes evidence and sampled frames that no database row references.

Real processes: `counterwatch run` on a rendered scene with the real models; the process tree is read with psutil.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest
from ruamel.yaml import YAML

from counterwatch.config import load_config
from counterwatch.demo_scene import render_scene, segment
from counterwatch.incidents.events import EventKind, Evidence, IncidentEvent
from counterwatch.sign import sign_images
from monitor_api.storage import EvidenceStore, ingest_event, open_hall_database
from monitor_api.storage.labelling import record_label_sample
from tests.api.http.label_samples import Sample, render_jpeg
from tests.conftest import REPO

pytestmark = pytest.mark.slow

COUNTERWATCH = str(Path(sys.executable).parent / "counterwatch")


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    video = tmp_path_factory.mktemp("scene") / "scene.mp4"
    render_scene(video, (segment(3, ("w01", "w02")),), sign_images(load_config(REPO / "configs/demo.yaml")), fps=5.0)
    return video


def _hall_config(tmp_path: Path, video: Path, *, loop: bool) -> Path:
    yaml = YAML()
    document = yaml.load((REPO / "configs/demo.yaml").read_text(encoding="utf-8"))
    document["cameras"][0].update(source=str(video), loop=loop, pace="realtime" if loop else "fast")
    document["storage"] = {"url": "sqlite:///" + str(tmp_path / "db.sqlite"), "data_dir": str(tmp_path / "data")}
    path = tmp_path / "hall.yaml"
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(document, handle)
    return path


def _gone(process: psutil.Process) -> bool:
    """Ended: no such process, or a zombie waiting for whoever adopted it to reap it."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _wait_gone(processes: list[psutil.Process], timeout_s: float) -> list[psutil.Process]:
    """The processes still running after timeout_s."""
    deadline = time.monotonic() + timeout_s
    alive = list(processes)
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [p for p in alive if not _gone(p)]
    return alive


def _kill_all(processes: list[psutil.Process]) -> None:
    for process in processes:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass


def test_workers_die_when_run_is_killed(tmp_path: Path, scene: Path) -> None:
    config = _hall_config(tmp_path, scene, loop=True)
    log = tmp_path / "run.log"
    with log.open("w") as output:
        run = subprocess.Popen([COUNTERWATCH, "run", "--config", str(config), "--no-api", "--workers", "1"],
                               stdout=output, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    parent = psutil.Process(run.pid)
    descendants: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 45
        # Up: the worker has loaded its models and reports its camera online (the parent prints it).
        while "camera cam-demo: online" not in log.read_text(errors="replace"):
            assert run.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "no worker came up:\n" + log.read_text(errors="replace")[-3000:]
            time.sleep(0.2)
        descendants = parent.children(recursive=True)
        workers = [p for p in descendants if "multiprocessing" in " ".join(p.cmdline())]
        assert workers, [p.cmdline() for p in descendants]
        os.kill(run.pid, signal.SIGKILL)
        run.wait(timeout=10)
        alive = _wait_gone(descendants, timeout_s=5.0)
        assert not alive, f"still running 5 s after kill -9 of their parent: {[p.cmdline() for p in alive]}"
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(timeout=10)
        _kill_all(descendants)


def test_a_worker_whose_parent_died_exits_without_the_parent_death_signal(tmp_path: Path) -> None:
    """The portable backstop alone: a grandchild that never asked for a parent-death signal watches its parent
    with ParentWatch and exits once the parent is killed."""
    ready = tmp_path / "ready"
    child = textwrap.dedent(f"""
        import os, sys, time
        from pathlib import Path
        from counterwatch.parent_watch import ParentWatch
        watch = ParentWatch(os.getppid())
        Path({str(ready)!r}).write_text(str(os.getpid()))
        while not watch.parent_gone():
            time.sleep(0.05)
        sys.exit(0)
        """)
    middle = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time\n"
                               f"subprocess.Popen([sys.executable, '-c', {child!r}])\ntime.sleep(600)"],
                              cwd=REPO)
    grandchild = None
    try:
        deadline = time.monotonic() + 20
        while not ready.exists() or not ready.read_text():
            assert middle.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        grandchild = psutil.Process(int(ready.read_text()))
        assert grandchild.ppid() == middle.pid
        middle.kill()
        middle.wait(timeout=10)
        assert not _wait_gone([grandchild], timeout_s=3.0), "the grandchild kept running"
    finally:
        if middle.poll() is None:
            middle.kill()
            middle.wait(timeout=10)
        if grandchild is not None:
            _kill_all([grandchild])


def _write(path: Path, body: bytes, *, age_s: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    when = time.time() - age_s
    os.utime(path, (when, when))
    return path


def test_start_removes_evidence_and_samples_no_row_references(tmp_path: Path, scene: Path) -> None:
    config_path = _hall_config(tmp_path, scene, loop=False)
    config = load_config(config_path)
    data = tmp_path / "data"
    day = 24 * 3600.0
    kept = [_write(data / "evidence/inc-kept/snapshot.jpg", render_jpeg(40), age_s=day),
            _write(data / "evidence/inc-kept/clip.mp4", b"clip", age_s=day),
            _write(data / "samples/cam-demo/w01/20260301T013000000000Z.jpg", render_jpeg(60), age_s=day)]
    now = datetime.now(UTC)
    started = now - timedelta(days=1)
    database, _ = open_hall_database(config)
    try:
        with database.write() as session:
            ingest_event(session, IncidentEvent(
                kind=EventKind.CLOSED, incident_id="inc-kept", incident_type="absent_without_pause",
                hall_id="demo-hall", window_id="w01", camera_id="cam-demo", staff_id="s001",
                started_at=started, ended_at=started + timedelta(seconds=60), start_ts=0.0,
                ts=60.0, confidence=0.9, peak_confidence=0.9, reason="absent",
                evidence=Evidence(snapshot="evidence/inc-kept/snapshot.jpg", clip="evidence/inc-kept/clip.mp4")),
                evidence_store=EvidenceStore(data, min_free_bytes=0), now=now)
            record_label_sample(session, "demo-hall", Sample(
                "cam-demo", "w01", started, "samples/cam-demo/w01/20260301T013000000000Z.jpg",
                (("phone_use", 0.5, 0.5),), 1.0))
    finally:
        database.dispose()
    orphans = [_write(data / "evidence/inc-lost/snapshot.jpg", render_jpeg(80), age_s=day),
               _write(data / "evidence/inc-lost/clip.mp4", b"clip", age_s=day),
               _write(data / "samples/cam-demo/w02/20260301T013500000000Z.jpg", render_jpeg(90), age_s=day)]
    # Younger than the grace period: possibly still on its way to the database; kept for now.
    fresh = _write(data / "evidence/inc-fresh/snapshot.jpg", render_jpeg(100), age_s=5)
    # Not evidence: the incident log and the shadow log have no rows by design.
    others = [_write(data / "incidents.jsonl", b"{}\n", age_s=day),
              _write(data / "shadow/phone_use.jsonl", b"{}\n", age_s=day)]

    result = subprocess.run([COUNTERWATCH, "run", "--config", str(config_path), "--no-api", "--workers", "1",
                             "--seconds", "3"], capture_output=True, text=True, timeout=120, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert [path for path in orphans if path.exists()] == []
    assert not (data / "evidence/inc-lost").exists()
    assert all(path.exists() for path in (*kept, fresh, *others))
    assert "removed 3 orphaned evidence file(s)" in output, output[-3000:]
