"""`counterwatch detect`: the perception cascade on one image."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from counterwatch.cli._inputs import load_config_or_exit, read_image_or_exit


@click.command()
@click.argument("image_path", metavar="IMAGE", type=click.Path(dir_okay=False))
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Hall config: use its windows and "
              "models (the image is a frame of --camera, after rotation).")
@click.option("--camera", "camera_id", help="Camera whose windows apply (default: the first camera).")
@click.option("--json", "as_json", is_flag=True, help="Print the Observation as JSON.")
@click.option("--annotate", type=click.Path(dir_okay=False), help="Write the image with the observation drawn on it.")
@click.option("--naive", is_flag=True, help="Run every model on every person (no cost control).")
def detect(image_path: str, config_path: str | None, camera_id: str | None, as_json: bool, annotate: str | None,
           naive: bool) -> None:
    """Run the perception cascade on one image."""
    import cv2

    from cameras.frame import Frame
    from counterwatch.perception import build_cascade, load_models, regions_for
    from models import ModelError
    from vision.annotate import annotate as draw
    from vision.serialize import observation_to_dict

    config = load_config_or_exit(config_path)
    image = read_image_or_exit(image_path)
    camera = None
    if config is not None:
        cameras = {c.id: c for c in config.cameras}
        if camera_id is not None and camera_id not in cameras:
            raise click.BadParameter(f"unknown camera {camera_id!r}; config has {sorted(cameras)}",
                                     param_hint="--camera")
        camera = cameras[camera_id] if camera_id else config.cameras[0]
    try:
        models = load_models(config)
    except ModelError as exc:
        raise click.ClickException(str(exc)) from None
    with models:
        cascade = build_cascade(config, camera, models, naive=naive)
        frame = Frame(camera.id if camera else "image", 0, 0.0, datetime.now(UTC), image)
        observation = cascade.observe(frame)
    if as_json:
        click.echo(json.dumps(observation_to_dict(observation), ensure_ascii=False, indent=2))
    else:
        click.echo(_summary(observation))
    if annotate:
        regions = regions_for(config, camera) if config is not None and camera is not None else ()
        if not cv2.imwrite(annotate, draw(image, observation, regions)):
            raise click.ClickException(f"cannot write {annotate}")


def _summary(observation) -> str:
    lines = [f"{len(observation.persons)} person(s), {len(observation.objects)} object(s)"]
    for person in observation.persons:
        box = [round(v) for v in (person.box.x1, person.box.y1, person.box.x2, person.box.y2)]
        parts = [f"person {person.score:.2f} at {box}"]
        if person.window_id:
            parts.append(f"window {person.window_id}")
        if person.pose:
            parts.append(f"{sum(k.score >= 0.5 for k in person.pose.keypoints)} keypoints")
        if person.face:
            parts.append("face")
        if person.eye_aspect_ratio is not None:
            parts.append(f"EAR {person.eye_aspect_ratio:.2f}")
        if person.head_pitch_deg is not None:
            parts.append(f"pitch {person.head_pitch_deg:+.0f}°")
        if person.hands:
            parts.append(f"{len(person.hands)} hand(s)")
        lines.append("  " + ", ".join(parts))
    for obj in observation.objects:
        lines.append(f"  {obj.label} {obj.score:.2f}")
    for sign in observation.signs:
        state = ("not checked (staff present)" if not sign.checked
                 else "PAUSE SIGN SHOWN" if sign.visible else "no sign")
        lines.append(f"  window {sign.window_id}: {state}")
    return "\n".join(lines)
