"""Pause sources with hysteresis, pause-period records, and person tracking through short occlusions."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from counterwatch.rules.pause import PauseTracker, QueueStatus, SignHysteresis
from models.types import Box
from vision.observation import Person
from vision.tracking import PersonTracker

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def test_sign_needs_to_be_seen_for_on_s_and_missed_for_off_s() -> None:
    sign = SignHysteresis(on_s=1.0, off_s=4.0)
    assert sign.update(True, 0.0) is False
    assert sign.update(False, 0.5) is False  # a single sighting does not count
    assert sign.update(True, 1.0) is False
    assert sign.update(True, 2.0) is True  # seen for 1 s
    assert sign.update(None, 3.0) is True  # not checked: unchanged
    assert sign.update(False, 4.0) is True
    assert sign.update(True, 5.0) is True  # a missed detection does not drop it
    assert sign.update(False, 6.0) is True
    assert sign.update(False, 9.9) is True
    assert sign.update(False, 10.0) is False  # missed for 4 s


def test_pause_tracker_sources_priority_and_periods() -> None:
    queue = QueueStatus()
    tracker = PauseTracker("w01", queue, sign_on_s=0.0, sign_off_s=0.0)
    at = lambda s: T0 + timedelta(seconds=s)  # noqa: E731
    assert tracker.update(sign_seen=False, on_schedule=True, ts=0, wall_time=at(0)) == (False, None)
    queue.pause("w01")
    assert tracker.update(sign_seen=True, on_schedule=True, ts=1, wall_time=at(1)) == (True, "queue")
    queue.resume("w01")
    assert tracker.update(sign_seen=True, on_schedule=True, ts=2, wall_time=at(2)) == (True, "sign")
    assert tracker.update(sign_seen=False, on_schedule=False, ts=3, wall_time=at(3)) == (True, "schedule")
    periods = tracker.take_periods()
    assert [(p.source, p.started_at, p.ended_at) for p in periods] == [("queue", at(1), at(2)), ("sign", at(1), at(3))]
    assert tracker.take_periods() == ()
    assert [(p.source, p.ended_at) for p in tracker.open_periods()] == [("schedule", None)]
    assert QueueStatus().is_paused("w01") is False


def _person(x: float, score: float = 0.9) -> Person:
    return Person(Box(x, 100, x + 100, 300), score)


def test_one_person_keeps_one_id_through_a_short_occlusion_and_ends_later() -> None:
    tracker = PersonTracker(max_missing=4)
    ids = [tracker.update((_person(10 + 2 * i),))[0].track_id for i in range(5)]
    assert len(set(ids)) == 1
    for _ in range(2):  # occluded for two analysed frames: carried, not matched
        carried = tracker.update(())
        assert [(t.track_id, t.matched) for t in carried] == [(ids[0], False)]
    back = tracker.update((_person(22),))
    assert back[0].track_id == ids[0] and back[0].matched
    for _ in range(8):
        tracker.update(())
    assert tracker.update(()) == ()  # the track ended
    assert tracker.update((_person(22),))[0].track_id != ids[0]


def test_two_people_get_two_ids_in_input_order() -> None:
    tracker = PersonTracker()
    first = tracker.update((_person(10), _person(400)))
    second = tracker.update((_person(402), _person(12)))
    assert len({t.track_id for t in first}) == 2
    assert [t.track_id for t in second] == [first[1].track_id, first[0].track_id]
