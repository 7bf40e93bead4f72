"""`counterwatch eval ...`: the evaluation commands (counterwatch.evaluation measures). Data paths are arguments: dev
data never enters the repo."""
from __future__ import annotations

import json
from pathlib import Path

import click

# 16:9 full-frame pass of the person finder, for runtimes whose input size is an option (YOLOX's is fixed).
WIDE_INPUT = {"ssd_cvdnn": (533, 300)}


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
@click.option("--detector", "detector_name", help="Person detector model to score alone (default: what the "
              "cascade uses: models.person_detector, yolox_nano, on whole frames, and on window crops confirmed by "
              "models.detector, ssd_mobilenet_v2_coco; e.g. --detector ssd_mobilenet_v2_coco to compare).")
@click.option("--json", "as_json", is_flag=True, help="Print the full summary (per-frame detections) as JSON.")
@click.option("--limit", type=click.IntRange(1), help="Score only N evenly spaced images (exploration).")
@click.option("--scores", "scores", default="0.5,0.4,0.3,0.2,0.1", show_default=True,
              help="Score thresholds to report (one detector run serves all; operating points sweep from the lowest).")
@click.option("--classes", help="Comma-separated class ids that are people (default: every class).")
@click.option("--tile-scales", "tile_scales", default="0.4,0.6", show_default=True,
              help="Whole-frame tiles: detector input pixels per frame pixel, one tile pass per value ('' for none).")
@click.option("--flip", is_flag=True, help="Whole frame: run every pass again on the mirrored image (twice the cost).")
@click.option("--crops/--no-crops", default=True, show_default=True,
              help="Also run the detector on crops around each labelled person (as the cascade does per window).")
@click.option("--crop-clahe", is_flag=True, help="Equalise infrared frames (CLAHE) before cropping: a proposal for "
              "the cascade, not what it does today.")
@click.option("--crop-flip", is_flag=True, help="Look at every crop a second time mirrored (a person found either "
              "way counts): a proposal for the cascade, not what it does today.")
def persons(directory: Path, detector_name: str | None, as_json: bool, limit: int | None, scores: str,
            classes: str | None, tile_scales: str, flip: bool, crops: bool, crop_clahe: bool, crop_flip: bool) -> None:
    """Score person detection on YOLO boxes (DIR/images, DIR/labels): recall and precision by box height, day and
    infrared apart, on whole frames (vision.person_finder) and on crops around each person; the operating points
    of the aims (recall at precision 0.9, recall at 1 empty-crop alarm in 60)."""
    from counterwatch.config.schema import ModelsConfig
    from counterwatch.evaluation.persons import evaluate_persons, read_yolo_dataset
    from counterwatch.evaluation.persons_summary import format_summary, summarise
    from models import load_manifests
    from vision.person_finder import FinderSettings, PersonFinder

    thresholds = _thresholds(scores)
    name = detector_name or ModelsConfig().person_detector or ModelsConfig().detector
    wanted = frozenset(int(c) for c in classes.split(",")) if classes else None
    try:
        dataset = read_yolo_dataset(directory, classes=wanted, limit=limit)
        settings = FinderSettings(tile_scales=_scales(tile_scales), min_score=max(thresholds), flip=flip)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    manifest = load_manifests().get(name)
    detector = _load(name)
    wide_input = WIDE_INPUT.get(manifest.type) if manifest is not None else None
    wide = _load(name, input_size=list(wide_input)) if wide_input else None
    crop_detector, label = detector, name
    defaults = ModelsConfig()
    if detector_name is None and defaults.person_detector and defaults.detector != name:
        from vision.person_ensemble import ConfirmedPersonDetector

        crop_detector = ConfirmedPersonDetector(detector, _load(defaults.detector))
        label = f"{name} (window crops: confirmed by {defaults.detector})"
    try:
        report = evaluate_persons(dataset, PersonFinder(detector, settings, wide_detector=wide),
                                  crop_detector if crops else None, thresholds=thresholds, crops=crops,
                                  crop_equalise_infrared=crop_clahe, crop_flip=crop_flip, name=str(directory),
                                  detector=label)
    finally:
        if crop_detector is not detector:
            crop_detector.close()  # closes both
        else:
            detector.close()
        if wide is not None:
            wide.close()
    summary = summarise(report, per_frame=as_json)
    _echo(summary, as_json, format_summary(summary))


