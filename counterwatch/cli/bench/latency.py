"""What `counterwatch bench latency` measures: how long after the dwell threshold is reached an alert reaches a live
feed subscriber, from the wall time of the frame on which the rule's threshold was reached to its arrival.

The real service is measured: `counterwatch run` is started as a subprocess in a temporary directory on a copy of
the hall config (every camera plays the rendered demo scene, or `scene`, looping in real time; the database and
evidence in the temporary directory). A manager account is created there with `counterwatch users add` before the
start; once the API is up, the benchmark gets a bearer token (POST /api/v1/auth/token) and subscribes to the live
feed, GET /api/v1/events/stream (Server-Sent Events), over HTTP with httpx. Every `incident.opened` message is an
alert: the time it arrived (this machine's wall clock, when the event's blank line was read) is recorded. Listening
starts when every camera is online and lasts `seconds`; then the service is stopped with SIGTERM.

The frame time. The live message carries the incident's `started_at` (the onset frame's wall time, not the alert
frame's) and no stream time. The opened IncidentEvent has `start_ts` (stream seconds of the onset) and `ts` (stream
seconds of the frame that opened it: the dwell reached); it is read from DATA_DIR/incidents.jsonl, where the
service writes every event. The alert frame's wall time is then `started_at + (ts - start_ts)`. With a file paced
in real time a frame's wall time is the time it was read, which the source holds to the pacing origin plus its stream
time, so this is the alert frame's read time give or take the reader's lateness at the onset frame (it under-reads
the latency by that much) or at the alert frame (it over-reads by that much). `started_at - start_ts` is that pacing
origin: its spread over the alerts of one camera bounds that lateness, and is reported.
Latency = arrival - frame wall time, both from this machine's clock.
"""
from __future__ import annotations

import json
import logging
import os
import re
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from counterwatch.cli.bench.soak import _run_command, _sigterm_interrupts, _stop, _stop_with_soak, _tail

TARGET_MS = 1000.0  # an alert is published within 1 s of the dwell threshold being reached
STARTUP_TIMEOUT_S = 300.0  # launch to every camera online: the worker loads every model first
API_TIMEOUT_S = 120.0  # launch to the API listening (before the workers start)
USERNAME = "latency-bench"
FEED_PATH = "api/v1/events/stream"
FRAME_TIME_SOURCE = ("started_at (live message: the onset frame's wall time) + (ts - start_ts) (the opened event "
                     "in DATA_DIR/incidents.jsonl: stream seconds from the onset to the frame that reached the dwell)")
_DASHBOARD = re.compile(r"^dashboard: (http://\S+?/?)\s", re.MULTILINE)


