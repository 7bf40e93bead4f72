"""Summaries of clip scores: a JSON-ready dict per clip, totals over clips, the text of `eval clip` and the table
of `eval clips`."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from counterwatch.evaluation.clip import BehaviourScore, IncidentRecord, PresenceScore, per_hour
from counterwatch.evaluation.clip_run import ClipScore


def _fraction(agree: int, of: int) -> dict:
    return {"agree": agree, "of": of, "value": round(agree / of, 4) if of else None}


def _presence(score: PresenceScore | None) -> dict | None:
    if score is None:
        return None
    return {"agreement": _fraction(score.agree, score.of),
            "agreement_beyond_tolerance": _fraction(score.agree_clear, score.of_clear),
            "counts": {"present_detected": score.present_detected, "present_missed": score.present_missed,
                       "absent_false_person": score.absent_false_person, "absent_empty": score.absent_empty}}


def _incident(incident: IncidentRecord) -> dict:
    return {"id": incident.incident_id, "onset_s": incident.onset_s, "opened_s": incident.opened_s,
            "end_s": incident.end_s, "peak_confidence": incident.peak_confidence, "reason": incident.reason}


def _mean_abs(values: Sequence[float]) -> float | None:
    return round(sum(abs(v) for v in values) / len(values), 3) if values else None


def _behaviour(score: BehaviourScore) -> dict:
    return {"annotated": len(score.matches), "found": score.found, "missed": score.missed,
            "too_short": score.too_short, "false": score.false, "min_duration_s": score.min_duration_s,
            "mean_abs_onset_error_s": _mean_abs(score.onset_errors),
            "events": [{"truth": list(m.truth), "incident": _incident(m.incident) if m.incident else None,
                        "onset_error_s": m.onset_error_s, "alert_delay_s": m.alert_delay_s,
                        "too_short": m.too_short} for m in score.matches],
            "false_alerts": [_incident(i) for i in score.false_alerts]}


def summarise(score: ClipScore, *, timeline: bool = False) -> dict:
    """`timeline` adds every analysed frame's staff presence and its annotation, per window."""
    frames = {w.window_id: w.frames for w in score.run.windows}
    truths = score.annotation.truths_for(list(frames))
    windows = []
    for window in score.windows:
        entry: dict[str, Any] = {"window": window.window_id, "presence": _presence(window.presence),
                 "behaviours": {b.incident_type: _behaviour(b) for b in window.behaviours},
                 "false_alerts": window.false_alerts,
                 "false_alerts_per_hour": per_hour(window.false_alerts, score.duration_s)}
        if timeline:
            truth = truths[window.window_id]
            entry["timeline"] = [{"ts": round(ts, 3), "staff_present": present, "truth": truth.present_at(ts)}
                                 for ts, present in frames[window.window_id]]
        windows.append(entry)
    return {
        "clip": score.clip, "config": score.config, "duration_s": score.duration_s,
        "frames_analysed": score.run.frames, "frame_size": list(score.run.frame_size or ()),
        "ms_per_frame": score.run.ms_per_frame, "dwell_scale": score.dwell_scale, "tolerance_s": score.tolerance_s,
        "rules_enabled": list(score.rules_enabled),
        "rule_times": {t.field: {"configured": t.configured, "used": t.used, "raised_to_minimum": t.raised_to_minimum}
                       for t in score.rule_times},
        "windows": windows,
        "unscored_windows": {window: incidents for window, incidents in score.unscored},
    }


def totals(summaries: Sequence[dict]) -> dict:
    """Sums over every scored window of every clip; false alerts per hour over the clips' total duration."""
    duration = sum(s["duration_s"] for s in summaries)
    presence = {"agree": 0, "of": 0, "agree_clear": 0, "of_clear": 0}
    behaviours: dict[str, dict] = {}
    errors: dict[str, list[float]] = {}
    for summary in summaries:
        for window in summary["windows"]:
            if window["presence"] is not None:
                presence["agree"] += window["presence"]["agreement"]["agree"]
                presence["of"] += window["presence"]["agreement"]["of"]
                presence["agree_clear"] += window["presence"]["agreement_beyond_tolerance"]["agree"]
                presence["of_clear"] += window["presence"]["agreement_beyond_tolerance"]["of"]
            for name, score in window["behaviours"].items():
                total = behaviours.setdefault(name, {"annotated": 0, "found": 0, "missed": 0, "too_short": 0,
                                                     "false": 0})
                for key in total:
                    total[key] += score[key]
                errors.setdefault(name, []).extend(e["onset_error_s"] for e in score["events"]
                                                   if e["onset_error_s"] is not None)
    for name, total in behaviours.items():
        total["mean_abs_onset_error_s"] = _mean_abs(errors[name])
    false = sum(t["false"] for t in behaviours.values())
    return {"clips": len(summaries), "duration_s": round(duration, 2),
            "presence": {"agreement": _fraction(presence["agree"], presence["of"]),
                         "agreement_beyond_tolerance": _fraction(presence["agree_clear"], presence["of_clear"])},
            "behaviours": behaviours, "false_alerts": false, "false_alerts_per_hour": per_hour(false, duration)}