def _scales(value: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"expected comma-separated numbers, got {value!r}") from None


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
@click.option("--heads/--no-heads", default=True, show_default=True,
              help="Fuse the behaviour heads (the registry's active versions: the shipped heads unless the registry "
              "promoted its own) with the rules' cues, as a hall does by default; --no-heads: rules only.")
@click.option("--registry", "registry_dir", default=Path("data/models/heads"), show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Heads registry (its active pointers).")
def frames(directory: Path, labels_path: Path | None, yolo_classes: str | None, as_json: bool, limit: int | None,
           naive: bool, heads: bool, registry_dir: Path) -> None:
    """Per-frame behaviour decisions on folder-per-class photos: per-behaviour precision, recall, F1, confusion."""
    from counterwatch.evaluation.frames import (
        evaluate_frames,
        format_summary,
        list_photos,
        list_yolo_photos,
        load_label_map,
        parse_class_map,
        summarise,
    )
    from counterwatch.perception import build_cascade, load_models
    from models import ModelError

    if (labels_path is None) == (yolo_classes is None):
        raise click.UsageError("give exactly one of --labels and --yolo-classes")
    try:
        if yolo_classes is not None:
            photos = list_yolo_photos(directory, parse_class_map(yolo_classes), limit=limit)
        else:
            assert labels_path is not None  # exactly one of the two, checked above
            photos = list_photos(directory, load_label_map(labels_path), limit_per_folder=limit)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        models = load_models(None)
    except ModelError as exc:
        raise click.ClickException(str(exc)) from None
    with models:
        scorer = _photo_heads(registry_dir) if heads else None
        try:
            report = evaluate_frames(photos, build_cascade(None, None, models, naive=naive), name=str(directory),
                                     heads=scorer)
        finally:
            if scorer is not None:
                scorer.close()
    summary = summarise(report, per_image=as_json)
    _echo(summary, as_json, format_summary(summary))


def _photo_heads(registry_dir: Path):
    from counterwatch.evaluation.frames import PHOTO_WINDOW
    from counterwatch.learning.features import BEHAVIOURS
    from counterwatch.learning.registry import BUILTIN_ROOT, Registry, RegistryError
    from counterwatch.learning.runtime import HeadScorer

    try:
        return HeadScorer(Registry(registry_dir, builtin=BUILTIN_ROOT),
                          {PHOTO_WINDOW: dict.fromkeys(BEHAVIOURS, "active")})
    except (RegistryError, OSError) as exc:
        raise click.ClickException(f"behaviour heads: {exc} (or run with --no-heads)") from None


@eval_cli.command()
@click.argument("video", metavar="VIDEO", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Hall config with exactly one camera: its geometry, analysis rate, models and rules apply and "
              "VIDEO replaces the camera's source. Its calendar must keep the windows open for the whole clip (a "
              "schedule open around the clock, like `always` in configs/demo.yaml). Without it: one window w01 "
              "whose staff zone is the whole frame and whose citizen side is a thin strip along the bottom edge "
              "(a person whose box reaches the bottom edge counts as a citizen), default rules and models.")
@click.option("--annotations", "annotations_path", required=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Interval annotations JSON keyed by video file name (format: counterwatch/evaluation/clip.py, "
              "README 'Clip annotations'; the legacy person_present/person_absent format is the config's first "
              "window).")
@click.option("--dwell-scale", "dwell_scale", default=1.0, show_default=True,
              type=click.FloatRange(0, 1, min_open=True),
              help="Multiply every rule's dwell, clear, return and cooldown times by this factor so that short "
              "clips can raise incidents; a time below its field's minimum is raised to the minimum (reported).")
@click.option("--tolerance", "tolerance_s", default=1.0, show_default=True, type=click.FloatRange(0),
              help="Annotation boundary tolerance (s): for presence away from boundaries and for matching incidents.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary, with the per-frame presence timeline, "
              "as JSON.")
def clip(video: Path, config_path: Path | None, annotations_path: Path, dwell_scale: float, tolerance_s: float,
         as_json: bool) -> None:
    """Run the real pipeline (cascade, window states, rules) over one clip and score it per window: presence
    agreement, and per behaviour the incidents found, missed and false, onset error, false alerts per hour."""
    from counterwatch.evaluation.clip_report import format_clip, summarise

    annotations = _annotations(annotations_path)
    annotation = annotations.get(video.name)
    if annotation is None:
        raise click.ClickException(f"{annotations_path} has no entry for {video.name}; it has {sorted(annotations)}")
    config = _config(config_path) if config_path is not None else None
    score = _evaluate(video, annotation, config, str(config_path) if config_path else "implicit", dwell_scale,
                      tolerance_s)
    summary = summarise(score, timeline=as_json)
    _echo(summary, as_json, format_clip(summary))


@eval_cli.command()
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--annotations", "annotations_path", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Annotation file (default: DIR/annotations.json).")
@click.option("--configs", "configs_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Directory of hall configs, one per clip named after the video (desk_arrival.mp4 -> "
              "desk_arrival.yaml). Default: the clip's `config` in the annotations (relative to the annotation "
              "file), else DIR/<video stem>.yaml.")
@click.option("--dwell-scale", "dwell_scale", default=1.0, show_default=True,
              type=click.FloatRange(0, 1, min_open=True), help="As for `eval clip`.")
@click.option("--tolerance", "tolerance_s", default=1.0, show_default=True, type=click.FloatRange(0),
              help="As for `eval clip`.")
@click.option("--json", "as_json", is_flag=True, help="Print every clip's summary and the totals as JSON.")
def clips(directory: Path, annotations_path: Path | None, configs_dir: Path | None, dwell_scale: float,
          tolerance_s: float, as_json: bool) -> None:
    """Every annotated clip of DIR through the real pipeline with its hall config (see `eval clip`): one table
    (per clip and window: presence agreement, found/missed/false per behaviour, false alerts per hour) and totals."""
    from counterwatch.evaluation.clip_report import format_table, summarise, totals

    annotations_path = annotations_path or directory / "annotations.json"
    if not annotations_path.is_file():
        raise click.ClickException(f"{annotations_path}: no annotation file (give --annotations FILE)")
    annotations = _annotations(annotations_path)
    summaries = []
    for name, annotation in annotations.items():
        video = directory / name
        if not video.is_file():
            raise click.ClickException(f"{annotations_path}: clip {name}: no such video {video}")
        config_path = _clip_config_path(annotation, directory, configs_dir)
        score = _evaluate(video, annotation, _config(config_path), str(config_path), dwell_scale, tolerance_s)
        summaries.append(summarise(score))
    total = totals(summaries)
    _echo({"clips": summaries, "totals": total}, as_json, format_table(summaries, total))


def _annotations(path: Path):
    from counterwatch.evaluation.clip import load_annotations

    try:
        return load_annotations(path)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


def _config(path: Path):
    from counterwatch.config.loader import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _clip_config_path(annotation, directory: Path, configs_dir: Path | None) -> Path:
    stem = Path(annotation.name).stem
    if configs_dir is not None:
        path, why = configs_dir / f"{stem}.yaml", "--configs"
    elif annotation.config is not None:
        path, why = annotation.config_path(), f"{annotation.source}: {annotation.name}.config"
    else:
        path, why = directory / f"{stem}.yaml", "no --configs and no `config` in the annotation"
    if not path.is_file():
        raise click.ClickException(f"clip {annotation.name}: no hall config {path} ({why})")
    return path


def _evaluate(video: Path, annotation, config, config_label: str, dwell_scale: float, tolerance_s: float):
    from counterwatch.evaluation.clip_run import evaluate_video

    try:
        return evaluate_video(video, annotation, config, config_label=config_label, dwell_scale=dwell_scale,
                              tolerance_s=tolerance_s)
    except (ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from None

