"""A live hall for the browser tests, wired exactly as `counterwatch run` wires it (counterwatch/cli/run.py):
the hall database opened and migrated, the API and dashboard served by uvicorn in a thread on a loopback port,
and the real pipeline (Runner worker processes: cameras, perception, rules, evidence) pumped into the API's
PipelineBridge, which stores each incident event and publishes it to the live feed."""
from __future__ import annotations

import threading
from pathlib import Path

from ruamel.yaml import YAML

from counterwatch.config import HallConfig, load_config
from counterwatch.demo_scene import Segment, render_scene
from counterwatch.sign import sign_images
from tests.conftest import REPO

HALL_ID = "demo-hall"
SESSION_SECRET = "dashboard-test-session-secret-0123456789"


def write_hall_config(tmp_path: Path, video: Path, *, dwell_s: float) -> Path:
    """configs/demo.yaml playing `video` once in real time, with storage under tmp_path and a short dwell."""
    yaml = YAML()
    document = yaml.load((REPO / "configs/demo.yaml").read_text(encoding="utf-8"))
    camera = document["cameras"][0]
    camera["source"] = str(video)
    camera["loop"] = False
    camera["pace"] = "realtime"  # the wall shows the incident while it lasts, as it would in a hall
    document["rules"] = {"absent_without_pause": {"dwell_s": dwell_s, "return_s": 2}}
    document["storage"] = {"url": "sqlite:///" + str(tmp_path / "counterwatch.db"), "data_dir": str(tmp_path / "data")}
    path = tmp_path / "hall.yaml"
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(document, handle)
    return path


def render_hall_scene(tmp_path: Path, script: tuple[Segment, ...]) -> Path:
    video = tmp_path / "scene.mp4"
    render_scene(video, script, sign_images(load_config(REPO / "configs/demo.yaml")), fps=5.0)
    return video


class LiveHall:
    """start() serves the API; start_pipeline() runs the cameras; stop() ends both."""

    def __init__(self, config_path: Path) -> None:
        from counterwatch.runtime.runner import Runner
        from monitor_api.app import build_services, create_app
        from monitor_api.ingest import PipelineBridge
        from monitor_api.settings import ApiSettings
        from monitor_api.storage import database_url, open_hall_database

        self.config_path = config_path
        self.config: HallConfig = load_config(config_path)
        self.data_dir = self.config.resolve(self.config.storage.data_dir).resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.database, _ = open_hall_database(self.config)
        self.runner = Runner(self.config, str(config_path.resolve()), self.data_dir, workers=1)
        # Cheap Argon2 parameters: the test measures the dashboard, not password hashing.
        self.settings = ApiSettings(database_url=database_url(self.config), data_dir=self.data_dir,
                                    halls=(self.config,), session_secret=SESSION_SECRET, argon2_time_cost=1,
                                    argon2_memory_kib=8 * 1024, argon2_parallelism=1)
        self.services = build_services(self.settings, database=self.database, queue_control=lambda _hall, window_id,
                                       paused: self.runner.set_queue_pause(window_id, paused))
        self.bridge = PipelineBridge(self.services, self.config.hall.id)
        self.app = create_app(self.settings, services=self.services, prepare=False)
        self.server = None
        self._pump: threading.Thread | None = None
        self._runner_started = False
        self.pump_error: BaseException | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url.rstrip("/")

    def start(self) -> LiveHall:
        from monitor_api.server import ApiServer

        self.server = ApiServer(self.app, "127.0.0.1", 0).start()
        return self

    def add_user(self, username: str, password: str, role: str, display_name: str,
                 halls: tuple[str, ...] = ()) -> None:
        from monitor_api.accounts import add_user
        from monitor_api.storage import Actor
        from monitor_api.storage.models import Role

        with self.database.write() as session:
            add_user(session, self.services.passwords, Actor.system("test"), username=username, password=password,
                     role=Role(role), display_name=display_name, halls=halls)

    def start_pipeline(self) -> None:
        def pump() -> None:
            try:
                self.runner.pump(self.bridge.handle)
            except BaseException as error:  # noqa: BLE001 - reported by the test
                self.pump_error = error

        self.runner.start()
        self._runner_started = True
        self._pump = threading.Thread(target=pump, name="test-pump", daemon=True)
        self._pump.start()

    def wait_pipeline(self, timeout_s: float) -> bool:
        """True when every worker finished its (non-looping) video within the timeout."""
        if self._pump is None:
            return True
        self._pump.join(timeout_s)
        return not self._pump.is_alive()

    def stop(self) -> None:
        try:
            if self._runner_started:
                self.runner.stop(timeout=10)
            if self._pump is not None:
                self._pump.join(10)
        finally:
            self.bridge.close()
            if self.server is not None:
                self.server.stop()
            self.database.dispose()
