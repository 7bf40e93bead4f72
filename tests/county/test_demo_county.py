"""`counterwatch demo-county` end to end: real PostgreSQL and NATS JetStream from the wheels, the centre and two
edges running the real pipeline on the demo scene. The phone call at ~25 s of the scene is raised by both edges
and reaches the centre with its evidence (snapshot and clip, checked by sha256 through the centre's API); Ctrl-C
then stops everything (exit 0, every port closed)."""
from __future__ import annotations

import hashlib
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from counterwatch.config import load_config
from counterwatch.demo_scene import DEMO_SCRIPT, render_scene
from counterwatch.sign import sign_images
from tests.conftest import REPO

pytestmark = pytest.mark.slow

HALLS = ("demo-east", "demo-west")
# From the start of the command: the servers, the centre, the edges and their models (~20 s on 2 idle cores), then
# the phone call of the scene (10-35 s), raised at ~25 s, its clip written ~5 s later.
DEADLINE_S = 180.0


class Output:
    """The command's output lines, collected on a thread (so the pipe never fills)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(line.rstrip("\n"))

    def find(self, pattern: str) -> re.Match[str] | None:
        compiled = re.compile(pattern)
        return next((match for line in list(self.lines) if (match := compiled.search(line))), None)

    def tail(self, count: int = 60) -> str:
        return "\n".join(self.lines[-count:])

    def join(self) -> None:
        self._thread.join(10)


def _phone_incidents_with_evidence(client: httpx.Client) -> dict[str, dict]:
    """Per hall, a phone_use incident whose snapshot and clip the centre has."""
    found: dict[str, dict] = {}
    for hall in HALLS:
        page = client.get("/api/v1/incidents", params={"hall": hall, "type": "phone_use"})
        page.raise_for_status()
        for item in page.json()["items"]:
            detail = client.get(f"/api/v1/incidents/{item['id']}")
            detail.raise_for_status()
            kinds = {evidence["kind"] for evidence in detail.json()["evidence"] if evidence["url"]}
            if {"snapshot", "clip"} <= kinds:
                found[hall] = detail.json()
    return found


def _listening(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=1):
            return True
    except OSError:
        return False


def test_both_halls_incidents_reach_the_centre_with_their_evidence(tmp_path: Path) -> None:
    # The scene's first 40 s (both at work, w01's phone call, both at work), looped by the halls' cameras: the
    # whole 190 s scene takes longer to render than the test needs of it.
    scene = tmp_path / "scene.mp4"
    render_scene(scene, DEMO_SCRIPT[:3], sign_images(load_config(REPO / "configs/demo.yaml")))
    command = [str(Path(sys.executable).parent / "counterwatch"), "demo-county", "--config",
               str(REPO / "configs/demo.yaml"), "--scene", str(scene), "--dir",
               str(tmp_path / "county"), "--port", "0", "--seconds", "240"]
    started = time.monotonic()
    # Started with SIGINT ignored, as a parent that ignores it (an xdist worker, nohup) starts it: Ctrl-C must still
    # stop it.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    output = Output(process)
    try:
        centre = password = None
        while time.monotonic() - started < DEADLINE_S and process.poll() is None:
            centre_line = output.find(r"centre dashboard \(every hall\): (\S+)")
            manager_line = output.find(r"centre account manager \(manager: every hall's incidents\) password: (\S+)")
            if centre_line and manager_line:
                centre, password = centre_line[1], manager_line[1]
                break
            time.sleep(0.5)
        assert centre and password, output.tail()
        urls = [centre] + [match[1] for hall in HALLS
                           if (match := output.find(rf"hall {hall} dashboard \(this hall alone\): (\S+)"))]
        nats = output.find(r"NATS JetStream: nats://(\S+)")
        assert len(urls) == 3 and nats, output.tail()

        with httpx.Client(base_url=centre, timeout=10) as client:
            token = client.post("/api/v1/auth/token", json={"username": "manager", "password": password})
            token.raise_for_status()
            client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
            found: dict[str, dict] = {}
            while time.monotonic() - started < DEADLINE_S and process.poll() is None and len(found) < len(HALLS):
                found = _phone_incidents_with_evidence(client)
                time.sleep(2)
            assert sorted(found) == list(HALLS), output.tail()
            for hall, incident in found.items():
                assert incident["hall_id"] == hall and incident["window_id"] == "w01"
                assert not incident["evidence_missing"]
                for evidence in incident["evidence"]:
                    response = client.get(evidence["url"])
                    response.raise_for_status()
                    assert len(response.content) == evidence["bytes"] > 0
                    assert hashlib.sha256(response.content).hexdigest() == evidence["sha256"]
        arrived_s = time.monotonic() - started

        process.send_signal(signal.SIGINT)  # Ctrl-C: the edges, the centre and both servers stop
        assert process.wait(90) == 0, output.tail()
        output.join()
        assert output.find(r"^county demo stopped$"), output.tail()
        assert not [url for url in urls if _listening(url)]
        assert not _listening(f"http://{nats[1]}")
        print(f"both halls' incidents at the centre after {arrived_s:.0f} s")  # noqa: T201 (shown with -s)
    finally:
        if process.poll() is None:  # a failed check: stop it the orderly way (its children are in other sessions)
            process.terminate()
            try:
                process.wait(90)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(30)
