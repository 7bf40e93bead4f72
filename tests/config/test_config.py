"""Hall configuration: the shipped files validate; bad files fail naming every bad field and its line."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from counterwatch.cli import main
from counterwatch.config import ConfigError, load_config, parse_config

REPO = Path(__file__).resolve().parents[2]
SHIPPED = ["configs/demo.yaml", "configs/example-hall.yaml"]


@pytest.mark.parametrize("relative", SHIPPED)
def test_shipped_configs_validate(relative: str) -> None:
    config = load_config(REPO / relative)
    assert config.base_dir == (REPO / relative).parent
    for window in config.windows:
        camera, view = config.view_of(window.id)
        assert view.window == window.id and camera.views


def test_example_hall_has_six_windows_and_defaults_from_the_seed_table() -> None:
    config = load_config(REPO / "configs/example-hall.yaml")
    assert len(config.windows) == 6
    assert config.rules.absent_without_pause.dwell_s == 120
    assert config.rules.phone_use.dwell_s == 30
    assert config.rules.eating.dwell_s == 20
    assert config.rules.sleeping.dwell_s == 60
    assert config.rules.drinking.enabled is False
    assert config.calendar.schedules["extended"].extended[1].days == ("sat", "sun")


GOOD = """\
version: 1
hall: {id: h1, name: Hall}
windows:
  - {id: w1, name: One, pause_marker_id: 1}
cameras:
  - id: c1
    source: rtsp://127.0.0.1:8554/x
    views:
      - window: w1
        staff_zone: [[0.1, 0.1], [0.5, 0.1], [0.5, 0.6], [0.1, 0.6]]
        citizen_side: [[0.0, 0.7], [0.6, 0.7], [0.6, 1.0], [0.0, 1.0]]
        pause_sign_region: [[0.3, 0.4], [0.5, 0.4], [0.5, 0.6], [0.3, 0.6]]
