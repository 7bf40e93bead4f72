"""`counterwatch models train-heads | promote | rollback | loso`: mounted on the models group by models/cli.py."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from counterwatch.learning.features import BEHAVIOURS

DEFAULT_LOSO_CACHE = Path("data/cache/learning")


def _behaviours(value: str) -> list[str]:
    chosen = [b.strip() for b in value.split(",") if b.strip()]
    unknown = sorted(set(chosen) - set(BEHAVIOURS))
    if unknown or not chosen:
        raise click.BadParameter(f"unknown behaviour(s) {unknown}; use some of {','.join(BEHAVIOURS)}")
    return chosen


def _dataset(path: Path):
    from counterwatch.learning.features import load_dataset

    try:
        return load_dataset(path)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@click.command("train-heads")
@click.option("--dataset", "dataset_dir", required=True, type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="A dataset export (manifest.jsonl + dataset.json).")
@click.option("--out", "out", default=Path("data/models/heads"), show_default=True, type=click.Path(path_type=Path),
              help="Registry directory.")
@click.option("--behaviours", default=",".join(BEHAVIOURS), show_default=True, help="Comma-separated behaviours.")
@click.option("--target-precision", default=0.9, show_default=True, type=click.FloatRange(0.0, 1.0))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--model", "candidates", default="logreg,mlp", show_default=True,
              help="Candidate heads, chosen by grouped CV (logreg, mlp).")
@click.option("--cache-dir", type=click.Path(path_type=Path), default=None,
              help="Feature cache (default: DATASET/.features).")
def train_heads(dataset_dir: Path, out: Path, behaviours: str, target_precision: float, seed: int,
                candidates: str, cache_dir: Path | None) -> None:
    """Train one calibrated head per behaviour (grouped CV, threshold for a target precision) into the registry."""
    from counterwatch.learning.heads import CANDIDATES, TrainSettings
    from counterwatch.learning.registry import Registry, train_dataset

    names = tuple(c.strip() for c in candidates.split(",") if c.strip())
    if not names or set(names) - set(CANDIDATES):
        raise click.BadParameter(f"use some of {','.join(CANDIDATES)}", param_hint="--model")
    settings = TrainSettings(target_precision=target_precision, seed=seed, candidates=names)
    registry = Registry(out)
    try:
        written = train_dataset(_dataset(dataset_dir), registry, _behaviours(behaviours), settings,
                                cache_dir=cache_dir)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    for behaviour, version, card in written:
        cv = card["cv"]
        active = " (active)" if registry.active(behaviour) == version else ""
        click.echo(f"{behaviour}: {out / behaviour / version}{active}  model={card['model']} "
                   f"threshold={card['threshold']:.3f}  CV P {cv['precision']:.2f} R {cv['recall']:.2f} "
                   f"F1 {cv['f1']:.2f} AUC {cv.get('auc', float('nan')):.2f}")


@click.command("promote")
@click.argument("behaviour", type=click.Choice(BEHAVIOURS))
@click.argument("version")
@click.option("--dataset", "dataset_dir", required=True, type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Held-out reviewed data (a dataset export the candidate was not trained on).")
@click.option("--registry", "root", default=Path("data/models/heads"), show_default=True,
              type=click.Path(path_type=Path))
def promote_cmd(behaviour: str, version: str, dataset_dir: Path, root: Path) -> None:
    """Make VERSION active if it measures at least as well as the active one on held-out data (else exit 1)."""
    from counterwatch.learning.registry import Registry, RegistryError, promote

    try:
        result = promote(Registry(root), behaviour, version, _dataset(dataset_dir))
    except RegistryError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(result.message())
    if not result.accepted:
        sys.exit(1)


@click.command("rollback")
@click.argument("behaviour", type=click.Choice(BEHAVIOURS))
@click.option("--registry", "root", default=Path("data/models/heads"), show_default=True,
              type=click.Path(path_type=Path))
def rollback_cmd(behaviour: str, root: Path) -> None:
    """Re-activate the previously active version of BEHAVIOUR's head."""
    from counterwatch.learning.registry import Registry, RegistryError

    try:
        version = Registry(root).rollback(behaviour)
    except RegistryError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{behaviour}: active version is now {version}")


@click.command("loso")
@click.option("--data", "data", default=Path("../shared/data/dev"), show_default=True,
              type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Public dev data with har/ and phones_handheld/.")
@click.option("--json", "as_json", is_flag=True)
@click.option("--limit", type=click.IntRange(1), default=None,
              help="Photos per har folder (phones_handheld: 4x this) for quick exploration.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--target-precision", default=0.9, show_default=True, type=click.FloatRange(0.0, 1.0))
@click.option("--cache-dir", type=click.Path(path_type=Path), default=DEFAULT_LOSO_CACHE, show_default=True)
def loso_cmd(data: Path, as_json: bool, limit: int | None, seed: int, target_precision: float,
             cache_dir: Path) -> None:
    """Leave-one-source-out heads vs rules-only per-frame decisions, and within-har grouped CV."""
    from counterwatch.learning.heads import TrainSettings
    from counterwatch.learning.loso import format_loso, run_loso

    result = run_loso(data, cache_dir=cache_dir, limit=limit,
                      settings=TrainSettings(target_precision=target_precision, seed=seed))
    click.echo(json.dumps(result, indent=2) if as_json else format_loso(result))


@click.command("shadow-report")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Hall config; its storage.data_dir holds incidents.jsonl and shadow/.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def shadow_report_cmd(config_path: Path, as_json: bool) -> None:
    """Compare the shadow heads' would-be alerts with the live incidents (overlap in time, same window) and, where
    incidents were reviewed, the precision of both."""
    from counterwatch.config import ConfigError, load_config
    from counterwatch.learning.shadow import review_outcomes, shadow_report

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    outcomes = review_outcomes(config)
    if outcomes is None and not as_json:
        click.echo("no hall database yet: precision on reviewed incidents is not computed")
    summaries = shadow_report(config.resolve(config.storage.data_dir), outcomes)
    if as_json:
        click.echo(json.dumps([s.to_json() for s in summaries], indent=2))
    elif not summaries:
        click.echo("no shadow log (configure models.shadow_heads and run the hall)")
    for summary in summaries if not as_json else ():
        click.echo(summary.line())


learning_commands = (train_heads, promote_cmd, rollback_cmd, loso_cmd, shadow_report_cmd)
