"""Export YOLO weights to ONNX with ultralytics and write a pinned manifest next to the ONNX file.

ultralytics (the ``detector`` extra, with torch) is only a tool: it is imported inside ``export_yolo`` and never
at module import, and it is told to stay offline and not to pip-install anything.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from models.errors import ModelError
from models.manifest import file_sha256, load_manifest_file

__all__ = ["ExportUnavailable", "YOLO_LICENCE", "export_yolo", "import_ultralytics", "write_onnx_manifest"]

logger = logging.getLogger("counterwatch.models")

YOLO_LICENCE = "AGPL-3.0 (Ultralytics YOLO) unless the deployment holds an Ultralytics Enterprise licence"
_TASKS = {"detect": ("object_detection", "yolo_onnx"), "pose": ("pose", "yolo_pose_onnx")}


class ExportUnavailable(Exception):
    """ultralytics is not installed."""


def write_onnx_manifest(
    onnx_path: Path,
    *,
    name: str,
    task: str,
    class_names: Sequence[str] | Mapping[int, str],
    input_size: tuple[int, int],
    description: str = "",
    licence: str = YOLO_LICENCE,
    options: Mapping[str, object] | None = None,
    header: str | None = None,
) -> Path:
    """Write ``<name>.yaml`` beside an ONNX file (path relative to it, sha256 pinned) and validate it.

    ``task`` is ``detect`` or ``pose``; ``header`` is the comment on the first line. Returns the manifest path;
    load it with ``load_manifests([its dir])``.
    """
    if task not in _TASKS:
        raise ValueError(f"task must be one of {sorted(_TASKS)}, got {task!r}")
    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        raise ValueError(f"onnx_path {onnx_path} does not exist")
    manifest_task, runtime_type = _TASKS[task]
    names = dict(enumerate(class_names)) if not isinstance(class_names, Mapping) else dict(class_names)
    contiguous = sorted(names) == list(range(len(names)))
    data = {
        "name": name,
        "description": description or f"{task} model exported to ONNX",
        "task": manifest_task,
        "runtime": "onnxruntime",
        "type": runtime_type,
        "files": [{"role": "weights", "source": {"path": onnx_path.name}, "sha256": file_sha256(onnx_path)}],
        "licence": licence,
        "input_size": [int(input_size[0]), int(input_size[1])],
        "options": dict(options or {"iou_threshold": 0.45}),
        "class_map": [names[i] for i in range(len(names))] if contiguous else {int(k): v for k, v in names.items()},
    }
    manifest_path = onnx_path.parent / f"{name}.yaml"
    default_header = f"Written by `counterwatch models export`; the sha256 pins {onnx_path.name}."
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    with manifest_path.open("w", encoding="utf-8") as handle:
        handle.write(f"# {header or default_header}\n")
        yaml.dump(data, handle)
    load_manifest_file(manifest_path)  # fail now, not at the next start-up, if anything is off
    return manifest_path


def import_ultralytics(config_dir: Path) -> Any:
    """``ultralytics.YOLO``, imported offline: no auto-install, no online checks, its settings in ``config_dir``
    (unless YOLO_CONFIG_DIR is set, or ultralytics was imported before). Raises ExportUnavailable without it."""
    # Offline and no auto-install: on a hall node a missing dependency must fail, not reach for the network.
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "False"
    os.environ.setdefault("YOLO_CONFIG_DIR", str(config_dir))
    try:
        from ultralytics import YOLO
    except ImportError as exc:
        raise ExportUnavailable("ultralytics is not installed; install the detector extra (torch + ultralytics, "
                                "~7 GB): pip install -c requirements.lock -e '.[detector]'") from exc
    return YOLO


def export_yolo(weights: Path, *, task: str, imgsz: int, out_dir: Path, name: str | None = None) -> Path:
    """Export ``weights`` (.pt) to ``out_dir/<name>.onnx`` plus ``<name>.yaml``; returns the manifest path.

    ``name`` defaults to ``yolo_detect`` / ``yolo_pose`` so that the exported manifest replaces the shipped
    placeholder when ``out_dir`` is given as a manifest directory.
    """
    if task not in _TASKS:
        raise ValueError(f"task must be one of {sorted(_TASKS)}, got {task!r}")
    if not 32 <= imgsz <= 2048 or imgsz % 32:
        raise ValueError(f"imgsz must be a multiple of 32 in 32..2048, got {imgsz}")
    weights = Path(weights)
    name = name or f"yolo_{task}"
    if not weights.is_file():
        raise ModelError(name, f"weights {weights} not found", "pass the path of a YOLO .pt file")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="counterwatch-export-") as scratch:
        YOLO = import_ultralytics(Path(scratch) / "ultralytics-config")
        # Export from a copy so ultralytics writes its ONNX into scratch space, not beside the operator's weights.
        local = Path(scratch) / weights.name
        shutil.copy2(weights, local)
        model = YOLO(str(local))
        if model.task != task:
            raise ModelError(name, f"{weights} is a {model.task!r} model, not {task!r}", f"pass --task {model.task}")
        with warnings.catch_warnings():  # torch deprecates the TorchScript exporter ultralytics still uses
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.filterwarnings("ignore", message="Converting a tensor to a Python")  # its tracer, same
            exported = Path(model.export(format="onnx", imgsz=imgsz, dynamic=False, simplify=False, device="cpu"))
        target = out_dir / f"{name}.onnx"
        shutil.move(str(exported), target)
        names = dict(model.names)
    if task == "pose" and len(names) != 1:
        logger.warning("pose model %s has %d classes; the runtime reads every detection as a person",
                       weights, len(names))
    manifest = write_onnx_manifest(
        target, name=name, task=task, class_names=names, input_size=(imgsz, imgsz),
        description=f"exported from {weights.name} (sha256 {file_sha256(weights)[:12]}...)",
    )
    logger.info("exported %s to %s with manifest %s", weights, target, manifest)
    return manifest
