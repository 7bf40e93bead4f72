"""`counterwatch models train-heads | promote | rollback | loso | adapt-curve | shadow-report`: the learning loop's
commands, mounted on the models group by counterwatch.cli.models."""
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


def _recipe_dataset(recipe_path: Path, data_root: Path):
    """The train sources of a recipe as an in-memory Dataset (public photos stay where they are)."""
    from counterwatch.learning.features import Dataset
    from counterwatch.learning.sources import load_recipe, provenance, recipe_samples

    try:
        recipe = load_recipe(recipe_path)
        samples = recipe_samples(recipe, data_root, roles=("train",))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    return Dataset(None, tuple(samples), {"version": f"recipe:{recipe_path.name}", "recipe": str(recipe_path),
                                          "sources": provenance(recipe)})


def _registry(root: Path):
    from counterwatch.learning.registry import BUILTIN_ROOT, Registry

    return Registry(root, builtin=BUILTIN_ROOT)


@click.command("train-heads")
@click.option("--dataset", "dataset_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="A dataset export (manifest.jsonl + dataset.json).")
@click.option("--recipe", "recipe_path", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Instead of --dataset: the train sources of a recipe (configs/heads/default.yaml trains the "
              "shipped heads), found under --data.")
@click.option("--data", "data_root", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Root the recipe's source paths are relative to, e.g. ../shared/data.")
@click.option("--out", "out", default=Path("data/models/heads"), show_default=True, type=click.Path(path_type=Path),
              help="Registry directory.")
@click.option("--behaviours", default=",".join(BEHAVIOURS), show_default=True, help="Comma-separated behaviours.")
@click.option("--target-precision", default=0.8, show_default=True, type=click.FloatRange(0.0, 1.0),
              help="The card threshold is the lowest whose grouped out-of-fold precision reaches this.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--model", "candidates", default="mlp,mlp_person", show_default=True,
              help="Candidate heads, chosen by grouped CV (logreg, mlp, mlp_person: without the action region).")
@click.option("--cache-dir", type=click.Path(path_type=Path), default=None,
              help="Feature cache (default: DATASET/.features, or data/cache/learning with --recipe).")
def train_heads(dataset_dir: Path | None, recipe_path: Path | None, data_root: Path | None, out: Path,
                behaviours: str, target_precision: float, seed: int, candidates: str, cache_dir: Path | None) -> None:
    """Train one calibrated head per behaviour (grouped CV, threshold for a target precision) into the registry.
    A new version becomes active only by `models promote` while an active one (a shipped head) exists."""
    from counterwatch.learning.heads import CANDIDATES, TrainSettings
    from counterwatch.learning.registry import train_dataset

    names = tuple(c.strip() for c in candidates.split(",") if c.strip())
    if not names or set(names) - set(CANDIDATES):
        raise click.BadParameter(f"use some of {','.join(CANDIDATES)}", param_hint="--model")
    if (dataset_dir is None) == (recipe_path is None):
        raise click.UsageError("give exactly one of --dataset and --recipe")
    if recipe_path is not None and data_root is None:
        raise click.UsageError("--recipe needs --data (the root its source paths are relative to)")
    if dataset_dir is not None:
        dataset = _dataset(dataset_dir)
    else:
        assert recipe_path is not None and data_root is not None  # checked above
        dataset = _recipe_dataset(recipe_path, data_root)
    if recipe_path is not None and cache_dir is None:
        cache_dir = DEFAULT_LOSO_CACHE
    settings = TrainSettings(target_precision=target_precision, seed=seed, candidates=names)
    registry = _registry(out)
    try:
        written = train_dataset(dataset, registry, _behaviours(behaviours), settings, cache_dir=cache_dir)
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
    """Make VERSION active if it measures at least as well as the active one (the shipped head until the hall
    promotes its own) on held-out data (else exit 1)."""
    from counterwatch.learning.registry import RegistryError, promote

    try:
        result = promote(_registry(root), behaviour, version, _dataset(dataset_dir))
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
    """Re-activate the previously active version of BEHAVIOUR's head (the shipped one after a first promotion)."""
    from counterwatch.learning.registry import RegistryError

    try:
        version = _registry(root).rollback(behaviour)
    except RegistryError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{behaviour}: active version is now {version}")


def _load_recipe(path: Path):
    from counterwatch.learning.sources import load_recipe

    try:
        return load_recipe(path)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@click.command("loso")
@click.option("--data", "data", default=Path("../shared/data"), show_default=True,
              type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Root of the recipe's sources.")
@click.option("--recipe", "recipe_path", default=Path("configs/heads/loso.yaml"), show_default=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path), help="Sources, their layout and labels.")
@click.option("--json", "as_json", is_flag=True)
@click.option("--limit", type=click.IntRange(1), default=None,
              help="Photos per folder (YOLO sources: in all) for quick exploration.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--target-precision", default=0.8, show_default=True, type=click.FloatRange(0.0, 1.0))
@click.option("--cache-dir", type=click.Path(path_type=Path), default=DEFAULT_LOSO_CACHE, show_default=True)
def loso_cmd(data: Path, recipe_path: Path, as_json: bool, limit: int | None, seed: int, target_precision: float,
             cache_dir: Path) -> None:
    """Leave-one-source-out: heads, rules and their fused per-frame decision on each held-out source."""
    from counterwatch.learning.heads import TrainSettings
    from counterwatch.learning.loso import format_loso, run_loso

    try:
        result = run_loso(_load_recipe(recipe_path), data, cache_dir=cache_dir, limit=limit,
                          settings=TrainSettings(target_precision=target_precision, seed=seed))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(result, indent=2) if as_json else format_loso(result))


@click.command("adapt-curve")
@click.option("--data", "data", default=Path("../shared/data"), show_default=True,
              type=click.Path(file_okay=False, exists=True, path_type=Path), help="Root of the recipe's sources.")
@click.option("--recipe", "recipe_path", default=Path("configs/heads/loso.yaml"), show_default=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path), help="Sources, their layout and labels.")
@click.option("--held-out", "held_out", default="phones_handheld", show_default=True,
              help="Comma-separated sources that play the hall (their labelled examples are added k at a time).")
@click.option("--k", "ks", default="0,10,25,50,100", show_default=True, help="Examples per class to add.")
@click.option("--draws", default=3, show_default=True, type=click.IntRange(1, 50), help="Random draws per point.")
@click.option("--weight", default=1.0, show_default=True, type=click.FloatRange(1.0, 10000.0),
              help="How many public photos each added example of the held-out source weighs.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True)
@click.option("--cache-dir", type=click.Path(path_type=Path), default=DEFAULT_LOSO_CACHE, show_default=True)
def adapt_curve_cmd(data: Path, recipe_path: Path, held_out: str, ks: str, draws: int, weight: float, seed: int,
                    as_json: bool, cache_dir: Path) -> None:
    """F1 on a held-out source as k of its own labelled examples per class are added to the training photos."""
    from counterwatch.learning.adapt import format_curve, run_adapt_curve

    try:
        values = tuple(sorted({int(k) for k in ks.split(",") if k.strip()}))
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {ks!r}", param_hint="--k") from None
    if not values or values[0] < 0:
        raise click.BadParameter("k values must be >= 0", param_hint="--k")
    sources = [s.strip() for s in held_out.split(",") if s.strip()]
    try:
        result = run_adapt_curve(_load_recipe(recipe_path), data, held_out=sources, cache_dir=cache_dir, ks=values,
                                 draws=draws, weight=weight, seed=seed)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(result, indent=2) if as_json else format_curve(result))


@click.command("shadow-report")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Hall config; its storage.data_dir holds incidents.jsonl and shadow/.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def shadow_report_cmd(config_path: Path, as_json: bool) -> None:
    """Compare the shadow heads' would-be alerts with the live incidents (overlap in time, same window) and, where
    incidents were reviewed, the precision of both."""
    from counterwatch.config import ConfigError, load_config
    from counterwatch.learning.shadow import shadow_report
    from monitor_api.storage.tool_reads import hall_review_outcomes

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    outcomes = hall_review_outcomes(config)
    if outcomes is None and not as_json:
        click.echo("no hall database yet: precision on reviewed incidents is not computed")
    summaries = shadow_report(config.resolve(config.storage.data_dir), outcomes)
    if as_json:
        click.echo(json.dumps([s.to_json() for s in summaries], indent=2))
    elif not summaries:
        click.echo("no shadow log (configure models.shadow_heads and run the hall)")
    for summary in summaries if not as_json else ():
        click.echo(summary.line())
