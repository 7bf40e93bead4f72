"""One person, one window: detections of the same person in overlapping window crops merge, neighbours do not, and
each person is assigned to one window by the hall's zones."""
from __future__ import annotations

from models.types import FACE_KEYPOINTS, Box, Face, Keypoint
from vision.observation import Person
from vision.regions import WindowRegion, grow_box
from vision.window_assignment import WindowFinds, assign_window, cut_sides, unique_persons

WIDTH, HEIGHT = 1280, 720


def _region(window_id: str, x1: float, x2: float) -> WindowRegion:
    return WindowRegion(window_id, ((x1, 0.05), (x2, 0.05), (x2, 0.7), (x1, 0.7)),
                        ((x1, 0.74), (x2, 0.74), (x2, 1.0), (x1, 1.0)),
                        ((x1, 0.4), (x1 + 0.1, 0.4), (x1 + 0.1, 0.6), (x1, 0.6)), 1)


W01, W02 = _region("w01", 0.03, 0.47), _region("w02", 0.53, 0.97)  # the demo hall's two windows


def _crop(region: WindowRegion) -> Box:
    """The area the cascade runs the detector on: the staff zone grown by the default 10 % margin."""
    return grow_box(region.bounds("staff_zone", WIDTH, HEIGHT), 0.1, WIDTH, HEIGHT)


def _finds(region: WindowRegion, *persons: Person) -> WindowFinds:
    return WindowFinds(region, _crop(region), tuple(persons))


def test_the_crops_overlap_and_a_box_flush_with_an_inner_crop_edge_is_cut_there() -> None:
    left, right = _crop(W01), _crop(W02)
    assert left.x2 > right.x1  # the seam: both crops see x right.x1..left.x2
    assert cut_sides(Box(400, 100, left.x2, 500), left, WIDTH, HEIGHT) == {"x2"}
    assert cut_sides(Box(right.x1 + 1, 100, 800, 500), right, WIDTH, HEIGHT) == {"x1"}
    assert cut_sides(Box(0, 100, 300, 500), left, WIDTH, HEIGHT) == frozenset()  # the frame's edge cuts nothing
    assert cut_sides(Box(300, 100, 500, 500), left, WIDTH, HEIGHT) == frozenset()


def test_a_person_both_crops_cut_at_the_seam_is_one_person_with_the_whole_box() -> None:
    left, right = _crop(W01), _crop(W02)
    piece_left = Person(Box(400, 100, left.x2, 500), 0.8, "w01")
    piece_right = Person(Box(right.x1, 110, 700, 505), 0.6, "w02")
    persons = unique_persons([_finds(W01, piece_left), _finds(W02, piece_right)], WIDTH, HEIGHT)
    assert len(persons) == 1
    assert persons[0].box == Box(400, 100, 700, 500)  # the kept piece, extended where its crop cut it
    assert persons[0].window_id == "w01"  # centre x 550 is in w01's staff zone (x 38..602)
    assert persons[0].score == 0.8


def test_neighbours_whose_boxes_meet_at_the_seam_stay_two_people_at_their_own_windows() -> None:
    left, right = _crop(W01), _crop(W02)
    p = Person(Box(420, 100, 650, 500), 0.9, "w01")  # w01's staff, reaching into the seam
    q = Person(Box(630, 100, 860, 500), 0.85, "w02")  # w02's staff, reaching into the seam
    q_piece = Person(Box(630, 100, left.x2, 500), 0.4, "w01")  # w01's crop sees q's left edge, cut on the right
    p_piece = Person(Box(right.x1, 100, 650, 500), 0.4, "w02")  # w02's crop sees p's right edge, cut on the left
    persons = unique_persons([_finds(W01, p, q_piece), _finds(W02, q, p_piece)], WIDTH, HEIGHT)
    assert [(x.box, x.window_id) for x in persons] == [(p.box, "w01"), (q.box, "w02")]


def test_two_people_one_crop_found_are_never_merged() -> None:
    front = Person(Box(200, 150, 420, 520), 0.9, "w01")
    behind = Person(Box(230, 120, 430, 480), 0.6, "w01")  # seated behind, mostly hidden
    assert len(unique_persons([_finds(W01, front, behind)], WIDTH, HEIGHT)) == 2


def test_the_detection_analysed_in_depth_is_kept() -> None:
    plain = Person(Box(300, 100, 500, 500), 0.9, "w01")
    face = Face(Box(370, 120, 430, 190), 0.9, tuple(Keypoint(name, 400.0, 150.0, 1.0) for name in FACE_KEYPOINTS))
    analysed = Person(Box(305, 105, 505, 505), 0.7, "w02", face=face)
    wide = _region("w02", 0.1, 0.6)  # overlaps w01: both crops hold the whole person
    persons = unique_persons([_finds(W01, plain), _finds(wide, analysed)], WIDTH, HEIGHT)
    assert len(persons) == 1 and persons[0].face is not None


def test_overlapping_staff_zones_give_the_window_covering_most_of_the_person() -> None:
    narrow, wide = _region("w01", 0.0, 0.3), _region("w02", 0.2, 0.8)
    person = Person(Box(300, 100, 600, 500), 0.9)  # centre x 450: in both zones; w02 covers all of the box
    assert assign_window(person, [narrow, wide], WIDTH, HEIGHT) == "w02"
    assert assign_window(person, [wide, narrow], WIDTH, HEIGHT) == "w02"


def test_a_citizen_belongs_to_the_window_whose_counter_they_stand_at_and_a_stranger_to_none() -> None:
    citizen = Person(Box(800, 560, 900, 715), 0.9)  # feet below w02's counter, centre below the staff zones
    assert assign_window(citizen, [W01, W02], WIDTH, HEIGHT) == "w02"
    far = Person(Box(600, 10, 640, 30), 0.9)  # between the zones and above them
    assert assign_window(far, [W01, W02], WIDTH, HEIGHT) is None