"""


def _issues(text: str) -> dict[str, tuple[str, int | None]]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, filename="hall.yaml")
    return {issue.path: (issue.message, issue.line) for issue in caught.value.issues}


def test_minimal_config_takes_defaults() -> None:
    config = parse_config(GOOD)
    assert config.cameras[0].analysis_fps == 2.0
    assert config.calendar.timezone == "Asia/Shanghai"
    assert config.models.detector == "ssd_mobilenet_v2_coco"


def test_every_bad_field_is_reported_at_once_with_its_line() -> None:
    bad = (GOOD.replace("source: rtsp://127.0.0.1:8554/x", "source: rtsp://127.0.0.1:8554/x\n    analysis_fps: 0")
               .replace("[0.5, 0.6], [0.1, 0.6]]", "[0.5, 0.6], [1.7, 0.6]]")
               .replace("hall: {id: h1, name: Hall}", "hall: {id: h1, name: Hall, colour: red}"))
    issues = _issues(bad)
    assert set(issues) == {"hall.colour", "cameras[0].analysis_fps", "cameras[0].views[0].staff_zone[3][0]"}
    assert "unknown field" in issues["hall.colour"][0]
    assert issues["hall.colour"][1] == 2
    assert "greater than 0" in issues["cameras[0].analysis_fps"][0]
    assert issues["cameras[0].analysis_fps"][1] == 8
    assert issues["cameras[0].views[0].staff_zone[3][0]"][1] == 11


def test_self_intersecting_polygon_and_bad_times_are_named() -> None:
    bad = GOOD.replace("staff_zone: [[0.1, 0.1], [0.5, 0.1], [0.5, 0.6], [0.1, 0.6]]",
                       "staff_zone: [[0.1, 0.1], [0.5, 0.6], [0.5, 0.1], [0.1, 0.6]]")
    bad += "calendar:\n  schedules:\n    standard: {open: '25:00', close: '08:00'}\n"
    issues = _issues(bad)
    assert "not simple" in issues["cameras[0].views[0].staff_zone"][0]
    assert "HH:MM" in issues["calendar.schedules.standard.open"][0]
    assert issues["calendar.schedules.standard.open"][1] == 15


def test_cross_references_are_checked() -> None:
    bad = GOOD.replace("- {id: w1, name: One, pause_marker_id: 1}",
                       "- {id: w1, name: One, pause_marker_id: 1}\n"
                       "  - {id: w2, name: Two, pause_marker_id: 1, schedule: nights}")
    bad = bad.replace("      - window: w1\n", "      - window: w9\n")
    bad += "staff:\n  - {id: s1, name: 张三}\nroster:\n  - {window: w1, staff: s2}\n"
    issues = _issues(bad)
    assert "unknown window 'w9'" in issues["cameras[0].views[0].window"][0]
    assert "not covered by any camera" in issues["windows[0]"][0]
    assert "unknown schedule 'nights'" in issues["windows[1].schedule"][0]
    assert "used by another window" in issues["windows[1].pause_marker_id"][0]
    assert "unknown staff id 's2'" in issues["roster[0].staff"][0]
    assert issues["roster[0].staff"][1] is not None


def test_invalid_yaml_reports_the_line() -> None:
    issues = _issues(GOOD + "rules: [unclosed\n")
    (message, line), = issues.values()
    assert "not valid YAML" in message and line is not None and line >= 14


def test_check_config_cli_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    good = runner.invoke(main, ["check-config", str(REPO / "configs/example-hall.yaml")])
    assert good.exit_code == 0, good.output
    assert "6 windows" in good.output
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD.replace("analysis_fps", "x").replace("pause_marker_id: 1", "pause_marker_id: 99"))
    bad = runner.invoke(main, ["check-config", str(path)])
    assert bad.exit_code == 2
    assert f"{path}:4: windows[0].pause_marker_id" in bad.output
    missing = runner.invoke(main, ["check-config", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2 and "file not found" in missing.output


def test_console_script_is_installed() -> None:
    result = subprocess.run([str(Path(sys.executable).parent / "counterwatch"), "--help"], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0
    for command in ("check-config", "detect", "sign", "models", "bench", "demo"):
        assert command in result.stdout


def test_learned_head_fields_validate() -> None:
    config = parse_config(GOOD + "models:\n  heads_registry: heads\n"
                          "  heads: {phone_use: active, sleeping: 20260101T000000-s0}\n"
                          "  shadow_heads: {sleeping: 20260201T000000-s1}\n"
                          "  window_heads: {w1: {phone_use: 'off', eating: active}}\n", base_dir=Path("/halls/a"))
    models = config.models
    assert config.resolve(models.heads_registry) == Path("/halls/a/heads")
    assert models.shadow_heads == {"sleeping": "20260201T000000-s1"}
    assert models.heads_for("w1") == {"sleeping": "20260101T000000-s0", "eating": "active"}  # 'off' removes
    assert models.heads_for("w2") == {"phone_use": "active", "sleeping": "20260101T000000-s0"}
    # By default every behaviour's head is on ('active': the shipped head until the hall promotes its own); {} is off.
    every = dict.fromkeys(("phone_use", "eating", "drinking", "sleeping"), "active")
    assert parse_config(GOOD).models.heads == every and parse_config(GOOD).models.heads_for("w1") == every
    assert parse_config(GOOD + "models:\n  heads: {}\n").models.heads_for("w1") == {}

    issues = _issues(GOOD + "models:\n  heads: {smoking: active, eating: '../x'}\n  shadow_heads: {sleeping: 'off'}\n")
    assert "unknown behaviour 'smoking'" in issues["models.heads"][0]
    assert "'off' is only meaningful" in issues["models.shadow_heads"][0]
    assert "version must be" in _issues(GOOD + "models:\n  heads: {eating: '../x'}\n")["models.heads"][0]
    issues = _issues(GOOD + "models:\n  window_heads: {w9: {eating: active}}\n")
    assert "unknown window 'w9'" in issues["models.window_heads.w9"][0]
    assert issues["models.window_heads.w9"][1] is not None


def test_retention_days_defaults_to_nothing_deleted_and_ships_configured() -> None:
    assert parse_config(GOOD).storage.retention_days == {}
    config = parse_config(GOOD + "storage:\n  retention_days: {snapshot: 180, clip: 90.5, confirmed: 730, "
                          "dismissed: 30, samples: 0}\n")
    assert config.storage.retention_days == {"snapshot": 180.0, "clip": 90.5, "confirmed": 730.0,
                                             "dismissed": 30.0, "samples": 0.0}
    for relative in SHIPPED:
        days = load_config(REPO / relative).storage.retention_days
        assert set(days) == {"snapshot", "clip", "confirmed", "dismissed", "samples"} and min(days.values()) >= 30


def test_retention_classes_match_the_storage_names() -> None:
    from counterwatch.config.schema import EVIDENCE_RETENTION_CLASSES, RETENTION_CLASSES
    from monitor_api.storage.evidence import RETENTION_CLASS_BY_REVIEW
    from monitor_api.storage.models import EvidenceKind

    assert set(EVIDENCE_RETENTION_CLASSES) == ({kind.value for kind in EvidenceKind}
                                               | set(RETENTION_CLASS_BY_REVIEW.values()))
    assert set(RETENTION_CLASSES) == {*EVIDENCE_RETENTION_CLASSES, "samples"}


def test_bad_retention_days_are_named() -> None:
    issues = _issues(GOOD + "storage:\n  retention_days: {snapshots: 30, audio: 1, clip: 3}\n")
    message, line = issues["storage.retention_days"]
    assert "unknown retention class(es) 'audio', 'snapshots'" in message
    assert "snapshot, clip, confirmed, dismissed, samples" in message and line == 14
    issues = _issues(GOOD + "storage:\n  retention_days: {snapshot: -1, clip: 100000, samples: .nan}\n")
    assert "greater than or equal to 0" in issues["storage.retention_days.snapshot"][0]
    assert "less than or equal to 3650" in issues["storage.retention_days.clip"][0]
    assert "finite number" in issues["storage.retention_days.samples"][0]
    assert "valid number" in _issues(GOOD + "storage:\n  retention_days: {clip: soon}\n")[
        "storage.retention_days.clip"][0]


def test_check_config_rejects_bad_retention(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD + "storage:\n  retention_days: {clip: -5}\n")
    result = CliRunner().invoke(main, ["check-config", str(path)])
    assert result.exit_code == 2 and f"{path}:14: storage.retention_days.clip" in result.output
