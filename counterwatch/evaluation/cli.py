"""`counterwatch eval ...`: the evaluation commands. Data paths are arguments: dev data never enters the repo."""
from __future__ import annotations

import json
from pathlib import Path

import click

DETECTOR = "ssd_mobilenet_v2_coco"
WIDE_INPUT = (533, 300)  # 16:9 full-frame pass of the person finder


@click.group("eval")
def eval_cli() -> None:
    """Measure perception and per-frame behaviour evidence on labelled photos, boxes and clips."""


def _echo(summary: dict, as_json: bool, text: str) -> None:
    click.echo(json.dumps(summary, ensure_ascii=False, indent=2) if as_json else text)


def _load(name: str, **options):
    from models import ModelError, load_manifests, load_model

    try:
        return load_model(name, load_manifests(), **options)
    except ModelError as exc:
        raise click.ClickException(str(exc)) from None


def _thresholds(value: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter(f"expected comma-separated numbers, got {value!r}") from None
    if not values or not all(0.05 <= v <= 1.0 for v in values):
        raise click.BadParameter("score thresholds must be within 0.05..1")
    return values


@eval_cli.command()
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the full summary (per-frame detections) as JSON.")
@click.option("--limit", type=click.IntRange(1), help="Score only N evenly spaced images (exploration).")
@click.option("--scores", "scores", default="0.3,0.2,0.15", show_default=True,
              help="Score thresholds to report (one detector run serves all).")
@click.option("--classes", help="Comma-separated class ids that are people (default: every class).")
@click.option("--crops/--no-crops", default=True, show_default=True,
              help="Also run the detector on crops around each labelled person (as the cascade does per window).")
@click.option("--crop-clahe", is_flag=True, help="Equalise infrared frames (CLAHE) before cropping: a proposal for "
              "the cascade, not what it does today.")
def persons(directory: Path, as_json: bool, limit: int | None, scores: str, classes: str | None,
            crops: bool, crop_clahe: bool) -> None:
    """Score person detection on YOLO boxes (DIR/images, DIR/labels): recall and precision by box height, day and
    infrared apart, on whole frames (vision.person_finder) and on crops around each person."""
    from counterwatch.evaluation.persons import evaluate_persons, format_summary, read_yolo_dataset, summarise
    from vision.person_finder import FinderSettings, PersonFinder

    thresholds = _thresholds(scores)
    wanted = frozenset(int(c) for c in classes.split(",")) if classes else None
    try:
        dataset = read_yolo_dataset(directory, classes=wanted, limit=limit)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    detector = _load(DETECTOR)
    wide = _load(DETECTOR, input_size=list(WIDE_INPUT))
    settings = FinderSettings(min_score=max(thresholds))
    try:
        report = evaluate_persons(dataset, PersonFinder(detector, settings, wide_detector=wide),
                                  detector if crops else None, thresholds=thresholds, crops=crops,
                                  crop_equalise_infrared=crop_clahe, name=str(directory))
    finally:
        detector.close()
        wide.close()
    summary = summarise(report, per_frame=as_json)
    _echo(summary, as_json, format_summary(summary))


@eval_cli.command()
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--labels", "labels_path", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Label map YAML (folders: {folder: behaviour}), e.g. configs/eval/har.yaml.")
@click.option("--yolo-classes", "yolo_classes", help="Instead of --labels: DIR is a YOLO set and each photo is "
              "labelled by its boxes' classes, e.g. '1=phone_use,0=none,2=none' for phones_handheld.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary with per-image cues and evidence as JSON.")
@click.option("--limit", type=click.IntRange(1), help="Score only N evenly spaced images per folder (with "
              "--yolo-classes: in all).")
@click.option("--naive", is_flag=True, help="Run every model on every person (hands always), not the cost-saving "
              "cascade.")
def frames(directory: Path, labels_path: Path | None, yolo_classes: str | None, as_json: bool, limit: int | None,
           naive: bool) -> None:
    """Per-frame behaviour decisions on folder-per-class photos: per-behaviour precision, recall, F1, confusion."""
    from counterwatch.evaluation.frames import (evaluate_frames, format_summary, list_photos, list_yolo_photos,
                                                load_label_map, parse_class_map, summarise)
    from counterwatch.pipeline import build_cascade, load_models
    from models import ModelError

    if (labels_path is None) == (yolo_classes is None):
        raise click.UsageError("give exactly one of --labels and --yolo-classes")
    try:
        if yolo_classes is not None:
            photos = list_yolo_photos(directory, parse_class_map(yolo_classes), limit=limit)
        else:
            photos = list_photos(directory, load_label_map(labels_path), limit_per_folder=limit)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        models = load_models(None)
    except ModelError as exc:
        raise click.ClickException(str(exc)) from None
    with models:
        report = evaluate_frames(photos, build_cascade(None, None, models, naive=naive), name=str(directory))
    summary = summarise(report, per_image=as_json)
    _echo(summary, as_json, format_summary(summary))


@eval_cli.command()
@click.argument("video", metavar="VIDEO", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--annotations", "annotations_path", required=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Interval annotations JSON keyed by video file name (the dev videos/annotations.json format).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary with the per-frame timeline as JSON.")
@click.option("--fps", "analysis_fps", default=2.0, show_default=True, type=click.FloatRange(0.1, 30),
              help="Analysed frames per second of video (the hall default is 2).")
@click.option("--min-absent", "min_absent_s", default=1.0, show_default=True, type=click.FloatRange(0),
              help="Seconds without a person before the presence-based detector flags an absence.")
@click.option("--tolerance", "tolerance_s", default=1.0, show_default=True, type=click.FloatRange(0),
              help="Annotation boundary tolerance (s): agreement is also reported away from boundaries.")
def clip(video: Path, annotations_path: Path, as_json: bool, analysis_fps: float, min_absent_s: float,
         tolerance_s: float) -> None:
    """Presence timeline agreement and absence onset/offset error of one clip against interval annotations."""
    from counterwatch.evaluation.clip import PresenceAbsenceDetector, evaluate_clip, format_summary, load_annotations
    from counterwatch.evaluation.clip import summarise
    from counterwatch.pipeline import build_cascade, cascade_settings, load_models
    from models import ModelError

    try:
        annotations = load_annotations(annotations_path)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    annotation = annotations.get(video.name)
    if annotation is None:
        raise click.ClickException(f"{annotations_path} has no entry for {video.name}; it has {sorted(annotations)}")
    min_score = cascade_settings(None).person_min_score
    try:
        models = load_models(None)
    except ModelError as exc:
        raise click.ClickException(str(exc)) from None
    with models:
        try:
            report = evaluate_clip(video, annotation, build_cascade(None, None, models), analysis_fps=analysis_fps,
                                   detector=PresenceAbsenceDetector(min_absent_s=min_absent_s, min_score=min_score),
                                   min_score=min_score, tolerance_s=tolerance_s)
        except RuntimeError as exc:
            raise click.ClickException(str(exc)) from None
    summary = summarise(report, per_frame=as_json)
    _echo(summary, as_json, format_summary(summary))


if __name__ == "__main__":  # `python -m counterwatch.evaluation.cli ...` works before the group is mounted
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    eval_cli()
