"""`counterwatch run`: process every camera of a hall and deliver incident events to the sink."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click


@click.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="Hall config file.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes; cameras are dealt round-robin into this many groups.")
@click.option("--seconds", default=0.0, type=float, help="Stop after this many seconds (0: until Ctrl-C or every "
              "file source has ended).")
def run(config_path: str, workers: int, seconds: float) -> None:
    """Run cameras, perception and rules; write incidents to DATA_DIR/incidents.jsonl with evidence files."""
    from counterwatch.cli import _load_or_exit
    from counterwatch.incidents.media import remove_partials
    from counterwatch.incidents.sink import JsonlSink
    from counterwatch.runner import Runner

    config = _load_or_exit(config_path)
    assert config is not None
    data_dir = config.resolve(config.storage.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    remove_partials(data_dir / "evidence")  # half-written evidence left by a crash, before any worker writes
    sink = JsonlSink(data_dir)
    pauses = (data_dir / "pauses.jsonl").open("a", encoding="utf-8")
    runner = Runner(config, str(Path(config_path).resolve()), data_dir, workers=workers)
    click.echo(f"counterwatch run: hall {config.hall.id}, {len(config.cameras)} camera(s) in {len(runner.groups)} "
               f"worker(s); incidents -> {data_dir / 'incidents.jsonl'}")

    def on_message(kind: str, payload) -> None:
        if kind == "incident":
            sink.deliver(payload)
            click.echo(f"incident {payload.kind.value}: {payload.incident_type} window {payload.window_id} "
                       f"[{payload.incident_id}] {payload.reason}")
        elif kind == "pause":
            record = asdict(payload)
            record["started_at"] = payload.started_at.isoformat()
            record["ended_at"] = payload.ended_at.isoformat() if payload.ended_at else None
            pauses.write(json.dumps(record, ensure_ascii=False) + "\n")
            pauses.flush()
        elif kind == "camera":
            click.echo(f"camera {payload.camera_id}: {payload.state.value} ({payload.reason})")

    runner.start()
    try:
        runner.pump(on_message, seconds=seconds)
    except KeyboardInterrupt:
        click.echo("stopping")
        runner.stop()
        runner.pump(on_message)
    finally:
        runner.stop()
        sink.close()
        pauses.close()
