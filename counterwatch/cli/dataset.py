"""`counterwatch dataset export|import`: the first step of the learning loop (issue 6, section 1)."""
from __future__ import annotations

from pathlib import Path

import click

from counterwatch.cli._inputs import load_config_or_exit


@click.group("dataset")
def dataset_cli() -> None:
    """Training datasets from reviewed incidents and external labelled photo sets."""


@dataset_cli.command("export")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False, exists=True),
              help="Hall config: its database, data directory, cameras and calendar.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Dataset directory (merged if it exists).")
@click.option("--since", help="Only incidents (and sampled frames) from this date (hall-local midnight) or datetime.")
@click.option("--negatives-per-hour", default=0.0, show_default=True, type=click.FloatRange(min=0),
              help="Unlabelled sampled frames taken as negatives per window and hour of service from "
              "DATA_DIR/samples/ (frames labelled in the labelling queue are always taken, with their label).")
@click.option("--no-detect", is_flag=True, help="Skip the offline cascade (no person crops, hand boxes or objects).")
def export_cmd(config_path: str, out: str, since: str | None, negatives_per_hour: float, no_detect: bool) -> None:
    """Reviewed incidents -> dataset: confirmed = positive, dismissed = hard negative (label none); labelled frames
    of the labelling queue with their label (skip left out)."""
    from counterwatch.dataset.export import export_dataset
    from models import ModelError

    config = load_config_or_exit(config_path)
    try:
        report = export_dataset(config, Path(out), since=since, negatives_per_hour=negatives_per_hour,
                                detect=not no_detect)
    except ModelError as exc:
        raise click.ClickException(str(exc)) from None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    click.echo(f"{out}: {report.positives} positive(s), {report.hard_negatives} hard negative(s), {report.labelled} "
               f"labelled frame(s), {report.sampled} sampled frame(s); dataset counts {report.counts}")
    for line in report.skipped:
        click.echo(f"skipped {line}", err=True)


@dataset_cli.command("import")
@click.argument("src", type=click.Path(file_okay=False, exists=True))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Dataset directory (appended to).")
@click.option("--format", "fmt", required=True, type=click.Choice(["folders", "yolo"]))
@click.option("--labels", "labels_path", required=True, type=click.Path(dir_okay=False, exists=True),
              help="Label map: `folders: {folder: behaviour}` or `classes: {id: behaviour}` (+ optional `names`).")
@click.option("--source", help="Source name in the manifest (default: the folder name of SRC).")
@click.option("--group-regex", help="Regex on the file stem whose first group is the sequence key (default: stem).")
@click.option("--no-detect", is_flag=True, help="Skip the offline cascade (no person crops or hand boxes).")
def import_cmd(src: str, out: str, fmt: str, labels_path: str, source: str | None, group_regex: str | None,
               no_detect: bool) -> None:
    """Append an external labelled set (folder-per-class photos or a YOLO set) to a dataset."""
    from counterwatch.dataset.importer import import_dataset

    try:
        report = import_dataset(Path(src), Path(out), fmt=fmt, labels=Path(labels_path), source=source,
                                group_regex=group_regex, detect=not no_detect)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{out}: imported {report.imported} photo(s) from {src}; dataset counts {report.counts}")
    for path in report.unreadable:
        click.echo(f"unreadable, skipped: {path}", err=True)
