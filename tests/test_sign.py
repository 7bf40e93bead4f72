"""The printable pause sign: generated, then read back by the real marker detector and OCR."""
from __future__ import annotations

from pathlib import Path

import cv2
from click.testing import CliRunner

from counterwatch.cli import main
from counterwatch.config.schema import Camera
from counterwatch.sign import plan_sign
from tests.conftest import REPO
from vision.signs import text_matches_sign


def test_sign_png_carries_the_window_marker_and_readable_text(tmp_path: Path, loaded_models) -> None:
    out = tmp_path / "sign-w02.png"
    result = CliRunner().invoke(main, ["sign", "--config", str(REPO / "configs/demo.yaml"), "--window", "w02",
                                       "--out", str(out), "--dpi", "100"])
    assert result.exit_code == 0, result.output
    assert "marker 2" in result.output
    page = cv2.imread(str(out))
    assert page is not None and page.shape[1] > page.shape[0]  # A4 landscape
    markers = loaded_models.cascade_models.marker.detect(page)
    assert [m.marker_id for m in markers] == [2]
    text = "".join(line.text for line in loaded_models.cascade_models.text_reader.read(page))
    assert "暂停办理" in text and text_matches_sign(text)


def test_sign_pdf_and_bad_requests(tmp_path: Path) -> None:
    runner = CliRunner()
    pdf = tmp_path / "sign.pdf"
    ok = runner.invoke(main, ["sign", "--config", str(REPO / "configs/demo.yaml"), "--window", "w01",
                              "--out", str(pdf)])
    assert ok.exit_code == 0, ok.output
    assert pdf.read_bytes()[:5] == b"%PDF-"
    unknown = runner.invoke(main, ["sign", "--config", str(REPO / "configs/demo.yaml"), "--window", "w9",
                                   "--out", str(pdf)])
    assert unknown.exit_code == 2 and "unknown window 'w9'" in unknown.output
    wrong = runner.invoke(main, ["sign", "--config", str(REPO / "configs/demo.yaml"), "--window", "w01",
                                 "--out", str(tmp_path / "sign.gif")])
    assert wrong.exit_code == 2 and ".png or .pdf" in wrong.output


def test_marker_is_sized_for_the_camera_and_far_cameras_are_warned(demo_config) -> None:
    window = demo_config.windows[0]
    near = plan_sign(window, demo_config.cameras[0])
    assert not near.warnings
    assert 39.0 <= near.marker_px_at_camera <= 41.0 or near.marker_mm == 40.0
    view = demo_config.cameras[0].views[0]
    far_camera = Camera(id="far", source="rtsp://x/y", distance_m=20, horizontal_fov_deg=110, width_px=1280,
                        views=(view,))
    far = plan_sign(window, far_camera)
    assert far.marker_mm == 120.0
    assert any("marker would need" in w for w in far.warnings)
    assert any("OCR needs" in w for w in far.warnings)
    assert far.marker_px_at_camera < 40.0
    # Each warning names the set-ups that would fix it, and they do.
    marker_warning = next(w for w in far.warnings if "marker would need" in w)
    distance = float(marker_warning.split("at most ")[1].split(" m")[0])
    fixed = plan_sign(window, far_camera.model_copy(update={"distance_m": distance * 0.99}))
    assert not any("marker would need" in w for w in fixed.warnings)
    ocr_warning = next(w for w in far.warnings if "OCR needs" in w)
    width = int(ocr_warning.split("at least ")[1].split(" px")[0])
    assert not plan_sign(window, far_camera.model_copy(update={"width_px": width})).warnings


def test_the_example_hall_can_see_its_own_signs() -> None:
    from counterwatch.config import load_config

    config = load_config(REPO / "configs/example-hall.yaml")
    cameras = {camera.id: camera for camera in config.cameras}
    for camera in cameras.values():
        for view in camera.views:
            window = next(w for w in config.windows if w.id == view.window)
            plan = plan_sign(window, camera)
            assert not plan.warnings, (camera.id, window.id, plan.warnings)
            assert plan.char_px_at_camera >= 16 and plan.marker_px_at_camera >= 39