class LatencyError(Exception):
    """The service could not be measured: it exited early, never came up, or the feed refused the subscriber.
    `stderr_tail` holds the service's last stderr lines."""

    def __init__(self, message: str, stderr_tail: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.stderr_tail = list(stderr_tail)


@dataclass
class _Feed:
    """The live feed subscriber: a thread that reads the SSE stream and keeps every incident.opened message with its
    arrival time (first arrival per incident id). Reconnects when the stream ends while the service runs."""

    base_url: str
    token: str
    alerts: dict[str, tuple[datetime, dict[str, Any]]] = field(default_factory=dict)
    messages: int = 0
    connects: int = 0
    error: str | None = None
    connected: threading.Event = field(default_factory=threading.Event)
    stopping: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="latency-feed", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream"}
        # No read timeout: the feed sends a keep-alive comment every 15 s, and the service's stop ends the stream.
        with httpx.Client(timeout=httpx.Timeout(10.0, read=None)) as client:
            while not self.stopping.is_set():
                try:
                    with client.stream("GET", self.base_url + FEED_PATH, headers=headers) as response:
                        if response.status_code != 200:
                            response.read()
                            self.error = f"GET /{FEED_PATH}: HTTP {response.status_code} {response.text[:200]}"
                            self.connected.set()
                            return
                        self.connects += 1
                        self.connected.set()
                        self._read(response.iter_lines())
                except httpx.HTTPError as error:
                    if self.stopping.is_set():
                        return
                    if not self.connected.is_set():
                        self.error = f"GET /{FEED_PATH}: {error!r}"
                        self.connected.set()
                        return
                if not self.stopping.is_set():
                    time.sleep(0.2)  # the stream ended while the service runs (a slow subscriber is dropped)

    def _read(self, lines: Any) -> None:
        data: list[str] = []
        for line in lines:
            if line:
                if line.startswith("data:"):
                    data.append(line[5:].removeprefix(" "))
                continue  # event:, retry:, and ": keep-alive" comments
            if not data:
                continue
            arrival = datetime.now(UTC)  # the blank line that ends the event has been read
            message = json.loads("\n".join(data))
            data = []
            self.messages += 1
            self._handle(arrival, message)

    def _handle(self, arrival: datetime, message: dict[str, Any]) -> None:
        """One live message and the time it arrived: keeps the first incident.opened of each incident (a subclass
        keeps what it measures: counterwatch.cli.bench.county)."""
        if message.get("type") == "incident.opened":
            incident = message.get("incident") or {}
            self.alerts.setdefault(str(incident.get("id")), (arrival, message))


def _absolute(base: Path, value: str) -> str:
    return str((base / value).resolve()) if not Path(value).is_absolute() else value


def hall_config(source_config: Path, scene: Path, workdir: Path) -> dict[str, Any]:
    """A copy of `source_config` as a service of its own: every camera loops `scene` in real time; the database and
    evidence live in `workdir`; paths the config names relative to itself are made absolute."""
    from ruamel.yaml import YAML

    document: dict[str, Any] = YAML(typ="safe").load(source_config.read_text(encoding="utf-8"))
    base = source_config.resolve().parent
    for camera in document.get("cameras") or []:
        camera.update(source=str(scene.resolve()), loop=True, pace="realtime")
    storage = dict(document.get("storage") or {})
    storage.update(url="sqlite:///" + str(workdir / "hall.sqlite"), data_dir=str(workdir / "data"))
    document["storage"] = storage
    models = document.get("models")
    if models:
        # null heads_registry: data/models/heads of the working directory, the empty workdir (the shipped heads)
        if models.get("heads_registry"):
            models["heads_registry"] = _absolute(base, models["heads_registry"])
        if models.get("manifest_dirs"):
            models["manifest_dirs"] = [_absolute(base, entry) for entry in models["manifest_dirs"]]
    calendar = document.get("calendar")
    if calendar and calendar.get("national"):
        calendar["national"] = [_absolute(base, entry) for entry in calendar["national"]]
    return document


def _scene_seconds(scene: Path) -> float | None:
    import cv2

    capture = cv2.VideoCapture(str(scene))
    try:
        frames, fps = capture.get(cv2.CAP_PROP_FRAME_COUNT), capture.get(cv2.CAP_PROP_FPS)
    finally:
        capture.release()
    return round(frames / fps, 1) if frames > 0 and fps > 0 else None


def _create_user(config_path: Path, workdir: Path) -> str:
    """A manager (the live feed is for supervisors of the hall and managers), created the documented way:
    `counterwatch users add`, against the service's database. Returns the password."""
    from monitor_api.auth.passwords import generate_password

    password = generate_password()
    result = subprocess.run([*_run_command(), "users", "add", USERNAME, "--role", "manager", "--password-stdin",
                             "--config", str(config_path)], input=password + "\n", capture_output=True, text=True,
                            cwd=workdir, timeout=120, check=False)
    if result.returncode != 0:
        raise LatencyError(f"counterwatch users add failed with code {result.returncode}",
                           result.stderr.splitlines()[-20:])
    return password


def _wait_api(service: subprocess.Popen[bytes], stdout: Path, stderr: Path) -> str:
    """The API's base URL (with a trailing slash) once `counterwatch run` printed it."""
    started = time.monotonic()
    while True:
        text = stdout.read_text(encoding="utf-8", errors="replace") if stdout.exists() else ""
        found = _DASHBOARD.search(text)
        if found:
            url = found.group(1)
            return url if url.endswith("/") else url + "/"
        if service.poll() is not None:
            raise LatencyError(f"counterwatch run exited with code {service.returncode} before its API was up",
                               _tail(stderr))
        if "camera " in text and ": online" in text:
            raise LatencyError("counterwatch run: cameras online but no API (see its stderr)", _tail(stderr))
        if time.monotonic() - started > API_TIMEOUT_S:
            raise LatencyError(f"counterwatch run: no API {API_TIMEOUT_S:.0f} s after launch", _tail(stderr))
        time.sleep(0.1)


def _token(base_url: str, password: str) -> str:
    import httpx

    response = httpx.post(base_url + "api/v1/auth/token", json={"username": USERNAME, "password": password},
                          timeout=30.0)
    if response.status_code != 200:
        raise LatencyError(f"POST /api/v1/auth/token: HTTP {response.status_code} {response.text[:200]}")
    return str(response.json()["access_token"])


def _wait_online(service: subprocess.Popen[bytes], stdout: Path, stderr: Path, camera_ids: Sequence[str],
                 started: float) -> None:
    wanted = [f"camera {camera_id}: online" for camera_id in camera_ids]
    while True:
        if service.poll() is not None:
            raise LatencyError(f"counterwatch run exited with code {service.returncode} before its cameras came "
                               f"online", _tail(stderr))
        text = stdout.read_text(encoding="utf-8", errors="replace") if stdout.exists() else ""
        if all(line in text for line in wanted):
            return
        if time.monotonic() - started > STARTUP_TIMEOUT_S:
            raise LatencyError(f"counterwatch run: cameras not online {STARTUP_TIMEOUT_S:.0f} s after launch",
                               _tail(stderr))
        time.sleep(0.1)


def _opened_events(data_dir: Path) -> dict[str, dict[str, Any]]:
    """incident id -> its opened event, from DATA_DIR/incidents.jsonl."""
    path = data_dir / "incidents.jsonl"
    events: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return events
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        event = json.loads(line)
        if event.get("kind") == "opened":
            events.setdefault(str(event["incident_id"]), event)
    return events


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds")


def alert_rows(alerts: dict[str, tuple[datetime, dict[str, Any]]],
               opened: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per alert, in order of arrival: what the feed said, the frame wall time, the arrival and the
    latency (None where the opened event was not found)."""
    rows = []
    for incident_id, (arrival, message) in sorted(alerts.items(), key=lambda item: item[1][0]):
        incident = message["incident"]
        started_at = datetime.fromisoformat(incident["started_at"])
        row: dict[str, Any] = {
            "incident_id": incident_id, "type": incident["type"], "window_id": incident["window_id"],
            "camera_id": incident["camera_id"], "started_at": _iso(started_at), "start_ts": None, "ts": None,
            "dwell_reached_after_s": None, "frame_wall_time": None, "arrival": _iso(arrival), "latency_ms": None,
            "pacing_origin": None,
        }
        event = opened.get(incident_id)
        if event is not None:
            start_ts, ts = float(event["start_ts"]), float(event["ts"])
            if datetime.fromisoformat(event["started_at"]) != started_at:
                raise LatencyError(f"incident {incident_id}: started_at differs between the live message "
                                   f"({incident['started_at']}) and incidents.jsonl ({event['started_at']})")
            frame_time = started_at + timedelta(seconds=ts - start_ts)
            row.update(start_ts=round(start_ts, 3), ts=round(ts, 3), dwell_reached_after_s=round(ts - start_ts, 3),
                       frame_wall_time=_iso(frame_time),
                       latency_ms=round((arrival - frame_time).total_seconds() * 1000.0, 1),
                       pacing_origin=_iso(started_at - timedelta(seconds=start_ts)))
        rows.append(row)
    return rows


def summarize(rows: Sequence[dict[str, Any]], target_ms: float = TARGET_MS) -> dict[str, Any]:
    """p50 and max of the measured latencies, the verdict against `target_ms` (every alert within it), and the
    spread of the pacing origins per camera (how late the reader was at the onset frames, at most)."""
    latencies = [float(row["latency_ms"]) for row in rows if row["latency_ms"] is not None]
    over = [row["incident_id"] for row in rows if row["latency_ms"] is not None and row["latency_ms"] > target_ms]
    origins: dict[str, list[datetime]] = {}
    for row in rows:
        if row["pacing_origin"] is not None:
            origins.setdefault(row["camera_id"], []).append(datetime.fromisoformat(row["pacing_origin"]))
    spread = {camera: round((max(values) - min(values)).total_seconds() * 1000.0, 1)
              for camera, values in origins.items()}
    measured = bool(latencies)
    return {
        "alerts": len(rows), "measured": len(latencies),
        "unmatched": [row["incident_id"] for row in rows if row["latency_ms"] is None],
        "p50_ms": round(statistics.median(latencies), 1) if measured else None,
        "max_ms": round(max(latencies), 1) if measured else None,
        "min_ms": round(min(latencies), 1) if measured else None,
        "target_ms": target_ms, "over_target": over,
        "meets_target": (not over) if measured else None,
        "verdict": ("met" if not over else "not met") if measured else "not measured",
        "pacing_origin_spread_ms": spread,
    }


def _render_demo_scene(config_path: Path, out: Path) -> None:
    from counterwatch.config import load_config
    from counterwatch.demo_scene import DEMO_SCRIPT, render_scene
    from counterwatch.sign import sign_images

    render_scene(out, DEMO_SCRIPT, sign_images(load_config(config_path)))


def measure_latency(config_path: str, seconds: float, scene: str | None = None,
                    progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the service on a copy of `config_path` (its cameras playing `scene`, else the demo scene rendered here),
    listen to the live feed for `seconds` after every camera is online, and return the report `counterwatch bench
    latency` prints. Raises LatencyError when the service exits early, never comes up or refuses the subscriber."""
    from ruamel.yaml import YAML

    from counterwatch.config import load_config

    def say(line: str) -> None:
        if progress is not None:
            progress(line)

    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request of the benchmark's own client
    source_config = Path(config_path)
    with tempfile.TemporaryDirectory(prefix="counterwatch-latency-") as scratch:
        workdir = Path(scratch)
        if scene is None:
            scene_path = workdir / "scene.mp4"
            say("rendering the demo scene")
            _render_demo_scene(source_config, scene_path)
        else:
            scene_path = Path(scene)
        hall_path = workdir / "hall.yaml"
        with hall_path.open("w", encoding="utf-8") as handle:
            YAML(typ="safe").dump(hall_config(source_config, scene_path, workdir), handle)
        config = load_config(hall_path)
        data_dir = config.resolve(config.storage.data_dir)
        password = _create_user(hall_path, workdir)
        stdout, stderr = workdir / "run.out", workdir / "run.err"
        command = [*_run_command(), "run", "--config", str(hall_path), "--workers", "1", "--port", "0"]
        with stdout.open("wb") as out, stderr.open("wb") as err:
            launched = time.monotonic()
            service = subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=workdir,
                                       env={**os.environ, "PYTHONUNBUFFERED": "1"}, preexec_fn=_stop_with_soak)
        feed: _Feed | None = None
        stop: dict[str, Any] | None = None
        previous_sigterm = _sigterm_interrupts()
        try:
            base_url = _wait_api(service, stdout, stderr)
            feed = _Feed(base_url, _token(base_url, password))
            feed.start()
            feed.connected.wait(30.0)
            if feed.error is not None or not feed.connected.is_set():
                raise LatencyError(feed.error or "the live feed did not answer within 30 s", _tail(stderr))
            say(f"subscribed to {base_url}{FEED_PATH} as {USERNAME} (manager)")
            _wait_online(service, stdout, stderr, [camera.id for camera in config.cameras], launched)
            ready_s = time.monotonic() - launched
            say(f"counterwatch run (pid {service.pid}) cameras online after {ready_s:.1f} s; listening {seconds:g} s")
            deadline = time.monotonic() + seconds
            shown = 0
            while (left := deadline - time.monotonic()) > 0:
                if service.poll() is not None:
                    raise LatencyError(f"counterwatch run exited early with code {service.returncode}",
                                       _tail(stderr))
                for _, message in list(feed.alerts.values())[shown:]:
                    incident = message["incident"]
                    say(f"alert {incident['type']} at {incident['window_id']}")
                shown = len(feed.alerts)
                time.sleep(min(left, 0.25))
            listened_s = time.monotonic() - deadline + seconds
            stop = _stop(service)
        finally:
            if previous_sigterm is not None:
                signal.signal(signal.SIGTERM, previous_sigterm)
            if stop is None and service.poll() is None:  # an error, Ctrl-C, SIGTERM: never leave it running
                _stop(service)
            if feed is not None:
                feed.stop()
        rows = alert_rows(dict(feed.alerts), _opened_events(data_dir))
        scene_s = _scene_seconds(scene_path)
    return {
        "config": str(source_config), "scene": "demo scene rendered here" if scene is None else str(scene),
        "scene_s": scene_s, "seconds": seconds, "ready_after_s": round(ready_s, 1),
        "listened_s": round(listened_s, 1), "feed": {"url_path": "/" + FEED_PATH, "messages": feed.messages,
                                                     "connects": feed.connects},
        "frame_time": FRAME_TIME_SOURCE, "arrival_time": "this machine's wall clock when the SSE event was read",
        "alerts": rows, "summary": summarize(rows), "stop": stop,
    }


def format_report(report: dict[str, Any]) -> str:
    summary = report["summary"]
    length = "" if report["scene_s"] is None else f", {report['scene_s']:g} s"
    lines = [f"alert latency of counterwatch run ({report['config']}, {report['scene']}{length}, looping in real "
             f"time): listened {report['listened_s']:g} s on {report['feed']['url_path']} from every camera online "
             f"({report['ready_after_s']:g} s after launch)",
             f"{'type':22s} {'window':6s} {'ts-onset':>8s}  {'frame wall time (UTC)':29s}  {'arrival (UTC)':29s}  "
             f"{'latency':>10s}"]
    for row in report["alerts"]:
        latency = "-" if row["latency_ms"] is None else f"{row['latency_ms']:.1f} ms"
        dwell = "-" if row["dwell_reached_after_s"] is None else f"{row['dwell_reached_after_s']:.1f} s"
        lines.append(f"{row['type']:22s} {row['window_id']:6s} {dwell:>8s}  {row['frame_wall_time'] or '-':29s}  "
                     f"{row['arrival']:29s}  {latency:>10s}")
    if summary["measured"]:
        lines.append(f"{summary['measured']} alert(s): p50 {summary['p50_ms']:.1f} ms, max {summary['max_ms']:.1f} ms "
                     f"(min {summary['min_ms']:.1f} ms)")
    else:
        lines.append("no alert measured")
    if summary["unmatched"]:
        lines.append(f"no opened event in incidents.jsonl for {', '.join(summary['unmatched'])}")
    target = f"alert published <= {summary['target_ms'] / 1000:g} s after the dwell is reached"
    if summary["verdict"] == "met":
        lines.append(f"target {target}: met by every alert")
    elif summary["verdict"] == "not met":
        lines.append(f"target {target}: not met by {len(summary['over_target'])} alert(s)")
    else:
        lines.append(f"target {target}: not measured (no alert in {report['listened_s']:g} s)")
    lines.append(f"frame time: {report['frame_time']}")
    spread = ", ".join(f"{camera} {value:.1f} ms" for camera, value in summary["pacing_origin_spread_ms"].items())
    if spread:
        lines.append(f"pacing origin (started_at - start_ts) spread over the alerts: {spread} (the reader's lateness "
                     f"at the onset frames, at most)")
    stop = report["stop"]
    lines.append(f"stopped with {stop['signal']}: exit code {stop['exit_code']} after {stop['seconds']} s"
                 f"{' (killed: no exit in time)' if stop['killed_after_timeout'] else ''}")
    return "\n".join(lines)
