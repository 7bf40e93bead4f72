"""The labelling queue in a real headless Chromium against the real API: a supervisor logs in, opens /labelling,
sees the most uncertain of three sampled frames, and labels them with one keystroke each (1 phone use, 0 no
violation, S skip), each label landing in the database (by that supervisor, audited) and the next frame appearing,
until the queue is empty."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor_api.storage.models import AuditLogRow, LabelSampleRow, UserRow
from tests.api.http.label_samples import seed_sample
from tests.dashboard.browser import Browser, wait_for
from tests.dashboard.hall import HALL_ID, LiveHall, write_hall_config

SUPERVISOR = ("li.supervisor", "correct-horse-battery-7", "李主管")
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
def hall(tmp_path: Path):
    live = LiveHall(write_hall_config(tmp_path, tmp_path / "never-played.mp4", dwell_s=30)).start()
    username, password, name = SUPERVISOR
    live.add_user(username, password, "supervisor", name, halls=(HALL_ID,))
    try:
        yield live
    finally:
        live.stop()


def _shown_sample(driver) -> int | None:
    found = driver.find_elements("css selector", ".labelling[data-sample-id]")
    return int(found[0].get_attribute("data-sample-id")) if found else None


def _image_loaded(driver) -> bool:
    return bool(driver.execute_script("const i = document.getElementById('labelling-image');"
                                      "return i && i.complete && i.naturalWidth > 0"))


def _label(hall: LiveHall, sample_id: int) -> tuple[str | None, int | None]:
    with hall.database.read() as session:
        row = session.get(LabelSampleRow, sample_id)
        assert row is not None
        return row.label, row.labelled_by


def _press(driver, key: str) -> None:
    driver.find_element("tag name", "body").send_keys(key)


def test_a_supervisor_labels_the_queue_with_one_keystroke_per_frame(hall: LiveHall, browser: Browser,
                                                                      tmp_path: Path) -> None:
    username, password, _ = SUPERVISOR
    samples = {}
    for name, window, minutes, uncertainty in (("middle", "w02", 0, 0.6), ("most", "w01", 1, 0.95),
                                               ("least", "w01", 2, 0.3)):
        samples[name], _ = seed_sample(hall.database, hall.data_dir, HALL_ID, "cam-demo", window,
                                       T0 + timedelta(minutes=minutes), uncertainty, shade=40 + minutes * 60)
    with hall.database.read() as session:
        user_id = session.scalar(select(UserRow.id).where(UserRow.username == username))
    driver = browser.driver

    driver.get(hall.url + "/labelling")
    wait_for(lambda: "/login" in driver.current_url, 10, "the redirect to the login page")
    driver.find_element("id", "username").send_keys(username)
    driver.find_element("id", "password").send_keys(password)
    driver.find_element("id", "login-submit").click()
    wait_for(lambda: driver.current_url.rstrip("/").endswith("/labelling"), 15, "the labelling page after login")
    assert driver.find_element("css selector", '.topbar__nav a[aria-current="page"]').text == "标注队列"

    # The most uncertain frame first, its image through the audited API route.
    assert _shown_sample(driver) == samples["most"]
    assert driver.find_element("id", "labelling-window").text == "1号窗口"
    assert driver.find_element("id", "labelling-remaining").text == "待标注：3 张"
    wait_for(lambda: _image_loaded(driver), 10, "the frame's image")
    driver.save_screenshot(str(tmp_path / "labelling-zh.png"))

    _press(driver, "1")
    wait_for(lambda: _shown_sample(driver) == samples["middle"], 15, "the next frame after pressing 1")
    assert _label(hall, samples["most"]) == ("phone_use", user_id)
    assert driver.find_element("id", "labelling-window").text == "2号窗口"
    assert driver.find_element("id", "labelling-remaining").text == "待标注：2 张"
    wait_for(lambda: _image_loaded(driver), 10, "the second frame's image")

    _press(driver, "0")
    wait_for(lambda: _shown_sample(driver) == samples["least"], 15, "the next frame after pressing 0")
    assert _label(hall, samples["middle"]) == ("none", user_id)

    _press(driver, "s")
    wait_for(lambda: driver.find_elements("id", "labelling-empty"), 15, "the empty queue after pressing S")
    assert _label(hall, samples["least"]) == ("skip", user_id)
    assert "没有待标注的画面" in driver.find_element("id", "labelling-empty").text
    assert driver.find_element("id", "labelling-remaining").text == "待标注：0 张"
    driver.save_screenshot(str(tmp_path / "labelling-empty-zh.png"))

    with hall.database.read() as session:
        entries = session.scalars(select(AuditLogRow).where(AuditLogRow.object_type == "label_sample")
                                  .order_by(AuditLogRow.id)).all()
        labels = [(entry.object_id, entry.details["label"]) for entry in entries
                  if entry.action == "label_sample.label"]
        viewed = {entry.object_id for entry in entries if entry.action == "label_sample.view"}
        assert all(entry.actor_id == str(user_id) for entry in entries)
    assert labels == [(str(samples["most"]), "phone_use"), (str(samples["middle"]), "none"),
                      (str(samples["least"]), "skip")]
    assert viewed == {str(samples["most"]), str(samples["middle"]), str(samples["least"])}
    errors = browser.console_errors()
    assert errors == [], errors
