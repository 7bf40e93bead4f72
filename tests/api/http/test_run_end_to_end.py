"""`counterwatch run` end to end: cameras + perception + rules + API in one process tree, on a rendered scene.

Accounts and a queue-system key are made with the CLI first; then over real HTTP: log in, see the absence incident
the pipeline raised, pause a window with the key and see the pause reach the workers (their window status comes
back with the queue as its source), and stop the service with SIGTERM.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from click.testing import CliRunner
from ruamel.yaml import YAML
from websockets.sync.client import connect

from counterwatch.cli import main as cli
from counterwatch.config import load_config
from counterwatch.demo_scene import render_scene, segment
from counterwatch.sign import sign_images
from tests.conftest import REPO

PASSWORD = "a long enough password"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _hall_config(tmp_path: Path, video: Path) -> Path:
    yaml = YAML()
    document = yaml.load((REPO / "configs/demo.yaml").read_text(encoding="utf-8"))
    camera = document["cameras"][0]
    camera.update(source=str(video), loop=True, pace="fast")
    document["rules"] = {"absent_without_pause": {"dwell_s": 6, "return_s": 2}}
    document["storage"] = {"url": "sqlite:///" + str(tmp_path / "db.sqlite"), "data_dir": str(tmp_path / "data")}
    path = tmp_path / "hall.yaml"
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(document, handle)
    return path


def _wait_for(predicate, timeout: float, what: str, process: subprocess.Popen, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"counterwatch run exited ({process.returncode}) waiting for {what}:\n"
                                 f"{log.read_text(errors='replace')[-3000:]}")
        result = predicate()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}:\n{log.read_text(errors='replace')[-3000:]}")


def test_run_serves_the_api_with_incidents_from_the_pipeline(tmp_path: Path) -> None:
    video = tmp_path / "scene.mp4"
    pages = sign_images(load_config(REPO / "configs/demo.yaml"))
    render_scene(video, (segment(4, ("w01", "w02")), segment(14, ("w02",)), segment(4, ("w01", "w02"))), pages,
                 fps=5.0)
    config = _hall_config(tmp_path, video)
    runner = CliRunner()
    added = runner.invoke(cli, ["users", "add", "sup", "--role", "supervisor", "--hall", "demo-hall",
                                "--password-stdin", "--config", str(config)], input=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    assert PASSWORD not in added.output
    made = runner.invoke(cli, ["keys", "create", "--name", "叫号系统", "--scope", "queue:pause", "--hall",
                               "demo-hall", "--config", str(config)])
    assert made.exit_code == 0, made.output
    key = made.output.strip().splitlines()[-1]
    assert key.startswith("cwk_")
    made = runner.invoke(cli, ["keys", "create", "--name", "prometheus", "--scope", "metrics:read", "--hall",
                               "demo-hall", "--config", str(config)])
    assert made.exit_code == 0, made.output
    monitoring = {"Authorization": f"Bearer {made.output.strip().splitlines()[-1]}"}

    port = _free_port()
    log = tmp_path / "run.log"
    with log.open("w") as output:
        process = subprocess.Popen([str(Path(sys.executable).parent / "counterwatch"), "run", "--config", str(config),
                                    "--workers", "1", "--port", str(port)], stdout=output, stderr=subprocess.STDOUT,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=5.0) as client:
            def healthy() -> bool:
                try:
                    return client.get("/healthz").status_code == 200
                except httpx.TransportError:
                    return False

            _wait_for(healthy, 60, "the API", process, log)
            login = client.post("/api/v1/auth/login", json={"username": "sup", "password": PASSWORD})
            assert login.status_code == 200, login.text

            def absence() -> dict | None:
                items = client.get("/api/v1/incidents", params={"type": "absent_without_pause"}).json()["items"]
                return items[0] if items else None

            incident = _wait_for(absence, 90, "an absence incident", process, log)
            assert incident["window_id"] == "w01" and incident["staff_id"] == "s001"
            assert incident["hall_id"] == "demo-hall" and incident["review_state"] == "pending"
            detail = client.get(f"/api/v1/incidents/{incident['id']}").json()
            assert any(item["kind"] == "snapshot" for item in detail["evidence"]), detail
            cameras = client.get("/api/v1/cameras").json()
            assert cameras[0]["camera_id"] == "cam-demo" and cameras[0]["state"] == "online"

            ws_url = f"ws://127.0.0.1:{port}/api/v1/events/ws"
            with connect(ws_url, additional_headers={"Cookie": f"cw_session={client.cookies['cw_session']}"},
                         open_timeout=5) as websocket:
                assert json.loads(websocket.recv(timeout=5))["type"] == "hello"
                paused = client.post("/api/v1/windows/w02/pause", headers={"X-API-Key": key})
                assert paused.status_code == 200, paused.text
                walls = {w["window_id"]: w for w in client.get("/api/v1/windows").json()}
                assert walls["w02"]["status"] == "paused" and walls["w02"]["pause_source"] == "queue"
                # The workers' own report (it carries the camera) shows the queue's pause: the command got there.
                deadline = time.monotonic() + 30
                while True:
                    message = json.loads(websocket.recv(timeout=max(0.1, deadline - time.monotonic())))
                    if (message["type"] == "window.status" and message.get("window_id") == "w02"
                            and message.get("camera_id") == "cam-demo" and message.get("paused")):
                        assert message["pause_source"] == "queue"
                        break
            assert client.post("/api/v1/windows/w02/resume", headers={"X-API-Key": key}).status_code == 200
            ready = client.get("/readyz", headers=monitoring).json()
            assert ready["checks"]["database"]["ok"] and ready["checks"]["cameras"]["required"]
            assert "counterwatch_frames_processed_total" in client.get("/metrics", headers=monitoring).text
            assert client.get("/metrics").status_code == 403  # the supervisor's session: not for monitoring
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0, log.read_text(errors="replace")[-3000:]
    output = log.read_text(errors="replace")
    assert f"dashboard: http://127.0.0.1:{port}/" in output and PASSWORD not in output
    # The camera's observed time was recorded (what reports tell unknown time from), its end written on the stop.
    from monitor_api.storage import Database
    from monitor_api.storage.models import ObservedSpanRow

    database = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        with database.read() as session:
            spans = [(row.hall_id, row.camera_id, row.started_at, row.ended_at)
                     for row in session.query(ObservedSpanRow)]
    finally:
        database.dispose()
    assert spans and {span[:2] for span in spans} == {("demo-hall", "cam-demo")}
    assert max((end - start).total_seconds() for *_, start, end in spans) > 0
