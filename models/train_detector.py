"""Fine-tune a YOLO detector on an exported dataset's boxes and register its ONNX export.

Reads the dataset layout that ``counterwatch dataset export`` writes (``manifest.jsonl`` with ``sample_id``,
``image`` and ``group`` per line, ``labels/<sample_id>.txt`` YOLO boxes, ``classes.txt``); this package reads those
files itself and knows nothing else of the hall. Only samples with a label file are used: an image without one was
never searched for objects, so training on it as background would teach the model to miss them.

The split keeps every ``group`` (one incident, one source sequence) on one side, seeded. Training, validation and
the ONNX export run offline through ultralytics (the ``detector`` extra, with torch); the result is written as

    OUT/<name>/<version>/<name>.onnx   the export (static input, imgsz as trained)
    OUT/<name>/<version>/<name>.yaml   its manifest, sha256 pinned: pass this directory as a manifest directory
    OUT/<name>/<version>/card.json     the model card: data counts, validation metrics, base model, settings

On a CPU this is slow (see the README): a fine-tune of a few hundred images at 640 px takes hours, not minutes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import shutil
import sys
import tempfile
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from models.errors import ModelError
from models.export import YOLO_LICENCE, import_ultralytics, write_onnx_manifest
from models.manifest import file_sha256

__all__ = ["DatasetError", "DetectionSample", "TrainedDetector", "read_detection_samples", "split_by_group",
           "train_detector"]

logger = logging.getLogger("counterwatch.models")

ONNX_OPSET = 17  # onnxruntime >= 1.14 runs it; the legacy torch exporter ultralytics uses supports it


class DatasetError(ValueError):
    """The dataset cannot train a detector (missing files, no boxes, too few groups)."""


@dataclass(frozen=True)
class DetectionSample:
    sample_id: str
    image: Path
    label: Path
    group: str
    boxes: tuple[int, ...]  # class id of each box; empty for a background image


@dataclass(frozen=True)
class TrainedDetector:
    directory: Path
    onnx: Path
    manifest: Path
    card: dict[str, Any]


def read_detection_samples(dataset: Path) -> tuple[list[str], list[DetectionSample], int]:
    """(class names, samples that have a label file, number of samples skipped for having none)."""
    dataset = Path(dataset)
    manifest, classes_txt = dataset / "manifest.jsonl", dataset / "classes.txt"
    if not manifest.is_file():
        raise DatasetError(f"{dataset} has no manifest.jsonl; pass a directory written by `counterwatch dataset "
                           "export` or `dataset import`")
    if not classes_txt.is_file():
        raise DatasetError(f"{dataset} has no classes.txt: the dataset has no boxes to train a detector on")
    classes = [c.strip() for c in classes_txt.read_text(encoding="utf-8").splitlines() if c.strip()]
    samples, skipped = [], 0
    for number, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            sample_id, image, group = row["sample_id"], dataset / row["image"], str(row["group"])
        except (ValueError, KeyError, TypeError) as exc:
            raise DatasetError(f"{manifest}:{number}: not a sample line ({exc})") from exc
        label = dataset / "labels" / f"{sample_id}.txt"
        if not label.is_file():
            skipped += 1
            continue
        if not image.is_file():
            raise DatasetError(f"{manifest}:{number}: image {image} is missing")
        boxes = []
        for box_line in label.read_text(encoding="utf-8").splitlines():
            fields = box_line.split()
            if not fields:
                continue
            if len(fields) != 5 or not fields[0].isdigit() or int(fields[0]) >= len(classes):
                raise DatasetError(f"{label}: bad YOLO box line {box_line!r} ({len(classes)} classes in classes.txt)")
            boxes.append(int(fields[0]))
        samples.append(DetectionSample(sample_id, image, label, group, tuple(boxes)))
    if not any(s.boxes for s in samples):
        raise DatasetError(f"{dataset} has no boxes: no sample has a non-empty labels/<id>.txt "
                           f"({len(samples)} labelled, {skipped} without a label file)")
    return classes, sorted(samples, key=lambda s: s.sample_id), skipped


def split_by_group(samples: list[DetectionSample], val_fraction: float,
                   seed: int) -> tuple[list[DetectionSample], list[DetectionSample]]:
    """(train, val): whole groups, seeded, about ``val_fraction`` of the images on the validation side."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    groups = sorted({s.group for s in samples})
    if len(groups) < 2:
        raise DatasetError(f"the labelled samples come from {len(groups)} group(s); validation needs at least two "
                           "(no group may be on both sides of the split)")
    random.Random(seed).shuffle(groups)
    sizes = Counter(s.group for s in samples)
    target, val_size = val_fraction * len(samples), 0
    val_groups: set[str] = set()
    for group in groups[:-1]:  # the last group always trains
        if val_groups and val_size >= target:
            break
        val_groups.add(group)
        val_size += sizes[group]
    train = [s for s in samples if s.group not in val_groups]
    val = [s for s in samples if s.group in val_groups]
    if not any(s.boxes for s in val) or not any(s.boxes for s in train):
        raise DatasetError("after the group split one side has no boxes; add labelled samples from more groups "
                           "or change --seed / --val-fraction")
    return train, val


