"""`counterwatch demo-scene` renders the bundled demo scene; `counterwatch demo` runs cameras + perception on a config
and prints what each window looks like (`counterwatch run` turns the same stream into incidents)."""
from __future__ import annotations

import logging
import time
from pathlib import Path

import click

from counterwatch.cli._inputs import load_config_or_exit
from counterwatch.config import HallConfig
from vision.observation import Observation

log = logging.getLogger("counterwatch.demo")


@click.command("demo-scene")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default="configs/demo.yaml",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default="var/demo/scene.mp4", show_default=True)
@click.option("--force", is_flag=True, help="Render even if the file exists.")
def demo_scene(config_path: str, out: str, force: bool) -> None:
    """Render the bundled demo scene (real photo content, scripted presence and pause sign)."""
    from counterwatch.demo_scene import DEMO_SCRIPT, render_scene
    from counterwatch.sign import sign_images

    path = Path(out)
    if path.exists() and not force:
        click.echo(f"{out} exists (use --force to render again)")
        return
    config = load_config_or_exit(config_path)
    duration = render_scene(path, DEMO_SCRIPT, sign_images(config))
    click.echo(f"{out}: {duration:.0f} s demo scene")


def describe(observation: Observation, config: HallConfig) -> str:
    """One line per analysed frame: per window, who is in the staff zone, nearby objects, and the sign."""
    from counterwatch.perception import regions_for

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
    from counterwatch.perception import build_cascade, camera_reader, load_models
    from models import ModelError

    config = load_config_or_exit(config_path)
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
