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
              help="A real clip (repeatable): measured with the whole frame as one window, and tiled with the other "
                   "clips into the busy scene (one window per tile). No clip: no busy scene.")
@click.option("--busy-s", default=60.0, show_default=True, type=click.FloatRange(1, 3600),
              help="Seconds of stream time of the busy scene (analysed at 2 fps).")
@click.option("--no-busy", "no_busy", is_flag=True, help="Skip the busy scene (the clips are still measured alone).")
@click.option("--no-demo", "no_demo", is_flag=True, help="Skip the demo scene.")
@click.option("--json", "as_json", is_flag=True)
def bench_pipeline(config_path: str, windows: int, phase_s: float, naive_only: bool, clips: tuple[str, ...],
                   busy_s: float, no_busy: bool, no_demo: bool, as_json: bool) -> None:
    """Cost per window per analysed frame with every rule and behaviour head on, cost-controlled vs naive, on the
    busy scene (real clips tiled into one frame), each clip and the demo scene: ms per window, windows per core,
    share of time per model, and whether both modes give the same incidents. Runs on one CPU core."""
    from counterwatch.cli.bench.pipeline import measure_pipeline
    from counterwatch.cli.bench.pipeline_report import format_report

    report = measure_pipeline(config_path, windows, phase_s, naive_only, clips, busy_s=busy_s, demo=not no_demo,
                              busy=not no_busy)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    click.echo(format_report(report))


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


