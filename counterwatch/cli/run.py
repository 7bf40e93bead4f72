"""`counterwatch run`: cameras + perception + rules in worker processes, and the API in this process.

The parent opens the hall database (migrate, sync the config, close what a crash left open), serves the API and
dashboard from a uvicorn thread, and pumps the workers' messages on the main thread: every incident event is stored
(idempotently) and then published to the live feed; pause periods are recorded; camera states and window statuses
feed the registries behind /api/v1/cameras, /api/v1/windows, /readyz and /metrics. Queue-system pause/resume calls
for this hall's windows reach the workers through Runner.set_queue_pause (other halls' are dropped, see
hall_queue_control). Incidents also go to DATA_DIR/incidents.jsonl, as before.
On start, evidence and sampled frames that a killed run wrote but never stored a row for are deleted
(monitor_api.retention.sweep_orphans): at start, and once more when the grace period has passed.
"""
from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from cameras.health import CameraHealth
from counterwatch.cli._inputs import load_config_or_exit
from counterwatch.cli.serve import announce_accounts, api_settings, scoring_config_option, scoring_config_or_exit
from counterwatch.incidents.events import IncidentEvent
from counterwatch.runtime.messages import WorkerMessage

logger = logging.getLogger("counterwatch.run")


def hall_queue_control(hall_id: str,
                       set_queue_pause: Callable[[str, bool], None]) -> Callable[[str, str, bool], None]:
    """The API's queue control for the hall this process runs: a pause or resume naming another hall (its windows
    share ids with ours) is logged and dropped, never forwarded to this hall's workers."""
    def control(hall: str, window_id: str, paused: bool) -> None:
        if hall != hall_id:
            logger.warning("queue %s of %s/%s ignored: this process runs hall %s", "pause" if paused else "resume",
                           hall, window_id, hall_id)
            return
        set_queue_pause(window_id, paused)

    return control


class EdgeLink:
    """An edge's county link in `run`: the outbox writer for the bridge, the centre's commands, the uplink."""

    def __init__(self, config, database, data_dir: Path, set_queue_pause: Callable[[str, bool], None]) -> None:
        from counterwatch.county.edge import EdgeOutbox
        from counterwatch.county.nats_link import LinkConfigError

        assert config.uplink is not None
        self._config, self._database, self._data_dir = config, database, data_dir
        self._set_queue_pause = set_queue_pause
        self.outbox = EdgeOutbox(config.hall.id, data_dir, status_every_s=config.uplink.status_every_s,
                    stats_every_s=config.uplink.stats_every_s)
        self._uplink: Any = None
        try:
            from counterwatch.county.nats_link import connect_options, edge_inbox

            connect_options(config.uplink, config.base_dir, name="check", inbox_prefix=edge_inbox(config.hall.id))
        except LinkConfigError as error:
            raise click.ClickException(f"uplink: {error}") from None

    def recovered(self, incident_ids: tuple[str, ...], at: datetime) -> None:
        with self._database.write() as session:
            self.outbox.recovered(session, incident_ids, at)

    def wrap_queue_control(self, control: Callable[[str, str, bool], None]) -> Callable[[str, str, bool], None]:
        """Queue changes this edge's API receives also go to the centre (through the outbox)."""
        def forward(hall: str, window_id: str, paused: bool) -> None:
            control(hall, window_id, paused)
            if hall == self._config.hall.id:
                with self._database.write() as session:
                    self.outbox.queue_change(session, window_id, paused, datetime.now(UTC))

        return forward

    def start(self, services) -> None:
        from counterwatch.county.edge import EdgeCommands
        from counterwatch.county.uplink import Uplink

        def dropped(counts: dict[str, int]) -> None:
            for kind, count in counts.items():
                services.live.metrics.outbox_dropped.labels(kind).inc(count)

        from counterwatch.learning.runtime import registry_root

        commands = EdgeCommands(self._config.hall.id, self._database, self.outbox, self._set_queue_pause,
                                on_queue_change=lambda window, paused: services.live.set_queue_paused(
                                    self._config.hall.id, window, paused),
                                heads_root=registry_root(self._config).resolve())
        self._uplink = Uplink(self._config.uplink, self._config.base_dir, self._config.hall.id, self._database,
                              self._data_dir, commands=commands, report=services.live.set_link,
                              dropped=dropped).start()

    def stop(self) -> None:
        if self._uplink is not None:
            self._uplink.stop()


