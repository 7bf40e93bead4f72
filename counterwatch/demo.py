"""`counterwatch demo`: run cameras + perception on a config and print what each window looks like.

Until the API exists this is the pipeline's visible output; the behaviour-rules stage will turn the same stream
into incidents.
"""
from __future__ import annotations

import logging
import time

import click

from counterwatch.config import HallConfig
from vision.observation import Observation

log = logging.getLogger("counterwatch.demo")


def describe(observation: Observation, config: HallConfig) -> str:
    """One line per analysed frame: per window, who is in the staff zone, nearby objects, and the sign."""
    from counterwatch.pipeline import regions_for

    camera = next(c for c in config.cameras if c.id == observation.camera_id)
    parts = []
    for region in regions_for(config, camera):
        staff = [p for p in observation.persons_in(region.window_id)
                 if region.contains("staff_zone", observation.width, observation.height, *p.box.center)]
        sign = observation.sign(region.window_id)
        text = f"{region.window_id}: " + (f"staff x{len(staff)} ({max(p.score for p in staff):.2f})" if staff
                                          else "nobody in staff zone")
        if sign is not None and sign.visible:
            text += " + PAUSE SIGN"
        parts.append(text)
    objects = sorted({o.label for o in observation.objects})
    tail = f" | objects: {', '.join(objects)}" if objects else ""
    return f"{observation.camera_id} t={observation.ts:7.1f}s  " + " | ".join(parts) + tail


@click.command()
@click.option("--config", "config_path", default="configs/demo.yaml", show_default=True,
              type=click.Path(dir_okay=False))
@click.option("--seconds", type=float, default=0.0, help="Stop after this many seconds (0: run until Ctrl-C).")
def demo(config_path: str, seconds: float) -> None:
    """Run cameras and the perception cascade on CONFIG and print what each window looks like."""
    from counterwatch.cli import _load_or_exit
    from counterwatch.pipeline import build_cascade, camera_reader, load_models
    from models import ModelError

    config = _load_or_exit(config_path)
    assert config is not None
    try:
        models = load_models(config)
    except ModelError as exc:
        raise click.ClickException(str(exc)) from None

    def on_state(health) -> None:
        click.echo(f"camera {health.camera_id}: {health.state.value} ({health.reason})")

    readers = [camera_reader(config, camera, on_state_change=on_state) for camera in config.cameras]
    cascades = {camera.id: build_cascade(config, camera, models) for camera in config.cameras}
    deadline = time.monotonic() + seconds if seconds > 0 else None
    click.echo(f"counterwatch demo: hall {config.hall.name}, {len(config.windows)} windows, "
               f"{len(readers)} camera(s); Ctrl-C stops")
    with models:
        for reader in readers:
            reader.start()
        try:
            while deadline is None or time.monotonic() < deadline:
                idle = True
                for reader in readers:
                    frame = reader.get(timeout=0.2)
                    if frame is None:
                        continue
                    idle = False
                    click.echo(describe(cascades[frame.camera_id].observe(frame), config))
                if idle and all(reader.finished for reader in readers):
                    break
        except KeyboardInterrupt:
            pass
        finally:
            for reader in readers:
                reader.stop()