@bench.command("soak")
@click.option("--clip", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Real footage the camera loops in real time (one window over the whole frame).")
@click.option("--minutes", default=60.0, show_default=True, type=click.FloatRange(0.1, 7 * 24 * 60),
              help="Soak length, counted from the moment every camera is online.")
@click.option("--sample-s", default=10.0, show_default=True, type=click.FloatRange(0.5, 3600),
              help="Seconds between memory samples of every process.")
@click.option("--warmup-min", default=5.0, show_default=True, type=click.FloatRange(0, None),
              help="Minutes left out of the slope that decides the verdict (caches, model arenas, evidence ring).")
@click.option("--fps", default=2.0, show_default=True, type=click.FloatRange(0.1, 30),
              help="Analysis frames per second of the camera.")
@click.option("--samples-out", type=click.Path(dir_okay=False, writable=True),
              help="Write every sample (t_s, time, pid, role, rss_bytes, uss_bytes) to this CSV file.")
@click.option("--json", "as_json", is_flag=True)
def bench_soak(clip: str, minutes: float, sample_s: float, warmup_min: float, fps: float, samples_out: str | None,
               as_json: bool) -> None:
    """Memory soak of `counterwatch run`: RSS of the runner and each worker over time, slope after warm-up (MB/h)."""
    from counterwatch.cli.bench.soak import TARGET_MB_PER_H, SoakError, SoakStopError, measure_soak

    def fail(error: SoakError) -> None:
        for line in error.stderr_tail:
            click.echo(f"  | {line}", err=True)
        click.echo(f"error: {error}", err=True)
        raise SystemExit(1)

    try:
        report = measure_soak(clip, minutes, sample_s, warmup_min, fps, samples_out,
                              progress=lambda line: click.echo(line, err=True))
    except SoakStopError as error:
        report = error.report
        _print_soak(report, as_json, TARGET_MB_PER_H)
        fail(error)
    except SoakError as error:
        fail(error)
    _print_soak(report, as_json, TARGET_MB_PER_H)


@bench.command("latency")
@click.option("--config", "config_path", default="configs/demo.yaml", show_default=True,
              type=click.Path(exists=True, dir_okay=False),
              help="Hall config to copy (its cameras play the scene; database and evidence in a temporary directory).")
@click.option("--seconds", default=200.0, show_default=True, type=click.FloatRange(1, 24 * 3600),
              help="How long to listen to the live feed, counted from every camera online.")
@click.option("--scene", type=click.Path(exists=True, dir_okay=False),
              help="Video every camera loops in real time instead of the demo scene rendered for the run.")
@click.option("--json", "as_json", is_flag=True)
def bench_latency(config_path: str, seconds: float, scene: str | None, as_json: bool) -> None:
    """Alert latency of `counterwatch run`: from the frame that reached the dwell to the live feed (target 1 s)."""
    from counterwatch.cli.bench.latency import LatencyError, format_report, measure_latency

    try:
        report = measure_latency(config_path, seconds, scene, progress=lambda line: click.echo(line, err=True))
    except LatencyError as error:
        for line in error.stderr_tail:
            click.echo(f"  | {line}", err=True)
        click.echo(f"error: {error}", err=True)
        raise SystemExit(1) from None
    click.echo(json.dumps(report, indent=2, ensure_ascii=False) if as_json else format_report(report))


@bench.command("county")
@click.option("--halls", default=50, show_default=True, type=click.IntRange(1, 500),
              help="Halls of the largest size (N/2 halls are measured first, unless --single).")
@click.option("--windows", default=10, show_default=True, type=click.IntRange(1, 200), help="Windows per hall.")
@click.option("--seconds", default=60.0, show_default=True, type=click.FloatRange(5, 24 * 3600),
              help="Seconds measured per size, after the warm-up.")
@click.option("--warmup-s", default=10.0, show_default=True, type=click.FloatRange(0, 3600),
              help="Seconds of traffic before the measurement, once every edge is linked.")
@click.option("--incident-rate", default=6.0, show_default=True, type=click.FloatRange(0, 3600),
              help="Incidents per window per hour (a real hall sees a few; the default is a busy hall's, for "
                   "enough samples). Each is opened, updated with its clip and closed.")
@click.option("--status-every-s", default=10.0, show_default=True, type=click.FloatRange(1, 3600),
              help="Window status heartbeat per window (the workers' STATUS_HEARTBEAT_S), besides every change.")
@click.option("--snapshot-kb", default=60.0, show_default=True, type=click.FloatRange(0, 100_000))
@click.option("--clip-mb", default=1.5, show_default=True, type=click.FloatRange(0, 1000))
@click.option("--single", is_flag=True, help="Measure N halls only (no N/2 size; no growth per added hall).")
@click.option("--edge-processes", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes (at nice 19) the simulated edges are spread over: one process of 50 edges "
                   "waits on its GIL.")
@click.option("--json", "as_json", is_flag=True)
def bench_county(halls: int, windows: int, seconds: float, warmup_s: float, incident_rate: float,
                 status_every_s: float, snapshot_kb: float, clip_mb: float, single: bool, edge_processes: int,
                 as_json: bool) -> None:
    """The county centre under N halls x M windows: stored messages per second, edge-to-live-feed latency, evidence
    throughput, CPU and memory of the centre (a subprocess), PostgreSQL and NATS, and the cost per added hall."""
    from counterwatch.cli.bench.county import CountyBenchError, measure_county
    from counterwatch.cli.bench.county_report import format_report
    from counterwatch.cli.bench.county_sim import TrafficProfile

    profile = TrafficProfile(incident_rate_per_h=incident_rate, status_every_s=status_every_s,
                             snapshot_bytes=round(snapshot_kb * 1000), clip_bytes=round(clip_mb * 1e6))
    try:
        report = measure_county(halls, windows, seconds, profile, single=single, warmup_s=warmup_s,
                                edge_processes=edge_processes, progress=lambda line: click.echo(line, err=True))
    except CountyBenchError as error:
        for line in error.stderr_tail:
            click.echo(f"  | {line}", err=True)
        click.echo(f"error: {error}", err=True)
        raise SystemExit(1) from None
    click.echo(json.dumps(report, indent=2, ensure_ascii=False) if as_json else format_report(report))


@bench.command("centre-kill")
@click.option("--kills", default=50, show_default=True, type=click.IntRange(1, 10_000),
              help="Times the centre is killed with SIGKILL mid-ingest and started again.")
@click.option("--every-s", default=0.15, show_default=True, type=click.FloatRange(0.01, 60),
              help="An incident (four events, four files) raised every this many seconds, across two halls.")
@click.option("--seed", default=None, type=int, help="Seed of the kill moments (default: random, printed).")
@click.option("--json", "as_json", is_flag=True)
def bench_centre_kill(kills: int, every_s: float, seed: int | None, as_json: bool) -> None:
    """kill -9 the county centre mid-ingest again and again (real NATS, PostgreSQL and centre): nothing lost or
    repeated. Exit 1 when anything differs."""
    from counterwatch.cli.bench.centre_kill import format_report, measure_centre_kills

    report = measure_centre_kills(kills, every_s, seed=seed, progress=lambda line: click.echo(line, err=True))
    click.echo(json.dumps(report, indent=2) if as_json else format_report(report))
    if report["problems"]:
        raise SystemExit(1)


def _print_soak(report: dict, as_json: bool, target: float) -> None:
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return

    def figure(value: float | None, form: str) -> str:
        return "-" if value is None else format(value, form)

    click.echo(f"soak of counterwatch run on {report['clip']} (looping, real time, {report['analysis_fps']:g} fps): "
               f"{report['minutes']:g} min from every camera online ({report['ready_after_s']} s after launch), "
               f"a sample every {report['sample_s']:g} s, warm-up {report['warmup_min']:g} min")
    click.echo(f"{'process':22s} {'pid':>7s} {'samples':>7s} {'MB':3s} {'start':>7s} {'warm-up':>7s} {'end':>7s} "
               f"{'max':>7s}  {'MB/h after warm-up':>18s}  {'MB/min first 5 min':>18s}  verdict")
    for row in report["processes"]:
        rss, slope, error = row["rss_mb"], row["slope_after_warmup_mb_per_h"], row["slope_after_warmup_stderr_mb_per_h"]
        late = figure(slope, "+.2f") + ("" if error is None else f" ± {error:.2f}")
        click.echo(f"{row['role']:22s} {row['pid']:7d} {row['samples']:7d} RSS {rss['start']:7.1f} "
                   f"{figure(rss['after_warmup'], '7.1f')} {rss['end']:7.1f} {rss['max']:7.1f}  {late:>18s}  "
                   f"{figure(row['slope_first_5min_mb_per_min'], '+.3f'):>18s}  {row['verdict']}")
        if row["uss_mb"] is not None:
            uss = row["uss_mb"]
            click.echo(f"{'':22s} {'':7s} {'':7s} USS {uss['start']:7.1f} {figure(uss['after_warmup'], '7.1f')} "
                       f"{uss['end']:7.1f} {uss['max']:7.1f}  "
                       f"{figure(row['uss_slope_after_warmup_mb_per_h'], '+.2f'):>18s}")
    if report["meets_target"]:
        click.echo(f"target flat within {target:g} MB/h after warm-up: met by every process")
    elif report["meets_target"] is None:
        click.echo(f"target flat within {target:g} MB/h after warm-up: not measured (the soak ended within the "
                   f"warm-up for {', '.join(report['not_measured'])})")
    else:
        click.echo(f"target flat within {target:g} MB/h after warm-up: not met by {', '.join(report['not_flat'])}")
    after_warmup_min = report["minutes"] - report["warmup_min"]
    if after_warmup_min < 30:
        click.echo(f"note: {after_warmup_min:g} min after warm-up is short for a slope of {target:g} MB/h: read the "
                   f"± (standard error) before the verdict")
    stop = report["stop"]
    click.echo(f"stopped with {stop['signal']}: exit code {stop['exit_code']} after {stop['seconds']} s"
               f"{' (killed: no exit in time)' if stop['killed_after_timeout'] else ''}")
