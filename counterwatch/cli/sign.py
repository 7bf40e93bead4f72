"""`counterwatch sign`: print a window's pause sign (the layout is counterwatch.sign's)."""
from __future__ import annotations

from pathlib import Path

import click

from counterwatch.cli._inputs import load_config_or_exit


@click.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default="configs/demo.yaml",
              show_default=True, help="Hall config naming the window and its camera.")
@click.option("--window", "window_id", required=True, help="Window id.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Output file, .pdf or .png.")
@click.option("--dpi", default=200, show_default=True, type=click.IntRange(72, 600))
def sign(config_path: str, window_id: str, out: str, dpi: int) -> None:
    """Print the A4 pause sign (本窗口暂停办理业务) with the window's marker, sized for its camera."""
    from counterwatch.sign import plan_sign, render_sign, write_sign

    config = load_config_or_exit(config_path)
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
