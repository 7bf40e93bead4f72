"""`counterwatch detect --config` on a real photo with window crops that overlap: the person the crops share is
reported once, at one window, with the box of the whole person (not a piece cut by one crop)."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import yaml
from click.testing import CliRunner

from counterwatch.cli import main
from tests.conftest import REPO


def _view(window: str, x1: float, x2: float) -> dict:
    """A window seen across x1..x2 of the frame: staff above the counter, citizens below it."""
    return {"window": window,
            "staff_zone": [[x1, 0.05], [x2, 0.05], [x2, 0.7], [x1, 0.7]],
            "citizen_side": [[x1, 0.8], [x2, 0.8], [x2, 1.0], [x1, 1.0]],
            "pause_sign_region": [[x1, 0.43], [x1 + 0.1, 0.43], [x1 + 0.1, 0.68], [x1, 0.68]]}


def _hall(tmp_path: Path, photo: Path, spans: dict[str, tuple[float, float]]) -> Path:
    """The demo hall's models and perception settings, one camera on `photo`, a window for each span."""
    config = yaml.safe_load((REPO / "configs/demo.yaml").read_text(encoding="utf-8"))
    template = config["windows"][0]
    config["windows"] = [dict(template, id=window, name=f"{i + 1}号窗口", pause_marker_id=i + 1)
                         for i, window in enumerate(spans)]
    config["roster"] = []
    config["cameras"][0]["source"] = str(photo)
    config["cameras"][0]["views"] = [_view(window, *span) for window, span in spans.items()]
    config["storage"] = {"url": f"sqlite:///{tmp_path / 'hall.db'}", "data_dir": str(tmp_path / "data")}
    path = tmp_path / "hall.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def _detect(tmp_path: Path, astronaut_bgr, spans: dict[str, tuple[float, float]]) -> dict:
    photo = tmp_path / "astronaut.png"
    assert cv2.imwrite(str(photo), astronaut_bgr)
    result = CliRunner().invoke(main, ["detect", "--config", str(_hall(tmp_path, photo, spans)), "--json", str(photo)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_person_two_window_crops_cut_in_two_is_one_person_at_the_window_she_sits_at(tmp_path, astronaut_bgr):
    # w01's crop ends, and w02's begins, across her body (she spans about x 10..370 of the 512 px photo).
    observation = _detect(tmp_path, astronaut_bgr, {"w01": (0.0, 0.5), "w02": (0.45, 1.0)})
    persons = observation["persons"]
    assert len(persons) == 1, persons
    person = persons[0]
    assert person["window"] == "w01"  # her body's centre is in w01's staff zone, not w02's
    x1, _, x2, _ = person["box"]
    assert x1 < 60 and x2 > 340  # the whole of her, not the piece one crop saw
    signs = {sign["window"]: sign for sign in observation["signs"]}
    assert signs["w02"]["checked"]  # nobody sits at w02: its pause sign is looked for


def test_four_overlapping_windows_report_her_once(tmp_path, astronaut_bgr):
    spans = {"w01": (0.0, 0.45), "w02": (0.3, 0.7), "w03": (0.55, 1.0), "w04": (0.2, 0.9)}
    persons = _detect(tmp_path, astronaut_bgr, spans)["persons"]
    assert len(persons) == 1, persons
    assert persons[0]["window"] in spans


def test_the_text_summary_counts_her_once(tmp_path, astronaut_bgr):
    spans = {"w01": (0.0, 0.5), "w02": (0.45, 1.0)}
    photo = tmp_path / "astronaut.png"
    assert cv2.imwrite(str(photo), astronaut_bgr)
    result = CliRunner().invoke(main, ["detect", "--config", str(_hall(tmp_path, photo, spans)), str(photo)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("1 person(s)"), result.stdout
    assert sum("window w01" in line and "person" in line for line in result.stdout.splitlines()) == 1
