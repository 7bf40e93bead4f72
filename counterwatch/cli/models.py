"""`counterwatch models ...`: list, verify, export and fine-tune models (the model logic is the models package's);
the learning loop's commands (train-heads, promote, rollback, loso, adapt-curve, shadow-report) come from
counterwatch.cli.learning and are mounted on this group here."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from counterwatch.cli.learning import (
    adapt_curve_cmd,
    loso_cmd,
    promote_cmd,
    rollback_cmd,
    shadow_report_cmd,
    train_heads,
)
from models.errors import ModelError
from models.manifest import ModelManifest, files_present, load_manifests, shipped_manifest_dir

__all__ = ["models_cli"]


def _registry(ctx: click.Context) -> dict[str, ModelManifest]:
    try:
        return load_manifests(ctx.obj["manifest_dirs"])
    except ModelError as exc:
        raise click.ClickException(str(exc)) from exc


def _table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in [headers, ["-" * w for w in widths], *rows]]
    return "\n".join(lines)


@click.group(name="models")
@click.option("--manifest-dir", "manifest_dirs", multiple=True, type=click.Path(path_type=Path),
              help="Extra directory of model manifests (repeatable); replaces shipped manifests of the same name.")
@click.pass_context
def models_cli(ctx: click.Context, manifest_dirs: tuple[Path, ...]) -> None:
    """Offline models: list, verify, export YOLO weights; train, promote and roll back behaviour heads."""
    ctx.ensure_object(dict)
    ctx.obj["manifest_dirs"] = manifest_dirs


@models_cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def list_models(ctx: click.Context, as_json: bool) -> None:
    """Known models and whether their files are present (sha256 is checked by verify)."""
    registry = _registry(ctx)
    rows: list[dict[str, Any]] = []
    for name, manifest in sorted(registry.items()):
        rows.append({
            "name": name,
            "task": manifest.task.value,
            "runtime": manifest.runtime.value,
            "source": manifest.describe_source(),
            "present": files_present(manifest),
            "optional": manifest.optional,
            "licence": manifest.licence,
        })
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = [[r["name"], r["task"], r["runtime"], r["source"], "yes" if r["present"] else "no",
              r["licence"] if len(r["licence"]) <= 40 else r["licence"][:37] + "..."] for r in rows]
    click.echo(_table(table, ["name", "task", "runtime", "source", "present", "licence"]))


@models_cli.command("verify")
@click.argument("names", nargs=-1)
@click.option("--repeat", default=1, show_default=True, type=click.IntRange(1, 100),
              help="Inferences per model; with more than one, the median of the later ones is also shown.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_context
def verify(ctx: click.Context, names: tuple[str, ...], repeat: int, as_json: bool) -> None:
    """Check files, sha256, loading and one inference per model; exit 1 if any is missing or fails.

    Without NAMES every model is checked. The shipped placeholders of optional operator-supplied models (YOLO)
    are then reported as missing with the fix, and counted as missing, without failing the run: a hall needs them
    only when its config names them (`counterwatch check-config` checks that). A model named on the command line
    or whose manifest comes from --manifest-dir fails the run when its files are missing.
    """
    from counterwatch.fonts import cjk_font
    from models.verify import TextSample, verify_model  # imports cv2 and the runtimes lazily, only when verifying
    from vision.signs import SIGN_TEXT

    registry = _registry(ctx)
    targets = list(names) or sorted(registry)
    sign_text = TextSample(SIGN_TEXT, cjk_font)  # the text reader must read the pause sign's text
    results = [verify_model(name, registry, repeat=repeat, text_sample=sign_text) for name in targets]
    excused = [r.name for r in results
               if r.status == "missing" and not names and r.optional and _shipped(registry.get(r.name))]
    failing = [r for r in results if r.status == "failed" or (r.status == "missing" and r.name not in excused)]
    counts = {status: sum(r.status == status for r in results) for status in ("ok", "missing", "failed")}
    if as_json:
        click.echo(json.dumps({"ok": not failing, "counts": counts, "optional_not_installed": excused,
                               "models": [r.as_dict() for r in results]}, indent=2))
    else:
        for r in results:
            if r.status == "ok":
                steady = f", then {r.steady_latency_ms:.0f} ms" if r.steady_latency_ms is not None else ""
                click.echo(f"ok       {r.name}: load {r.load_ms:.0f} ms, inference {r.latency_ms:.0f} ms{steady}; "
                           f"{r.summary}")
            else:
                click.echo(f"{r.status:<8} {r.name}: {r.error}")
        summary = f"{counts['ok']} ok, {counts['missing']} missing, {counts['failed']} failed"
        if excused:
            summary += (f" ({', '.join(excused)}: optional, not installed; needed only where a hall config names "
                        "them)")
        click.echo(summary)
    if failing:
        ctx.exit(1)


def _shipped(manifest: ModelManifest | None) -> bool:
    """Whether the manifest is one shipped with counterwatch (not replaced from a --manifest-dir)."""
    return manifest is not None and manifest.origin is not None and \
        manifest.origin.parent.resolve() == shipped_manifest_dir().resolve()


@models_cli.command("export")
@click.argument("weights", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--task", type=click.Choice(["detect", "pose"]), default="detect", show_default=True)
@click.option("--imgsz", type=int, default=640, show_default=True, help="Square network input size in pixels.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("data/models"),
              show_default=True, help="Directory for the ONNX file and its manifest.")
@click.option("--name", default=None, help="Manifest name; default yolo_detect / yolo_pose.")
def export(weights: Path, task: str, imgsz: int, out_dir: Path, name: str | None) -> None:
    """Export YOLO WEIGHTS (.pt) to ONNX plus a pinned manifest (needs the detector extra)."""
    from models.export import ExportUnavailable, export_yolo

    try:
        manifest = export_yolo(weights, task=task, imgsz=imgsz, out_dir=out_dir, name=name)
    except ExportUnavailable as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except (ModelError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {manifest} and its ONNX; load it with --manifest-dir {manifest.parent}")


@models_cli.command("train-detector")
@click.option("--dataset", "dataset", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Dataset directory (manifest.jsonl, labels/, classes.txt) from `counterwatch dataset export`.")
@click.option("--base", required=True,
              help="Local YOLO .pt to fine-tune, or a model YAML such as yolo11n.yaml (random init); never downloaded.")
@click.option("--epochs", default=50, show_default=True, type=click.IntRange(1, 10000))
@click.option("--imgsz", default=640, show_default=True, type=int, help="Square training and ONNX input size.")
@click.option("--batch", default=16, show_default=True, type=click.IntRange(1, 1024))
@click.option("--val-fraction", default=0.2, show_default=True,
              type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="About this share of the images, whole groups only, is held out for validation.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seeds the group split and training.")
@click.option("--device", default="cpu", show_default=True, help="cpu, or a CUDA device index such as 0.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(0, 64), help="Data-loader workers.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              default=Path("data/models/detectors"), show_default=True,
              help="Registry directory; the result lands in OUT/NAME/VERSION/.")
@click.option("--name", default="yolo_detect", show_default=True,
              help="Manifest name (yolo_detect replaces the shipped placeholder).")
@click.option("--quiet", is_flag=True, help="No ultralytics progress output.")
def train_detector_command(dataset: Path, base: str, epochs: int, imgsz: int, batch: int, val_fraction: float,
                           seed: int, device: str, workers: int, out_dir: Path, name: str, quiet: bool) -> None:
    """Fine-tune a YOLO detector on a dataset's boxes, export ONNX and register it (needs the detector extra).

    Slow on a CPU: about 1 s per training image per epoch at 640 px for yolo11n on 2 cores (see the README).
    """
    from models.export import ExportUnavailable
    from models.train_detector import DatasetError, train_detector

    try:
        result = train_detector(dataset, base, out=out_dir, name=name, epochs=epochs, imgsz=imgsz, batch=batch,
                                val_fraction=val_fraction, seed=seed, device=device, workers=workers,
                                progress=not quiet)
    except ExportUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    except DatasetError as exc:
        raise click.ClickException(f"dataset {dataset}: {exc}") from exc
    except (ModelError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    metrics, data = result.card["metrics"], result.card["dataset"]
    click.echo(f"trained {name} {result.directory.name}: {data['train']['images']} train / {data['val']['images']} "
               f"val images, mAP50 {metrics['mAP50']:.3f}, mAP50-95 {metrics['mAP50-95']:.3f}, "
               f"{result.card['train_seconds']:.0f} s")
    where = result.directory.absolute()
    if "person" not in result.card["dataset"]["classes"]:
        click.echo("warning: the classes have no 'person'; the cascade finds people with models.detector, so this "
                   "model cannot be the hall's detector unless its dataset boxes every person", err=True)
    click.echo(f"wrote {result.onnx.name}, {result.manifest.name} and card.json in {where}")
    click.echo(f"use it: models.manifest_dirs: [{where}] and models.detector: {name} in the hall config "
               f"(or --manifest-dir {where})")


models_cli.add_command(train_heads)
models_cli.add_command(promote_cmd)
models_cli.add_command(rollback_cmd)
models_cli.add_command(loso_cmd)
models_cli.add_command(adapt_curve_cmd)
models_cli.add_command(shadow_report_cmd)