def dataset_hash(classes: list[str], samples: list[DetectionSample]) -> str:
    """sha256 over the class names and every used sample's id, group, image bytes and label bytes."""
    digest = hashlib.sha256(json.dumps(classes, ensure_ascii=False).encode("utf-8"))
    for sample in samples:
        digest.update(f"\n{sample.sample_id}\t{sample.group}\t{file_sha256(sample.image)}\n".encode())
        digest.update(sample.label.read_bytes())
    return digest.hexdigest()


def _link(source: Path, target: Path) -> None:
    try:
        target.symlink_to(source.resolve())
    except OSError:  # no symlinks (Windows without the privilege): copy
        shutil.copy2(source, target)


def build_yolo_dataset(root: Path, classes: list[str], train: list[DetectionSample],
                       val: list[DetectionSample]) -> Path:
    """images/{train,val} + labels/{train,val} + data.yaml under ``root``; returns data.yaml."""
    for split, samples in (("train", train), ("val", val)):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for sample in samples:
            _link(sample.image, root / "images" / split / f"{sample.sample_id}{sample.image.suffix.lower()}")
            shutil.copy2(sample.label, root / "labels" / split / f"{sample.sample_id}.txt")
    data_yaml = root / "data.yaml"
    data = {"path": str(root.resolve()), "train": "images/train", "val": "images/val",
            "names": dict(enumerate(classes))}
    data_yaml.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")  # JSON is YAML
    return data_yaml


def _ensure_offline_fonts(config_dir: Path) -> None:
    # ultralytics' dataset check looks for Arial fonts (for plots) in its config dir and fetches them from GitHub
    # when absent; plots are off, so any local TTF under those names keeps it from going online.
    from matplotlib import font_manager

    local = Path(font_manager.findfont("DejaVu Sans", fallback_to_default=True))
    config_dir.mkdir(parents=True, exist_ok=True)
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        if not (config_dir / name).exists():
            shutil.copyfile(local, config_dir / name)


def _resolve_base(base: str, name: str) -> tuple[str, dict[str, str]]:
    path = Path(base).expanduser()
    if path.suffix.lower() in (".yaml", ".yml"):
        # A model YAML (a local file, or a name ultralytics ships such as yolo11n.yaml): random initial weights.
        if path.is_file():
            return str(path), {"name": path.name, "sha256": file_sha256(path), "weights": "random (from YAML)"}
        return base, {"name": base, "weights": "random (from YAML)"}
    if path.suffix.lower() != ".pt":
        raise ModelError(name, f"base model {base!r} is neither a .pt file nor a model YAML",
                         "pass a local YOLO .pt to fine-tune, or a model YAML such as yolo11n.yaml")
    if not path.is_file():
        raise ModelError(name, f"base model {path} not found (weights are never downloaded)",
                         "copy the YOLO .pt onto this machine and pass its path with --base")
    return str(path), {"name": path.name, "sha256": file_sha256(path), "weights": "pretrained (.pt)"}


def _new_version(folder: Path, seed: int) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    version, n = f"{stamp}-s{seed}", 1
    while (folder / version).exists():
        n += 1
        version = f"{stamp}-s{seed}-{n}"
    return folder / version


def _metrics(model: Any) -> dict[str, float]:
    validator = getattr(model.trainer, "validator", None)
    box = getattr(getattr(validator, "metrics", None), "box", None)
    if box is None:
        raise RuntimeError("ultralytics returned no validation metrics")
    return {"mAP50": round(float(box.map50), 4), "mAP50-95": round(float(box.map), 4),
            "precision": round(float(box.mp), 4), "recall": round(float(box.mr), 4)}


