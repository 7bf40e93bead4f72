"""Runtime plugin registry keyed by the manifest's ``type``, and ``load_model``.

Built-in runtimes are listed as import paths and imported on first use, so that listing models or loading the
detector does not pay for importing mediapipe (about a second) or rapidocr.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import time
from collections.abc import Mapping
from typing import Any, TypeVar

from models.base import ModelRuntime
from models.errors import ModelError
from models.manifest import ModelManifest, check_files, load_manifests

__all__ = ["load_model", "register_runtime", "runtime_class", "runtime_types"]

logger = logging.getLogger("counterwatch.models")

_BUILTIN: dict[str, str] = {
    "ssd_cvdnn": "models.ssd_cvdnn:SsdCvDnnDetector",
    "yolo_onnx": "models.yolo_onnx:YoloOnnxDetector",
    "yolox_onnx": "models.yolox_onnx:YoloxOnnxDetector",
    "yolo_pose_onnx": "models.yolo_onnx:YoloOnnxPoseEstimator",
    "mediapipe_pose": "models.mediapipe_pose:MediaPipePoseEstimator",
    "mediapipe_face_detection": "models.mediapipe_face:MediaPipeFaceDetector",
    "mediapipe_face_mesh": "models.mediapipe_face:MediaPipeFaceMesher",
    "mediapipe_hands": "models.mediapipe_hands:MediaPipeHandLandmarker",
    "aruco": "models.markers:ArucoMarkerDetector",
    "rapidocr": "models.rapidocr_reader:RapidOcrTextReader",
    "efficientnet_litert": "models.litert_classifier:EfficientNetLiteClassifier",
}
_registered: dict[str, type[ModelRuntime]] = {}

R = TypeVar("R", bound=ModelRuntime)


def register_runtime(cls: type[R]) -> type[R]:
    """Class decorator for a runtime plugin; its ``type`` becomes usable in manifests."""
    key = getattr(cls, "type", None)
    if not isinstance(key, str) or not key:
        raise ValueError(f"{cls.__name__} needs a class attribute `type` (str) to be registered")
    existing = _registered.get(key)
    if existing is not None and existing is not cls:
        raise ValueError(f"runtime type {key!r} is already registered by {existing.__name__}")
    _registered[key] = cls
    return cls


def runtime_types() -> list[str]:
    return sorted(set(_BUILTIN) | set(_registered))


def runtime_class(type_key: str) -> type[ModelRuntime]:
    """The runtime class for a manifest ``type``, importing the built-in module on first use."""
    if type_key in _registered:
        return _registered[type_key]
    target = _BUILTIN.get(type_key)
    if target is None:
        raise ModelError(None, f"unknown runtime type {type_key!r}", f"use one of {runtime_types()}")
    module_name, class_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ModelError(None, f"runtime type {type_key!r} cannot be imported: {exc}",
                         "install the missing package named above") from exc
    cls = getattr(module, class_name)
    return register_runtime(cls)


def _accepted_options(cls: type[ModelRuntime]) -> set[str]:
    parameters = inspect.signature(cls.__init__).parameters.values()
    return {p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}


def load_model(
    name: str,
    manifests: Mapping[str, ModelManifest] | None = None,
    *,
    expect: type[R] = ModelRuntime,  # type: ignore[assignment]
    **options: Any,
) -> R:
    """Verify a model's files (presence + sha256) and construct its runtime.

    ``options`` override the manifest's ``options`` and are passed to the runtime constructor; ``expect`` is the
    runtime kind the caller needs (e.g. ``ObjectDetector``) so a config that names a pose model as the
    detector fails here, with the model's name. Every failure raises ModelError naming the model and the fix.
    """
    registry = load_manifests() if manifests is None else manifests
    manifest = registry.get(name)
    if manifest is None:
        raise ModelError(name, "no manifest with this name", f"use one of {sorted(registry)} or add a manifest")
    cls = runtime_class(manifest.type)
    if cls.task != manifest.task or cls.runtime != manifest.runtime:
        raise ModelError(
            name,
            f"manifest says task={manifest.task.value}, runtime={manifest.runtime.value} but runtime type "
            f"{manifest.type!r} is task={cls.task.value}, runtime={cls.runtime.value}",
            "fix task/runtime/type in the manifest",
        )
    if not issubclass(cls, expect):
        raise ModelError(name, f"is a {manifest.task.value} model ({cls.__name__}), not usable as {expect.__name__}",
                         f"pick a model whose runtime is an {expect.__name__} subclass")
    merged = {**manifest.options, **options}
    unknown = sorted(set(merged) - _accepted_options(cls))
    if unknown:
        raise ModelError(name, f"unknown option(s) {unknown} for runtime type {manifest.type!r}",
                         f"use only {sorted(_accepted_options(cls))}")
    paths = check_files(manifest)
    started = time.perf_counter()
    try:
        runtime = cls(manifest, paths, **merged)
    except ModelError:
        raise
    except ValueError as exc:
        raise ModelError(name, f"invalid configuration: {exc}",
                         "fix the manifest or the options given to load_model") from exc
    except Exception as exc:  # native loaders raise cv2.error, RuntimeError, onnxruntime errors...
        raise ModelError(name, f"failed to load: {type(exc).__name__}: {exc}", manifest.fix_hint()) from exc
    logger.info("loaded model %r (%s) in %.0f ms", name, manifest.type, (time.perf_counter() - started) * 1000)
    return runtime
