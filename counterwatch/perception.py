"""Perception from the hall config: window regions, the loaded models of a process and a cascade per camera; camera
readers. The runtime (counterwatch.runtime), the tools (eval, bench, dataset, feature extraction) and the config
checks build perception through here."""
from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass

from counterwatch.config.runtime_settings import cascade_settings
from counterwatch.config.schema import Camera, HallConfig
from vision.cascade import CascadeModels, PerceptionCascade
from vision.regions import WindowRegion

PHONE_CLASSIFIER_MODEL = "efficientnet_lite3"  # the ImageNet classifier behind perception.phone_classifier


def regions_for(config: HallConfig, camera: Camera) -> tuple[WindowRegion, ...]:
    windows = {window.id: window for window in config.windows}
    return tuple(
        WindowRegion(view.window, view.staff_zone, view.citizen_side, view.pause_sign_region,
                     windows[view.window].pause_marker_id)
        for view in camera.views)


@dataclass
class LoadedModels:
    """The model runtimes of one process; close() releases their native resources."""

    cascade_models: CascadeModels
    stack: ExitStack

    def close(self) -> None:
        self.stack.close()

    def __enter__(self) -> LoadedModels:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_models(config: HallConfig | None) -> LoadedModels:
    """Load every model the cascade needs; raises models.ModelError naming a missing or corrupt model."""
    from models import ModelRuntime, load_manifests, load_model

    chosen = config.models if config is not None else None
    extra_dirs = tuple(config.resolve(d) for d in chosen.manifest_dirs) if config is not None and chosen else ()
    manifests = load_manifests(extra_dirs)
    stack = ExitStack()

    def load(name: str):
        runtime: ModelRuntime = load_model(name, manifests)
        if hasattr(runtime, "close"):
            stack.callback(runtime.close)
        return runtime

    try:
        names = chosen or _defaults()
        text_reader = load(names.ocr) if names.ocr and (config is None or config.perception.ocr_confirm) else None
        use_classifier = config is None or config.perception.phone_classifier
        models = CascadeModels(detector=load(names.detector), pose=load(names.pose),
                               face_detector=load(names.face_detector), face_mesh=load(names.face_mesh),
                               hands=load(names.hands), marker=load(names.marker), text_reader=text_reader,
                               phone_classifier=load(PHONE_CLASSIFIER_MODEL) if use_classifier else None,
                               person_detector=load(names.person_detector)
                               if names.person_detector and names.person_detector != names.detector else None)
    except BaseException:
        stack.close()
        raise
    return LoadedModels(models, stack)


def _defaults():
    from counterwatch.config.schema import ModelsConfig

    return ModelsConfig()


def build_cascade(config: HallConfig | None, camera: Camera | None, models: LoadedModels, *,
                  naive: bool = False) -> PerceptionCascade:
    regions = regions_for(config, camera) if config is not None and camera is not None else ()
    return PerceptionCascade(models.cascade_models, regions, cascade_settings(config), naive=naive)


def camera_source(config: HallConfig, camera: Camera) -> str | int:
    """The camera's source with a relative file path resolved against the config file's directory."""
    source = camera.source
    if isinstance(source, int) or "://" in source or source.lower().startswith("usb:"):
        return source
    return str(config.resolve(source))


def camera_reader(config: HallConfig, camera: Camera, *, on_state_change=None):
    from cameras import CameraReader, open_source

    source = camera_source(config, camera)

    def factory():
        return open_source(source, loop=camera.loop, pace=camera.pace, open_timeout_s=camera.open_timeout_s,
                           read_timeout_s=camera.read_timeout_s)

    return CameraReader(camera.id, factory, rotation=camera.rotation, analysis_fps=camera.analysis_fps,
                        stall_timeout_s=camera.stall_timeout_s, backoff_initial_s=0.5,
                        backoff_max_s=camera.backoff_max_s, on_state_change=on_state_change)