def train_detector(dataset: Path, base: str, *, out: Path, name: str = "yolo_detect", epochs: int = 50,
                   imgsz: int = 640, batch: int = 16, val_fraction: float = 0.2, seed: int = 0,
                   device: str = "cpu", workers: int = 2, progress: bool = True) -> TrainedDetector:
    """Train, validate on the held-out groups, export ONNX and write a registry version; see the module doc.

    Raises DatasetError (dataset unusable), ModelError (base model), ExportUnavailable (no detector extra).
    """
    if epochs < 1 or batch < 1 or workers < 0:
        raise ValueError(f"need epochs >= 1, batch >= 1 and workers >= 0, got {epochs}, {batch}, {workers}")
    if not 32 <= imgsz <= 2048 or imgsz % 32:
        raise ValueError(f"imgsz must be a multiple of 32 in 32..2048, got {imgsz}")
    dataset = Path(dataset)
    classes, samples, skipped = read_detection_samples(dataset)
    train, val = split_by_group(samples, val_fraction, seed)
    base_path, base_info = _resolve_base(base, name)
    with tempfile.TemporaryDirectory(prefix="counterwatch-train-detector-") as scratch_name:
        scratch = Path(scratch_name)
        if not progress and "ultralytics" not in sys.modules:
            os.environ["YOLO_VERBOSE"] = "False"  # read once, when ultralytics is imported
        YOLO = import_ultralytics(scratch / "ultralytics-config")
        from ultralytics import __version__ as ultralytics_version
        from ultralytics.utils import USER_CONFIG_DIR

        _ensure_offline_fonts(Path(USER_CONFIG_DIR))
        os.environ.pop("ULTRALYTICS_API_KEY", None)  # never stream a run to the Ultralytics platform
        data_yaml = build_yolo_dataset(scratch / "data", classes, train, val)
        try:
            model = YOLO(base_path)
        except FileNotFoundError as exc:
            raise ModelError(name, f"base model {base!r} not found: {exc}",
                             "pass a local .pt or a model YAML ultralytics ships (e.g. yolo11n.yaml)") from exc
        except Exception as exc:  # a corrupt or foreign .pt, a malformed YAML
            raise ModelError(name, f"cannot load base model {base}: {exc}", "pass a YOLO .pt or model YAML") from exc
        if model.task != "detect":
            raise ModelError(name, f"base model {base} is a {model.task!r} model", "pass a detection model")
        started = time.monotonic()
        model.train(data=str(data_yaml), epochs=epochs, imgsz=imgsz, batch=batch, device=device, workers=workers,
                    seed=seed, deterministic=True, project=str(scratch / "runs"), name="train", exist_ok=True,
                    plots=False, amp=False,  # AMP's self-check downloads yolo26n.pt; CPU runs never use AMP
                    verbose=progress, val=True)
        train_seconds = time.monotonic() - started
        metrics = _metrics(model)  # the final `val` of best.pt on the held-out groups
        with warnings.catch_warnings():  # torch deprecates the TorchScript exporter ultralytics still uses
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.filterwarnings("ignore", message="Converting a tensor to a Python")  # its tracer, same
            exported = Path(model.export(format="onnx", imgsz=imgsz, dynamic=False, simplify=False,
                                         opset=ONNX_OPSET, nms=False, device=device))
        folder = _new_version(Path(out) / name, seed)
        folder.mkdir(parents=True)
        onnx_path = folder / f"{name}.onnx"
        shutil.move(str(exported), onnx_path)
        import torch

        torch_version = torch.__version__
    try:
        manifest = write_onnx_manifest(
            onnx_path, name=name, task="detect", class_names=classes, input_size=(imgsz, imgsz),
            licence=YOLO_LICENCE, description=f"fine-tuned from {base_info['name']} on {dataset.name} ({folder.name})",
            header=f"Written by `counterwatch models train-detector` ({folder.name}); the sha256 pins "
                   f"{onnx_path.name}.")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # no half-written version in the registry
        raise

    def box_counts(part: list[DetectionSample]) -> dict[str, int]:
        counted = Counter(classes[c] for s in part for c in s.boxes)
        return {c: counted.get(c, 0) for c in classes}

    image_epochs = len(train) * epochs
    info_path = dataset / "dataset.json"
    info = json.loads(info_path.read_text(encoding="utf-8")) if info_path.is_file() else {}
    card = {
        "model": name, "version": folder.name, "task": "detect",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "dataset": {"path": str(dataset.absolute()), "hash": dataset_hash(classes, samples),
                    "version": info.get("version"), "config_hash": info.get("config_hash"), "classes": classes,
                    "images": len(samples), "skipped_without_labels": skipped,
                    "train": {"images": len(train), "groups": len({s.group for s in train}),
                              "background_images": sum(not s.boxes for s in train), "boxes": box_counts(train)},
                    "val": {"images": len(val), "groups": len({s.group for s in val}),
                            "background_images": sum(not s.boxes for s in val), "boxes": box_counts(val)}},
        "base_model": base_info,
        "settings": {"epochs": epochs, "imgsz": imgsz, "batch": batch, "val_fraction": val_fraction, "seed": seed,
                     "device": device, "workers": workers},
        "metrics": {**metrics, "split": "val (held-out groups)", "by": "ultralytics val of best.pt"},
        "train_seconds": round(train_seconds, 1),
        "seconds_per_image_epoch": round(train_seconds / image_epochs, 3),
        "onnx": {"file": onnx_path.name, "sha256": file_sha256(onnx_path), "opset": ONNX_OPSET,
                 "input_size": [imgsz, imgsz], "dynamic": False},
        "tools": {"ultralytics": ultralytics_version, "torch": torch_version},
        "licence": YOLO_LICENCE,
    }
    (folder / "card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    logger.info("trained %s %s: mAP50 %.3f, mAP50-95 %.3f in %.0f s", name, folder.name, metrics["mAP50"],
                metrics["mAP50-95"], train_seconds)
    return TrainedDetector(folder, onnx_path, manifest, card)
