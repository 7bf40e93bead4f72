"""`counterwatch bench ...`: benchmarks that print figures, measured by the modules beside this one (perception,
pipeline, heads) and monitor_api.storage.durability. Speed is measured by the benchmarks, never in unit tests."""
from __future__ import annotations

import json

import click


@click.group()
def bench() -> None:
    """Benchmarks: print medians measured in one run on this machine."""


@bench.command("perception")
@click.option("--config", "config_path", default="configs/demo.yaml", show_default=True,
              type=click.Path(dir_okay=False))
@click.option("--repeat", default=15, show_default=True, type=click.IntRange(3, 1000))
@click.option("--frames", default=30, show_default=True, type=click.IntRange(6, 2000),
              help="Demo-scene frames (at 2 fps) for the cascade figures.")
@click.option("--json", "as_json", is_flag=True)
def perception(config_path: str, repeat: int, frames: int, as_json: bool) -> None:
    """Per-model median latency and cascade frames per second (cost-controlled vs naive) on this machine."""
    from counterwatch.cli.bench.perception import measure_perception

    report = measure_perception(config_path, repeat, frames)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    results, cascade_figures = report["models"], report["cascade_on_demo_scene"]
    for name, figures in results.items():
        click.echo(f"{name:50s} {figures['median_ms']:8.1f} ms  {figures['per_second']:7.1f}/s")
    for mode in ("cost_controlled", "naive"):
        f = cascade_figures[mode]
        click.echo(f"cascade {mode:16s} median {f['median_frame_ms']:.1f} ms/frame, {f['frames_per_second']:.2f} fps "
                   f"({f['windows_per_frame']} windows)")
    click.echo(f"cost-controlled vs naive: {cascade_figures['speedup_vs_naive']:.2f}x")


@bench.command("pipeline")
@click.option("--config", "config_path", default="configs/demo.yaml", show_default=True,
              type=click.Path(dir_okay=False))
@click.option("--windows", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Windows to size for: reports whether one core sustains them at the analysis fps.")
@click.option("--phase-s", default=20.0, show_default=True, type=click.FloatRange(5, 600),
              help="Seconds per phase of the scripted scene (present, absent, present, absent with sign).")
@click.option("--naive", "naive_only", is_flag=True, help="Measure only the naive mode (every model, every frame).")
@click.option("--clip", "clips", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Also compare both modes on a real clip (whole frame as one window): presence and incidents.")
@click.option("--json", "as_json", is_flag=True)
def bench_pipeline(config_path: str, windows: int, phase_s: float, naive_only: bool, clips: tuple[str, ...],
                   as_json: bool) -> None:
    """Cost per window per analysed frame (cascade + states + all rules), windows per core, vs naive, delays."""
    from counterwatch.cli.bench.pipeline import measure_pipeline

    report = measure_pipeline(config_path, windows, phase_s, naive_only, clips)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    fps = report["analysis_fps"]
    for mode, figures in report["modes"].items():
        click.echo(f"{mode:16s} {figures['mean_ms_per_window']:6.1f} ms/window/frame -> "
                   f"{figures['windows_per_core']:5.1f} windows per core at {fps:g} fps; absence incidents "
                   f"{figures['absence_incidents']}, delay after dwell {figures['stream_delay_after_dwell_s']} s "
                   f"+ {figures['processing_delay_ms_p50']} ms processing")
    for row in report.get("clips", []):
        click.echo(f"clip {row['clip']}: {row['frames']} frames, same presence {row['same_presence']}, same incidents "
                   f"{row['same_incidents']}, ms/frame {row['mean_frame_ms']}")
    if "speedup_vs_naive" in report:
        click.echo(f"speedup vs naive: {report['speedup_vs_naive']}x; same incidents: {report['same_incidents']}")


@bench.command("heads")
@click.option("--samples", default=3000, show_default=True, type=click.IntRange(50, 200000),
              help="Dataset size to project the training time for.")
@click.option("--groups", default=300, show_default=True, type=click.IntRange(10, 100000),
              help="Incidents / sequences the samples come from (grouped CV keeps each on one side).")
@click.option("--repeat", default=10, show_default=True, type=click.IntRange(3, 1000),
              help="Feature extractions to take the median of.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True)
def bench_heads(samples: int, groups: int, repeat: int, seed: int, as_json: bool) -> None:
    """Time one head's training (features per sample, then the grouped-CV fit) on one CPU core."""
    from counterwatch.cli.bench.heads import measure_heads

    measured = measure_heads(samples, groups, repeat, seed, progress=not as_json)
    report, feature_ms, fit_s = measured.report, measured.feature_ms, measured.fit_s
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"features: {feature_ms:.1f} ms per sample (median of {repeat}, one core) -> "
               f"{report['features_s_projected']:.0f} s for {samples} samples, once (cached afterwards)")
    click.echo(f"fit (grouped CV over the candidates, Platt calibration, final fit) on {samples} x "
               f"{report['feature_width']} features: {fit_s:.1f} s, chose {report['chosen_model']}")
    click.echo(f"one behaviour, first training: {report['first_training_s_projected'] / 60:.1f} min; "
               f"retraining from the cache: {fit_s / 60:.1f} min (each further behaviour adds the fit only)")


@bench.command("durability", add_help_option=False,
               context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def bench_durability(context: click.Context) -> None:
    """Kill a writer with SIGKILL many times; check every reported incident survived once (options: --help)."""
    from monitor_api.storage.durability import main

    raise SystemExit(main(list(context.args)))
