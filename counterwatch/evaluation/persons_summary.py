"""Scoring a PersonsReport: recall and precision by box height, day and infrared apart, and the operating points
the aims are stated at.

Aims (people at least TALL_PX tall): whole frames, recall >= 0.95 by day and >= 0.90 on infrared frames at
precision >= 0.90 (precision over predicted boxes at least TALL_PX tall); window crops, an empty crop called occupied
at most once in 60. An operating point is the lowest score on a 0.01 grid that meets the precision (frames) or the
false-alarm aim (crops), with the recall there; the grid is swept over the one stored detector run.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from counterwatch.evaluation.metrics import Counts, match_boxes
from counterwatch.evaluation.persons import CROP_FACTORS, FrameResult, PersonsReport, bucket_names, bucket_of

TALL_PX = 120.0
RECALL_AIMS = (("day", 0.95), ("infrared", 0.90))
PRECISION_AIM = 0.90
EMPTY_ALARM_AIM = 1.0 / 60.0
_CONDITIONS = (("day", False), ("infrared", True), ("all", None))


@dataclass(frozen=True)
class _FrameMatches:
    """One greedy match (best score first) of every candidate: a threshold keeps a prefix of it, so one pass per
    frame serves every threshold."""

    infrared: bool
    truth_heights: tuple[float, ...]
    predictions: tuple[tuple[float, float, int | None], ...]  # (score, box height, matched truth index), best first


def match_frames(report: PersonsReport) -> tuple[_FrameMatches, ...]:
    result = []
    for frame in report.frames:
        ranked = sorted(frame.detections, key=lambda d: -d.score)
        _, truth_of = match_boxes([t.box for t in frame.truth], [(d.box, d.score) for d in ranked])
        result.append(_FrameMatches(frame.infrared, tuple(t.box.height for t in frame.truth),
                                    tuple((d.score, d.box.height, m) for d, m in zip(ranked, truth_of, strict=True))))
    return tuple(result)


def frame_counts(matches: tuple[_FrameMatches, ...], threshold: float, edges: tuple[float, ...], *,
                 infrared: bool | None = None) -> tuple[list[Counts], list[Counts], Counts]:
    """(recall counts per truth-height bucket, precision counts per predicted-height bucket, all) at `threshold`."""
    by_truth = [Counts() for _ in range(len(edges) + 1)]
    by_prediction = [Counts() for _ in range(len(edges) + 1)]
    for frame in matches:
        if infrared is not None and frame.infrared != infrared:
            continue
        found = set()
        for score, height, matched in frame.predictions:
            if score < threshold:
                break
            by_prediction[bucket_of(height, edges)] += Counts(tp=1) if matched is not None else Counts(fp=1)
            if matched is not None:
                found.add(matched)
        for index, height in enumerate(frame.truth_heights):
            by_truth[bucket_of(height, edges)] += Counts(tp=1) if index in found else Counts(fn=1)
    total = Counts(sum(c.tp for c in by_truth), sum(c.fp for c in by_prediction), sum(c.fn for c in by_truth))
    return by_truth, by_prediction, total


def crop_recall(report: PersonsReport, factor: float, threshold: float, *, infrared: bool | None = None,
                class_id: int | None = None, centre: bool = False) -> list[Counts]:
    """Per truth-height bucket: found (tp) or missed (fn) in its crop (IoU >= 0.5, or with `centre` a detection
    centred inside the box)."""
    edges = report.height_edges
    counts = [Counts() for _ in range(len(edges) + 1)]
    for frame in _frames(report, infrared):
        for scored in frame.crop_scores:
            item = frame.truth[scored.truth_index]
            if scored.factor != factor or (class_id is not None and item.class_id != class_id):
                continue
            value = scored.centre_score if centre else scored.score
            counts[bucket_of(item.box.height, edges)] += Counts(tp=1) if value >= threshold else Counts(fn=1)
    return counts


def empty_crop_alarm_rate(report: PersonsReport, threshold: float, *, infrared: bool | None = None
                          ) -> tuple[int, int]:
    """(empty crops where a person fired, empty crops measured)."""
    scores = [s for f in _frames(report, infrared) for s in f.empty_crop_scores]
    return sum(s >= threshold for s in scores), len(scores)


def _frames(report: PersonsReport, infrared: bool | None) -> list[FrameResult]:
    return [f for f in report.frames if infrared is None or f.infrared == infrared]


def _sweep(report: PersonsReport) -> list[float]:
    lowest = min(report.thresholds)
    return [t for t in np.round(np.arange(0.05, 1.0, 0.01), 2).tolist() if t >= lowest - 1e-9]


def frame_operating_points(report: PersonsReport, matches: tuple[_FrameMatches, ...]) -> dict:
    """Per condition: the lowest score whose precision on boxes >= TALL_PX meets PRECISION_AIM, recall there."""
    edges = report.height_edges
    tall_from = bucket_of(TALL_PX, edges)
    points = {}
    for condition, aim in RECALL_AIMS:
        infrared = condition == "infrared"
        point = None
        for threshold in _sweep(report):
            by_truth, by_prediction, _ = frame_counts(matches, threshold, edges, infrared=infrared)
            precision = sum(by_prediction[tall_from:], Counts())
            if precision.precision is not None and precision.precision >= PRECISION_AIM:
                point = {"score": threshold, f"recall_ge_{TALL_PX:g}px": _recall(sum(by_truth[tall_from:], Counts())),
                         f"precision_ge_{TALL_PX:g}px": _precision(precision), "recall_aim": aim}
                break
        points[condition] = point
    return points


def crop_operating_points(report: PersonsReport) -> dict:
    """Per crop factor: the lowest score at which empty crops fire at most EMPTY_ALARM_AIM (all frames together:
    a few dozen empty crops per condition), recall by day and infrared there."""
    tall_from = bucket_of(TALL_PX, report.height_edges)
    points = {}
    for factor in CROP_FACTORS:
        point = None
        for threshold in _sweep(report):
            fired, total = empty_crop_alarm_rate(report, threshold)
            if total and fired / total <= EMPTY_ALARM_AIM:
                point = {"score": threshold, "empty_crop_alarms": {"fired": fired, "crops": total}}
                for condition, infrared in _CONDITIONS[:2]:
                    iou = crop_recall(report, factor, threshold, infrared=infrared)
                    centre = crop_recall(report, factor, threshold, infrared=infrared, centre=True)
                    point[condition] = {f"recall_ge_{TALL_PX:g}px": _recall(sum(iou[tall_from:], Counts())),
                                        f"centre_hit_recall_ge_{TALL_PX:g}px": _recall(sum(centre[tall_from:],
                                                                                           Counts()))}
                break
        points[f"{factor:g}x"] = point
    return points


def summarise(report: PersonsReport, *, per_frame: bool = False) -> dict:
    """The report as plain data (the --json output); `per_frame` adds one row per image."""
    names = bucket_names(report.height_edges)
    tall_from = bucket_of(TALL_PX, report.height_edges)
    times = [f.finder_ms for f in report.frames]
    matches = match_frames(report)
    whole: dict = {}
    for threshold in report.thresholds:
        per_condition = {}
        for condition, infrared in _CONDITIONS:
            by_truth, by_prediction, total = frame_counts(matches, threshold, report.height_edges,
                                                          infrared=infrared)
            per_condition[condition] = {
                "recall_by_height": {n: _recall(c) for n, c in zip(names, by_truth, strict=True)},
                "precision_by_height": {n: _precision(c) for n, c in zip(names, by_prediction, strict=True)},
                f"recall_ge_{TALL_PX:g}px": _recall(sum(by_truth[tall_from:], Counts())),
                f"precision_ge_{TALL_PX:g}px": _precision(sum(by_prediction[tall_from:], Counts())),
                "recall": _recall(total), "precision": _precision(total)}
        whole[f"{threshold:g}"] = per_condition
    summary = {
        "dataset": report.dataset, "detector": report.detector, "frames": len(report.frames),
        "infrared_frames": sum(f.infrared for f in report.frames),
        "truth_boxes": sum(len(f.truth) for f in report.frames), "height_buckets_px": list(names),
        "finder_ms_per_frame": {"mean": _r(float(np.mean(times))) if times else None,
                                "median": _r(float(np.median(times))) if times else None},
        "whole_frame": whole, "whole_frame_operating_points": frame_operating_points(report, matches),
        "aim": {"recall_at_least": dict(RECALL_AIMS), "at_precision_at_least": PRECISION_AIM,
                "for_boxes_taller_than_px": TALL_PX, "empty_crop_alarms_at_most": round(EMPTY_ALARM_AIM, 4)},
        "notes": list(report.notes),
    }
    if any(f.crop_scores for f in report.frames):
        summary["crops"] = _crop_summary(report, names, tall_from)
        summary["crop_operating_points"] = crop_operating_points(report)
    if per_frame:
        lowest = report.thresholds[-1]
        summary["per_frame"] = [
            {"path": f.path, "infrared": f.infrared, "truth": len(f.truth), "finder_ms": _r(f.finder_ms),
             "detections": [{"score": _r(d.score), "box": [_r(v) for v in (d.box.x1, d.box.y1, d.box.x2, d.box.y2)]}
                            for d in f.detections if d.score >= lowest]}
            for f in report.frames]
    return summary


def _crop_summary(report: PersonsReport, names, tall_from: int) -> dict:
    crops: dict = {"ms_per_crop": _r(report.crop_ms) if report.crop_ms is not None else None}
    classes = sorted({t.class_id for f in report.frames for t in f.truth})
    for factor in CROP_FACTORS:
        per_threshold = {}
        for threshold in report.thresholds:
            per_condition = {}
            for condition, infrared in _CONDITIONS:
                counts = crop_recall(report, factor, threshold, infrared=infrared)
                per_condition[condition] = {
                    "recall_by_height": {n: _recall(c) for n, c in zip(names, counts, strict=True)},
                    f"recall_ge_{TALL_PX:g}px": _recall(sum(counts[tall_from:], Counts())),
                    "recall": _recall(sum(counts, Counts())),
                    f"centre_hit_recall_ge_{TALL_PX:g}px": _recall(sum(crop_recall(
                        report, factor, threshold, infrared=infrared, centre=True)[tall_from:], Counts())),
                    "recall_by_class": {str(c): _recall(sum(crop_recall(report, factor, threshold, infrared=infrared,
                                                                        class_id=c), Counts())) for c in classes}}
            per_threshold[f"{threshold:g}"] = per_condition
        crops[f"{factor:g}x"] = per_threshold
    crops["empty_crop_alarms"] = {
        f"{t:g}": {condition: dict(zip(("fired", "crops"), empty_crop_alarm_rate(report, t, infrared=infrared),
                                       strict=True))
                   for condition, infrared in _CONDITIONS} for t in report.thresholds}
    return crops


def format_summary(summary: dict) -> str:
    """A short text table of the summary."""
    names = summary["height_buckets_px"]
    tall, precise = f"recall_ge_{TALL_PX:g}px", f"precision_ge_{TALL_PX:g}px"
    lines = [f"{summary['dataset']} ({summary['detector']}): {summary['frames']} frames "
             f"({summary['infrared_frames']} infrared), {summary['truth_boxes']} labelled people; finder "
             f"{summary['finder_ms_per_frame']['mean']} ms/frame",
             *(f"note: {note}" for note in summary.get("notes", [])),
             f"whole frame (person finder), IoU >= 0.5; recall by truth height {names}:"]
    for threshold, per_condition in summary["whole_frame"].items():
        for condition in ("day", "infrared"):
            c = per_condition[condition]
            lines.append(f"  score>={threshold:<5} {condition:8} recall {_cells(c['recall_by_height'])}  "
                         f">=120px {_fmt(c[tall])} precision {_fmt(c[precise])}  all {_fmt(c['recall'])} "
                         f"precision {_fmt(c['precision'])}")
    for condition, point in summary["whole_frame_operating_points"].items():
        if point is None:
            lines.append(f"  {condition}: precision >= {PRECISION_AIM} on boxes >= 120 px is not reached at any score")
        else:
            lines.append(f"  {condition}: precision >= {PRECISION_AIM} from score {point['score']}: recall >= 120 px "
                         f"{_fmt(point[tall])} (aim {point['recall_aim']}), precision {_fmt(point[precise])}")
    crops = summary.get("crops")
    if crops:
        lines.append(f"crops around each labelled person (detector on the crop, {crops['ms_per_crop']} ms/crop), "
                     f"people >= 120 px, IoU >= 0.5 (centre hit):")
        for factor in (f"{f:g}x" for f in CROP_FACTORS):
            for threshold, per_condition in crops[factor].items():
                cells = "  ".join(f"{condition} {_fmt(per_condition[condition][tall])} "
                                  f"({_fmt(per_condition[condition]['centre_hit_' + tall])})"
                                  for condition in ("day", "infrared"))
                lines.append(f"  {factor:4} score>={threshold:<5} {cells}")
        for threshold, per_condition in crops["empty_crop_alarms"].items():
            parts = [f"{k} {v['fired']}/{v['crops']}" for k, v in per_condition.items() if k != "all"]
            lines.append(f"  empty crops with a person at score>={threshold}: " + ", ".join(parts))
        for factor, point in summary["crop_operating_points"].items():
            if point is None:
                lines.append(f"  {factor}: empty crops fire more than 1 in 60 at every score")
                continue
            alarms = point["empty_crop_alarms"]
            cells = "  ".join(f"{condition} {_fmt(point[condition][tall])} "
                              f"({_fmt(point[condition]['centre_hit_' + tall])})" for condition in ("day", "infrared"))
            lines.append(f"  {factor}: empty crops {alarms['fired']}/{alarms['crops']} from score {point['score']}: "
                         f"{cells}")
    return "\n".join(lines)


def _recall(c: Counts) -> dict:
    return {"found": c.tp, "total": c.tp + c.fn, "recall": _r(c.recall)}


def _precision(c: Counts) -> dict:
    return {"correct": c.tp, "predicted": c.tp + c.fp, "precision": _r(c.precision)}


def _cells(values: dict) -> str:
    return " ".join(_fmt(v) for v in values.values())


def _fmt(value: dict) -> str:
    rate = value.get("recall", value.get("precision"))
    total = value.get("total", value.get("predicted"))
    return f"{'-' if rate is None else f'{rate:.2f}'}/{total}"


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
