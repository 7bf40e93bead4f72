"""The log a user sees from `make demo` and the CLI: no Alembic INFO lines on every command that opens the database,
no MediaPipe/absl or TFLite start-up lines, no setuptools deprecation warning when the package is built."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from models._native_log import native_start_filtered
from tests.conftest import REPO

COUNTERWATCH = str(Path(sys.executable).parent / "counterwatch")
ALEMBIC_INFO = re.compile(r"INFO.*alembic")
NATIVE_START_LINES = re.compile(r"^[IW]0000 |absl::InitializeLog|XNNPACK delegate", re.MULTILINE)


def run_cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([COUNTERWATCH, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.fixture()
def demo_config_in_tmp(tmp_path: Path) -> Path:
    """configs/demo.yaml with its database and data directory in tmp_path."""
    yaml = YAML()
    config = yaml.load((REPO / "configs" / "demo.yaml").read_text(encoding="utf-8"))
    config["storage"]["url"] = f"sqlite:///{tmp_path / 'counterwatch.db'}"
    config["storage"]["data_dir"] = str(tmp_path / "data")
    path = tmp_path / "demo.yaml"
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(config, out)
    return path


def test_commands_that_migrate_log_no_alembic_info(demo_config_in_tmp: Path) -> None:
    first = run_cli("users", "list", "--config", str(demo_config_in_tmp))  # creates and migrates the database
    again = run_cli("users", "list", "--config", str(demo_config_in_tmp))  # an upgrade with nothing to do
    for result in (first, again):
        assert result.returncode == 0, result.stderr
        assert not ALEMBIC_INFO.search(result.stderr), result.stderr
    assert "database migrated from empty to" in first.stderr  # counterwatch's own line, once, stays


def test_verbose_still_shows_alembic(demo_config_in_tmp: Path) -> None:
    result = run_cli("-v", "users", "list", "--config", str(demo_config_in_tmp))
    assert result.returncode == 0, result.stderr
    assert ALEMBIC_INFO.search(result.stderr), result.stderr


def test_loading_and_running_mediapipe_and_litert_writes_no_native_start_lines() -> None:
    result = run_cli("models", "verify", "mediapipe_pose", "mediapipe_hands", "mediapipe_face_detection",
                     "mediapipe_face_mesh", "efficientnet_lite3")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 ok" in result.stdout
    assert not NATIVE_START_LINES.search(result.stderr), result.stderr


def test_detect_on_a_photo_writes_no_native_start_lines(tmp_path: Path, astronaut_bgr) -> None:
    import cv2

    photo = tmp_path / "astronaut.png"
    assert cv2.imwrite(str(photo), astronaut_bgr)
    result = run_cli("detect", str(photo))
    assert result.returncode == 0, result.stderr
    assert not NATIVE_START_LINES.search(result.stderr), result.stderr


def test_the_filter_drops_only_start_up_lines(capfd: pytest.CaptureFixture[str]) -> None:
    with native_start_filtered():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n"
                    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
                    b"W0000 00:00:1796307149.036958   13075 inference_feedback_manager.cc:114] Feedback manager.\n"
                    b"E0000 00:00:1796307149.036958   13075 calculator_graph.cc:887] a real error\n"
                    b"Traceback (most recent call last):\n")
    assert capfd.readouterr().err == ("E0000 00:00:1796307149.036958   13075 calculator_graph.cc:887] a real error\n"
                                      "Traceback (most recent call last):\n")
    os.write(2, b"W0000 00:00:1.0 1 later.cc:1] after the window\n")  # outside a window nothing is dropped
    assert capfd.readouterr().err == "W0000 00:00:1.0 1 later.cc:1] after the window\n"


def test_package_metadata_builds_without_setuptools_deprecations(tmp_path: Path) -> None:
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    shutil.copy(REPO / "README.md", tmp_path)
    (tmp_path / "counterwatch").mkdir()
    (tmp_path / "counterwatch" / "__init__.py").touch()
    script = ("import warnings; from setuptools.warnings import SetuptoolsDeprecationWarning; "
              "warnings.simplefilter('error', SetuptoolsDeprecationWarning); "
              "from setuptools import build_meta; print(build_meta.prepare_metadata_for_build_wheel('out'))")
    (tmp_path / "out").mkdir()
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    metadata = (tmp_path / "out" / result.stdout.strip().splitlines()[-1] / "METADATA").read_text(encoding="utf-8")
    assert "License-Expression: Apache-2.0" in metadata.splitlines()
