"""The text `counterwatch bench pipeline` prints without --json: a compact table of the report of
counterwatch/cli/bench/pipeline.py, its workloads in order (busy scene, clips, demo scene)."""
from __future__ import annotations

from typing import Any

SHOWN_SHARES = 8  # models named per mode; the rest are summed as "rest"


def _shares(shares: dict[str, float]) -> str:
    """'detector 41%, heads 24%, ..., other 3%': the models (largest first) down to 1%, the rest summed."""
    models = [(name, share) for name, share in shares.items() if name != "other"]
    shown = [(name, share) for name, share in models[:SHOWN_SHARES] if share >= 0.005]
    rest = sum(share for _, share in models) - sum(share for _, share in shown)
    parts = [f"{name} {share * 100:.0f}%" for name, share in shown]
    if rest >= 0.005:
        parts.append(f"rest {rest * 100:.0f}%")
    parts.append(f"other {shares.get('other', 0.0) * 100:.0f}%")
    return ", ".join(parts)


def _agreement(workload: dict[str, Any]) -> list[str]:
    if "same_incidents" not in workload:
        return []
    counts = {mode: len(events) for mode, events in workload["incidents"].items()}
    line = (f"  speedup vs naive {workload['speedup_vs_naive']:.2f}x; same incidents: "
            f"{'yes' if workload['same_incidents'] else 'NO'} ({counts['cost_controlled']} events cost-controlled, "
            f"{counts['naive']} naive); same presence: {'yes' if workload['same_presence'] else 'NO'}")
    lines = [line]
    if not workload["same_incidents"]:
        lines.append(f"    incidents only cost-controlled: {workload['incidents_only_cost_controlled']}")
        lines.append(f"    incidents only naive:           {workload['incidents_only_naive']}")
        if workload.get("incidents_in_another_order"):
            lines.append("    (the same events in another order)")
    signals = workload["signals"]
    fired = ", ".join(f"{name} {c['naive']}/{c['cost_controlled']}/{c['both']}"
                      for name, c in signals["per_signal"].items())
    lines.append(f"  behaviour signals the same in {signals['same_share'] * 100:.1f}% of {signals['window_frames']} "
                 f"window-frames; fired (window-frames naive/cost-controlled/both): {fired or 'none'}")
    if not workload["same_presence"]:
        shown = ", ".join(f"{d['ts']:g} s {d['window']} {d['cost_controlled']}/{d['naive']}"
                          for d in workload["presence_differs"][:5])
        lines.append(f"    presence differs in {workload['presence_differences']} window-frames "
                     f"(cost-controlled/naive), first: {shown}")
    return lines


def format_report(report: dict[str, Any]) -> str:
    """The table: per workload a header, per mode ms per window per analysed frame, windows per core and the share
    of time per model; then whether both modes agreed."""
    lines = [f"{report['cpus_used']} CPU core; ms per window per analysed frame (mean, median) with every rule and "
             "the behaviour heads on, windows one core sustains at the analysis fps, share of step time per model; "
             "present: window-frames with staff present; incidents: opened"]
    for workload in report["workloads"]:
        fps = workload["analysis_fps"]
        header = (f"  {'mode':16s} {'ms/window':>9s} {'median':>7s} {f'windows/core at {fps:g} fps':>24s} "
                  f"{'present':>8s} {'incidents':>10s}")
        width, height = workload["frame_size"]
        lines.append("")
        lines.append(f"{workload['name']}: {workload['windows']} window{'s' if workload['windows'] != 1 else ''}, "
                     f"{workload['frames']} frames of {width}x{height} at {fps:g} fps")
        if workload["workload"] == "busy_scene":
            lines.append("  tiles: " + ", ".join(f"{t['window']} {t['clip']} from {t['starts_at_s']:g} s"
                                                 for t in workload["tiles"]))
        lines.append(header)
        for mode, figures in workload["modes"].items():
            lines.append(f"  {mode:16s} {figures['mean_ms_per_window']:9.1f} {figures['median_ms_per_window']:7.1f} "
                         f"{figures['windows_per_core']:24.1f} {figures['staff_present_share'] * 100:7.0f}% "
                         f"{figures['incidents_opened']:10d}")
        for mode, figures in workload["modes"].items():
            lines.append(f"  time {mode}: {_shares(figures['share_of_time'])}")
        if workload["workload"] == "demo_scene":
            for mode, figures in workload["modes"].items():
                lines.append(f"  {mode}: absence incidents {figures['absence_incidents']}, delay after dwell "
                             f"{figures['stream_delay_after_dwell_s']} s + {figures['processing_delay_ms_p50']} ms "
                             f"processing")
        lines.extend(_agreement(workload))
    for note in report["notes"]:
        lines.append("")
        lines.append(f"note: {note}")
    return "\n".join(lines)
