"""The scores page (/me) shows when each flag is raised, from the scoring config the server runs with: the built-in
defaults (投诉问责制 第七条: the second violation) or the hall's --scoring-config. Rendered HTML over real HTTP."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.http.world import PASSWORD, World, build_world

CUSTOM = """\
flags:
  notice_issued: {min_violations: 3, min_points: 8}
  self_examination_required: {min_violations: 0, min_points: 5}
  award_eligibility_lost: {min_violations: 4, min_points: 0}
  escalation_violations: 3
  escalation_window_months: 6
"""


def _thresholds(world: World, lang: str) -> list[str]:
    with TestClient(world.app, follow_redirects=False) as client:
        login = client.post("/api/v1/auth/login", json={"username": "staff_s001", "password": PASSWORD})
        assert login.status_code == 200, login.text
        client.cookies.set("lang", lang)
        page = client.get("/me")
    assert page.status_code == 200, page.text
    assert 'id="me-scores"' in page.text
    listed = re.search(r'<ul class="hint" id="me-thresholds">(.*?)</ul>', page.text, re.S)
    assert listed is not None, "no thresholds on the scores page"
    return [item.strip() for item in re.findall(r"<li>(.*?)</li>", listed.group(1), re.S)]


def test_the_scores_page_shows_the_built_in_thresholds_in_chinese_and_english(sqlite_world: World) -> None:
    assert _thresholds(sqlite_world, "zh") == [
        "通报：本期（月或年）违规 2 次及以上",
        "书面检查：本期（月或年）违规 2 次及以上",
        "取消评优资格：本期（月或年）违规 2 次及以上",
        "升级问责：12 个月内违规 2 次及以上",
    ]
    assert _thresholds(sqlite_world, "en") == [
        "Notice issued: 2 or more violations in the period (month or year)",
        "Written self-examination: 2 or more violations in the period (month or year)",
        "Award eligibility lost: 2 or more violations in the period (month or year)",
        "Escalation: 2 or more violations within 12 months",
    ]


@pytest.fixture
def custom_world(sqlite_database_url: str, tmp_path: Path) -> Iterator[World]:
    scoring = tmp_path / "scoring.yaml"
    scoring.write_text(CUSTOM, encoding="utf-8")
    built = build_world(sqlite_database_url, tmp_path / "data", scoring_config=scoring)
    yield built
    built.stop()


def test_the_scores_page_shows_the_thresholds_of_the_config_in_use(custom_world: World) -> None:
    assert _thresholds(custom_world, "zh") == [
        "通报：本期（月或年）违规 3 次及以上，或扣分达 8 分",
        "书面检查：本期（月或年）扣分达 5 分",
        "取消评优资格：本期（月或年）违规 4 次及以上",
        "升级问责：6 个月内违规 3 次及以上",
    ]
    with custom_world.client() as client:
        mine = client.get("/api/v1/appraisal/mine", params={"period": "2026-03"},
                          headers=custom_world.headers("staff_s001"))
        scores = client.get("/api/v1/appraisal/scores", params={"period": "2026-03"},
                            headers=custom_world.headers("manager"))
    assert mine.json()["flag_thresholds"]["escalation"] == {"min_violations": 3, "window_months": 6}
    assert scores.json()["flag_thresholds"] == mine.json()["flag_thresholds"]