@click.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="Hall config file.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes; cameras are dealt round-robin into this many groups.")
@click.option("--seconds", default=0.0, type=float, help="Stop after this many seconds (0: until Ctrl-C or every "
              "file source has ended).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the API listens on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="API port (0: any).")
@click.option("--no-api", is_flag=True, help="Run the pipeline and store incidents without serving the API.")
@click.option("--cookie-secure", is_flag=True, help="Mark the session cookie Secure (serve behind TLS).")
@click.option("--bootstrap-users", is_flag=True, help="On a database without users, create `admin` and "
              "`supervisor` with generated passwords (printed once).")
@scoring_config_option
def run(config_path: str, workers: int, seconds: float, host: str, port: int, no_api: bool, cookie_secure: bool,
        bootstrap_users: bool, scoring_config_path: str | None) -> None:
    """Run cameras, perception, rules and the API; incidents go to the hall database (and incidents.jsonl)."""
    from counterwatch.incidents.media import remove_partials
    from counterwatch.incidents.sink import JsonlSink
    from counterwatch.private_files import private_data_dir
    from counterwatch.runtime.runner import Runner
    from monitor_api.app import build_services, create_app
    from monitor_api.ingest import PipelineBridge
    from monitor_api.retention import ORPHAN_GRACE_S, schedule_orphan_sweep, sweep_orphans_logged
    from monitor_api.server import ApiServer, ApiServerError
    from monitor_api.storage import StorageConfigError, open_hall_database

    config = load_config_or_exit(config_path)
    scoring_config = scoring_config_or_exit(scoring_config_path)  # before any camera, worker or database starts
    data_dir = private_data_dir(config.resolve(config.storage.data_dir))
    remove_partials(data_dir / "evidence")  # half-written evidence left by a crash, before any worker writes
    try:
        database, report = open_hall_database(config)
    except StorageConfigError as error:
        raise click.ClickException(str(error)) from None
    if report.recovered_incidents:
        click.echo(f"closed {len(report.recovered_incidents)} incident(s) left open by a crash")
    started = datetime.now(UTC)
    sweep_orphans_logged(database, data_dir, started - timedelta(seconds=ORPHAN_GRACE_S))
    runner = Runner(config, str(Path(config_path).resolve()), data_dir, workers=workers)
    settings = api_settings(config, cookie_secure=cookie_secure, expect_cameras=True, scoring_config=scoring_config)
    edge = EdgeLink(config, database, data_dir, runner.set_queue_pause) if config.uplink is not None else None
    if edge is not None:
        edge.recovered(report.recovered_incidents, started)
    control = hall_queue_control(config.hall.id, runner.set_queue_pause)
    services = build_services(settings, database=database,
                              queue_control=edge.wrap_queue_control(control) if edge is not None else control)
    bridge = PipelineBridge(services, config.hall.id, extra_sinks=(JsonlSink(data_dir),),
                            outbox=edge.outbox if edge is not None else None)
    if edge is not None:
        edge.start(services)
        click.echo(f"uplink: to {', '.join(config.uplink.servers if config.uplink else ())} (outbox in the hall "
                   "database)")
    click.echo(f"counterwatch run: hall {config.hall.id}, {len(config.cameras)} camera(s) in {len(runner.groups)} "
               f"worker(s); incidents -> {database!r} and {data_dir / 'incidents.jsonl'}")
    server = None
    if not no_api:
        announce_accounts(services, config, config_path, bootstrap_users)
        try:
            server = ApiServer(create_app(settings, services=services, prepare=False), host, port).start()
            click.echo(f"dashboard: {server.url}   API: {server.url}api/v1/docs")
        except ApiServerError as error:
            # Recording incidents matters more than showing them: keep the pipeline running without the API.
            click.echo(f"error: {error}; incidents are still stored", err=True)
            server = None

    def on_message(message: WorkerMessage) -> None:
        bridge.handle(message)
        match message:
            case IncidentEvent():
                click.echo(f"incident {message.kind.value}: {message.incident_type} window {message.window_id} "
                           f"[{message.incident_id}] {message.reason}")
            case CameraHealth():
                click.echo(f"camera {message.camera_id}: {message.state.value} ({message.reason})")

    def on_sigterm(_signum, _frame) -> None:
        raise KeyboardInterrupt  # the same orderly stop as Ctrl-C

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    runner.start()
    later_sweep = schedule_orphan_sweep(database, data_dir, started)
    try:
        runner.pump(on_message, seconds=seconds)
    except KeyboardInterrupt:
        click.echo("stopping")
        runner.stop()
        runner.pump(on_message)
    finally:
        signal.signal(signal.SIGTERM, previous)
        later_sweep.cancel()
        runner.stop()
        bridge.close()
        if edge is not None:
            edge.stop()
        if server is not None:
            server.stop()
        database.dispose()
