"""The `counterwatch` command line."""
from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from counterwatch.config import ConfigError, HallConfig, load_config

EXIT_BAD_INPUT = 2


def _load_or_exit(path: str | None) -> HallConfig | None:
    if path is None:
        return None
    try:
        return load_config(path)
    except ConfigError as exc:
        for issue in exc.issues:
            click.echo(issue.format(exc.filename), err=True)
        sys.exit(EXIT_BAD_INPUT)


def _read_image_or_exit(path: str):
    """The image at `path` (BGR), or exit 2 naming the file: missing, unreadable, not an image, or over the
    counterwatch.image_input.MAX_IMAGE_PIXELS cap (checked on the header, before decoding)."""
    from counterwatch.image_input import ImageInputError, read_image

    try:
        return read_image(path)
    except ImageInputError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_BAD_INPUT)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level.")
def main(verbose: bool) -> None:
    """counterwatch: conduct monitor for government service halls (政务服务大厅)."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command("check-config")
@click.argument("path", type=click.Path(dir_okay=False))
def check_config(path: str) -> None:
    """Validate a hall config file and check it can run on this machine: exit 0 (warnings allowed), or 2 listing
    every bad field with its line.

    Beyond the schema: camera files exist, are readable and decode; each model the pipeline loads is known, of the
    right kind and has its files; head versions exist; marker ids are in the marker dictionary; each pause-sign
    region holds the sign `counterwatch sign` prints. Network and USB cameras cannot be checked: warnings.
    """
    from counterwatch.config.checks import check_hall
    from counterwatch.config.loader import ConfigIssue, field_lines

    config = _load_or_exit(path)
    assert config is not None
    findings = check_hall(config)
    lines = field_lines(path, {finding.path for finding in findings})
    errors = [finding for finding in findings if finding.level == "error"]
    for finding in errors:
        click.echo(ConfigIssue(finding.path, finding.message, lines[finding.path]).format(path), err=True)
    for finding in findings:
        if finding.level == "warning":
            click.echo("warning: " + ConfigIssue(finding.path, finding.message, lines[finding.path]).format(path),
                       err=True)
    if errors:
        sys.exit(EXIT_BAD_INPUT)
    views = sum(len(c.views) for c in config.cameras)
    warned = len(findings)
    click.echo(f"{path}: ok: hall {config.hall.id}, {len(config.windows)} windows, {len(config.cameras)} cameras "
               f"({views} window views), {len(config.staff)} staff, {len(config.roster)} roster entries"
               + (f"; {warned} warning(s)" if warned else ""))


@main.command()
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
    from counterwatch.pipeline import build_cascade, load_models, regions_for
    from models import ModelError
    from vision.annotate import annotate as draw
    from vision.serialize import observation_to_dict

    config = _load_or_exit(config_path)
    image = _read_image_or_exit(image_path)
    camera = None
    if config is not None:
        cameras = {c.id: c for c in config.cameras}
        if camera_id is not None and camera_id not in cameras:
            raise click.BadParameter(f"unknown camera {camera_id!r}; config has {sorted(cameras)}", param_hint="--camera")
        camera = cameras[camera_id] if camera_id else config.cameras[0]
    try:
        models = load_models(config)
    except ModelError as exc:
        raise click.ClickException(str(exc)) from None
    with models:
        cascade = build_cascade(config, camera, models, naive=naive)
        frame = Frame(camera.id if camera else "image", 0, 0.0, datetime.now(timezone.utc), image)
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
        parts = [f"person {person.score:.2f} at {[round(v) for v in (person.box.x1, person.box.y1, person.box.x2, person.box.y2)]}"]
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
        state = "not checked (staff present)" if not sign.checked else ("PAUSE SIGN SHOWN" if sign.visible else "no sign")
        lines.append(f"  window {sign.window_id}: {state}")
    return "\n".join(lines)


@main.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default="configs/demo.yaml",
              show_default=True, help="Hall config naming the window and its camera.")
@click.option("--window", "window_id", required=True, help="Window id.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Output file, .pdf or .png.")
@click.option("--dpi", default=200, show_default=True, type=click.IntRange(72, 600))
def sign(config_path: str, window_id: str, out: str, dpi: int) -> None:
    """Print the A4 pause sign (本窗口暂停办理业务) with the window's marker, sized for its camera."""
    from counterwatch.sign import plan_sign, render_sign, write_sign

    config = _load_or_exit(config_path)
    assert config is not None
    try:
        window = config.window(window_id)
    except KeyError:
        raise click.BadParameter(f"unknown window {window_id!r}; config has {[w.id for w in config.windows]}",
                                 param_hint="--window") from None
    camera, _ = config.view_of(window_id)
    plan = plan_sign(window, camera)
    page = render_sign(window, plan, dpi=dpi)
    try:
        write_sign(page, Path(out), dpi=dpi)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--out") from None
    click.echo(f"{out}: window {window.id} marker {plan.marker_id}: marker {plan.marker_mm:.0f} mm "
               f"(~{plan.marker_px_at_camera:.0f} px at camera {camera.id}), text {plan.char_mm:.0f} mm "
               f"(~{plan.char_px_at_camera:.0f} px)")
    for warning in plan.warnings:
        click.echo(f"warning: {warning}", err=True)


@main.command("demo-scene")
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
    config = _load_or_exit(config_path)
    assert config is not None
    duration = render_scene(path, DEMO_SCRIPT, sign_images(config))
    click.echo(f"{out}: {duration:.0f} s demo scene")


def _mount_subcommands() -> None:
    from counterwatch.bench import bench
    from models.cli import models_cli

    main.add_command(models_cli, "models")
    main.add_command(bench, "bench")
    from counterwatch.demo import demo
    from counterwatch.run_cli import run

    main.add_command(demo, "demo")
    main.add_command(run, "run")
    from counterwatch.evaluation.cli import eval_cli

    main.add_command(eval_cli, "eval")
    from monitor_api.cli import bench_durability, keys, serve, users

    main.add_command(serve, "serve")
    main.add_command(users, "users")
    main.add_command(keys, "keys")
    bench.add_command(bench_durability, "durability")
    from counterwatch.dataset.cli import dataset_cli

    main.add_command(dataset_cli, "dataset")
    from counterwatch.purge_cli import purge

    main.add_command(purge, "purge")
    from counterwatch.calendar_cli import calendar_cli

    main.add_command(calendar_cli, "calendar")


_mount_subcommands()