def _ratio(fraction: dict) -> str:
    return f"{fraction['agree']}/{fraction['of']}" + (f" ({fraction['value']:.2f})" if fraction["value"] is not None
                                                      else "")


def _rule_times(summary: dict) -> str:
    dwells = [f"{field.split('.')[0]} {times['used']:g} s" + (" (field minimum)" if times["raised_to_minimum"] else "")
              for field, times in summary["rule_times"].items()
              if field.endswith(".dwell_s") and field.split(".")[0] in summary["rules_enabled"]]
    return f"dwell x{summary['dwell_scale']:g}: " + ", ".join(dwells)


def format_clip(summary: dict) -> str:
    """The text of `eval clip`: presence, then every behaviour's annotated intervals and incidents."""
    width, height = summary["frame_size"] or (0, 0)
    lines = [f"{summary['clip']} ({summary['config']}): {summary['frames_analysed']} frames analysed "
             f"({width}x{height}), {summary['ms_per_frame']} ms/frame, {summary['duration_s']:g} s",
             f"  {_rule_times(summary)}"]
    tolerance = summary["tolerance_s"]
    for window in summary["windows"]:
        presence = window["presence"]
        lines.append(f"  {window['window']} presence: " + (
            "not annotated" if presence is None else
            f"{_ratio(presence['agreement'])}; beyond +-{tolerance:g} s of a boundary "
            f"{_ratio(presence['agreement_beyond_tolerance'])}; {presence['counts']}"))
        quiet = [name for name, score in window["behaviours"].items() if not score["annotated"] and not score["false"]]
        if quiet:
            lines.append(f"  {window['window']} {', '.join(quiet)}: none annotated, none raised")
        for name, score in window["behaviours"].items():
            if name in quiet:
                continue
            dwell = f" (dwell {score['min_duration_s']:g} s)" if score["min_duration_s"] else ""
            lines.append(f"  {window['window']} {name}: {score['annotated']} annotated, {score['found']} found, "
                         f"{score['missed']} missed, {score['too_short']} shorter than the dwell{dwell}, "
                         f"{score['false']} false")
            for event in score["events"]:
                found = event["incident"]
                lines.append(f"      {event['truth']}: " + (
                    ("shorter than the dwell, " if event["too_short"] else "") + "no incident" if found is None else
                    f"incident onset {found['onset_s']:g} s (error {event['onset_error_s']} s), raised "
                    f"{found['opened_s']:g} s, ended {found['end_s']:g} s"))
            for alert in score["false_alerts"]:
                lines.append(f"      false alert: onset {alert['onset_s']:g} s, raised {alert['opened_s']:g} s, "
                             f"ended {alert['end_s']:g} s: {alert['reason']}")
        lines.append(f"  {window['window']} false alerts: {window['false_alerts']} "
                     f"({window['false_alerts_per_hour']} per hour of clip)")
    for window, incidents in summary["unscored_windows"].items():
        lines.append(f"  {window}: not annotated, not scored ({incidents} incidents)")
    return "\n".join(lines)


def _cell(score: dict | None) -> str:
    if score is None:
        return "-"
    cell = f"{score['found']}/{score['missed']}/{score['false']}"
    return cell + (f" +{score['too_short']} short" if score["too_short"] else "")


def format_table(summaries: Sequence[dict], total: dict) -> str:
    """The table of `eval clips`: one row per clip and window, then the totals."""
    names = list(total["behaviours"])
    header = ["clip", "window", "frames", "presence", "beyond tol", *names, "false/h"]
    rows = []
    for summary in summaries:
        for window in summary["windows"]:
            presence = window["presence"]
            rows.append([summary["clip"], window["window"], str(summary["frames_analysed"]),
                         _ratio(presence["agreement"]) if presence else "-",
                         _ratio(presence["agreement_beyond_tolerance"]) if presence else "-",
                         *(_cell(window["behaviours"].get(name)) for name in names),
                         f"{window['false_alerts_per_hour']:g}"])
    rows.append(["total", "", "", _ratio(total["presence"]["agreement"]),
                 _ratio(total["presence"]["agreement_beyond_tolerance"]),
                 *(_cell(total["behaviours"][name]) for name in names), f"{total['false_alerts_per_hour']:g}"])
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in (header, *rows)]
    lines.insert(1, "  ".join("-" * width for width in widths))
    onset = [f"{name} {score['mean_abs_onset_error_s']:g} s" for name, score in total["behaviours"].items()
             if score["mean_abs_onset_error_s"] is not None]
    lines.append(f"behaviours: found/missed/false; +N short: N more annotated intervals shorter than the rule's "
                 f"dwell (not expected to raise an incident); {total['clips']} clips, {total['duration_s']:g} s")
    lines.append("mean |onset error|: " + (", ".join(onset) if onset else "none measured"))
    for summary in summaries:
        lines.append(f"{summary['clip']}: {summary['config']}; {_rule_times(summary)}")
    return "\n".join(lines)
