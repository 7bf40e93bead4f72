"""The labelling queue page over HTTP (no browser), against the real app on a real SQLite database: who sees it,
what it shows for the most uncertain frame, the label forms and their keys, the empty state, each behaviour's
progress towards the hall's label target (and a behaviour below it served first), both languages."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.api.http.label_samples import seed_sample
from tests.dashboard.hall import HALL_ID, LiveHall, write_hall_config
from tests.dashboard.test_pages import PASSWORD, Visitor

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai


@pytest.fixture
def hall(tmp_path: Path):
    live = LiveHall(write_hall_config(tmp_path, tmp_path / "never-played.mp4", dwell_s=30))
    live.add_user("sup", PASSWORD, "supervisor", "值班主管", halls=(HALL_ID,))
    live.add_user("mgr1", PASSWORD, "manager", "管理办一")
    live.add_user("aud", PASSWORD, "auditor", "审计")
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture
def small_target_hall(tmp_path: Path):
    """The demo hall aiming for 2 labelled frames per behaviour."""
    config = write_hall_config(tmp_path, tmp_path / "never-played.mp4", dwell_s=30)
    yaml = YAML()
    document = yaml.load(config.read_text(encoding="utf-8"))
    document["learning"]["label_target_per_behaviour"] = 2
    with config.open("w", encoding="utf-8") as handle:
        yaml.dump(document, handle)
    live = LiveHall(config)
    live.add_user("sup", PASSWORD, "supervisor", "值班主管", halls=(HALL_ID,))
    try:
        yield live
    finally:
        live.stop()


def _seed(hall: LiveHall, window: str, minutes: int, uncertainty: float,
          scores: tuple[tuple[str, float, float], ...] = (("phone_use", 0.52, 0.5), ("eating", 0.05, 0.4))) -> int:
    sample_id, _ = seed_sample(hall.database, hall.data_dir, HALL_ID, "cam-demo", window,
                               T0 + timedelta(minutes=minutes), uncertainty, scores=scores)
    return sample_id


def _progress(page: str) -> list[tuple[str, str, str]]:
    """(behaviour, frames still needed, text) of each line of the progress list."""
    block = re.search(r'<ul class="label-counts" id="labelling-progress">(.*?)</ul>', page, re.S)
    assert block is not None, "no progress list"
    items = re.findall(r'<li data-behaviour="(\w+)" data-needed="(\d+)">(.*?)</li>', block.group(1))
    return [(behaviour, needed, re.sub(r"<[^>]+>", "", text)) for behaviour, needed, text in items]


def test_the_page_shows_the_most_uncertain_frame_with_one_form_per_label(hall: LiveHall) -> None:
    _seed(hall, "w01", 0, 0.3)
    most = _seed(hall, "w02", 1, 0.95)
    supervisor = Visitor(hall.app, "sup")
    assert 'href="/labelling"' in supervisor.get("/dashboard").text
    response = supervisor.get("/labelling")
    assert response.status_code == 200, response.text
    page = response.text
    assert f'data-sample-id="{most}"' in page and "2号窗口" in page and "2026-03-02 10:01:00" in page
    assert f'src="/api/v1/labelling/samples/{most}/image"' in page
    assert "待标注：2 张" in page and "95%" in page and "52%" in page
    forms = re.findall(r'<form class="label-form" data-action="([^"]+)" data-key="(\w)">\s*'
                       r'<input type="hidden" name="label" value="(\w+)">', page)
    assert forms == [(f"/api/v1/labelling/samples/{most}/label", key, label) for key, label in (
        ("1", "phone_use"), ("2", "eating"), ("3", "drinking"), ("4", "sleeping"), ("5", "smoking"), ("0", "none"),
        ("s", "skip"))]
    for name in ("玩手机", "进食", "饮水", "睡岗", "吸烟", "无违规", "跳过"):
        assert name in page, name
    assert supervisor.csrf not in page, "the CSRF token stays out of the page"
    english = supervisor.get("/labelling?lang=en").text
    assert "Labelling queue" in english and "Phone use" in english and "No violation" in english


def test_the_page_shows_each_behaviours_progress_towards_the_target(hall: LiveHall) -> None:
    labelled = _seed(hall, "w01", 0, 0.5)
    _seed(hall, "w02", 1, 0.4)
    supervisor = Visitor(hall.app, "sup")
    assert supervisor.post(f"/api/v1/labelling/samples/{labelled}/label", {"label": "phone_use"}).status_code == 200
    page = supervisor.get("/labelling").text
    assert _progress(page) == [("phone_use", "49", "玩手机 1/50"), ("eating", "50", "进食 0/50"),
                               ("drinking", "50", "饮水 0/50"), ("sleeping", "50", "睡岗 0/50"),
                               ("smoking", "50", "吸烟 0/50")]
    assert "本大厅 50 张标注" in page
    english = supervisor.get("/labelling?lang=en").text
    assert [text for _, _, text in _progress(english)] == [
        "Phone use 1/50", "Eating 0/50", "Drinking 0/50", "Sleeping at the post 0/50", "Smoking 0/50"]
    assert "Target per behaviour: 50 labelled frames" in english


def test_a_behaviour_below_the_target_is_served_before_a_more_uncertain_one_that_reached_it(
        small_target_hall: LiveHall) -> None:
    hall = small_target_hall
    supervisor = Visitor(hall.app, "sup")
    for minutes in (0, 1):
        sample = _seed(hall, "w01", minutes, 0.5)
        assert supervisor.post(f"/api/v1/labelling/samples/{sample}/label", {"label": "phone_use"}).status_code == 200
    phone_unsure = _seed(hall, "w01", 2, 0.95)
    eating_sure = _seed(hall, "w02", 3, 0.2, scores=(("phone_use", 0.1, 0.5), ("eating", 0.3, 0.4)))
    page = supervisor.get("/labelling").text
    assert f'data-sample-id="{eating_sure}"' in page and f'data-sample-id="{phone_unsure}"' not in page
    progress = _progress(page)
    assert progress[:2] == [("phone_use", "0", "玩手机 2/2（已达标）"), ("eating", "2", "进食 0/2")]
    assert "本大厅 2 张标注" in page
    assert supervisor.post(f"/api/v1/labelling/samples/{eating_sure}/label", {"label": "eating"}).status_code == 200
    assert f'data-sample-id="{phone_unsure}"' in supervisor.get("/labelling").text


def test_the_empty_state_and_who_may_label(hall: LiveHall) -> None:
    sample = _seed(hall, "w01", 0, 0.5)
    manager = Visitor(hall.app, "mgr1")
    assert f'data-sample-id="{sample}"' in manager.get("/labelling").text
    assert manager.post(f"/api/v1/labelling/samples/{sample}/label", {"label": "none"}).status_code == 200
    page = manager.get("/labelling").text
    assert 'id="labelling-empty"' in page and "没有待标注的画面" in page and 'class="label-form"' not in page
    assert "无违规: <strong>1</strong>" in page

    auditor = Visitor(hall.app, "aud")
    assert 'href="/labelling"' not in auditor.get("/dashboard").text
    refused = auditor.get("/labelling")
    assert refused.status_code == 403 and "您无权执行该操作。" in refused.text
    anonymous = Visitor(hall.app)
    redirect = anonymous.get("/labelling")
    assert redirect.status_code == 303 and redirect.headers["location"] == "/login?next=%2Flabelling"
