"""The labelling queue page over HTTP (no browser), against the real app on a real SQLite database: who sees it,
what it shows for the most uncertain frame, the label forms and their keys, the empty state, both languages."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.api.http.label_samples import seed_sample
from tests.dashboard.hall import HALL_ID, LiveHall, write_hall_config
from tests.dashboard.test_pages import PASSWORD, Visitor

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)  # 10:00 in Asia/Shanghai


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


def _seed(hall: LiveHall, window: str, minutes: int, uncertainty: float) -> int:
    sample_id, _ = seed_sample(hall.database, hall.data_dir, HALL_ID, "cam-demo", window,
                               T0 + timedelta(minutes=minutes), uncertainty,
                               scores=(("phone_use", 0.52, 0.5), ("eating", 0.05, 0.4)))
    return sample_id


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
        ("1", "phone_use"), ("2", "eating"), ("3", "drinking"), ("4", "sleeping"), ("0", "none"), ("s", "skip"))]
    for name in ("玩手机", "进食", "饮水", "睡岗", "无违规", "跳过"):
        assert name in page, name
    assert supervisor.csrf not in page, "the CSRF token stays out of the page"
    english = supervisor.get("/labelling?lang=en").text
    assert "Labelling queue" in english and "Phone use" in english and "No violation" in english


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
