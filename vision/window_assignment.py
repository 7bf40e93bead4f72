"""One person, one window: people found in several window crops are reported once, at the window they sit at.

Each window's detector runs on its staff zone grown by a margin, so neighbouring crops overlap and a person near a
seam is found in two or more crops, often cut by a crop's edge. Two detections from different crops are one person
when their boxes intersect and agree on every side: a side where a box is flush with an inner edge of its crop (not
the frame's edge) is cut there and only says that the person reaches at least that far; sides that neither crop cut
must lie within EDGE_TOLERANCE of each other. Of one person's detections the one analysed in depth (pose, face) is
kept, then the one cut on fewest sides, then the higher score; its cut sides are extended to the furthest edge
that the person's other detections saw.

The person then belongs to the window whose staff zone holds their torso (pose), else box centre (where staff zones
overlap: the zone covering most of the box); else the window whose citizen side holds the foot point; else the staff
zone holding the foot point; else the staff zone covering most of the box; else the window whose crop found them.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from shapely.geometry import box as shapely_box

from models.types import Box
from vision.observation import Person
from vision.regions import WindowRegion

CUT_MARGIN_PX = 6.0  # a box edge this close to an inner crop edge is cut there
EDGE_TOLERANCE = 0.2  # uncut sides of one person's boxes agree within this fraction of the larger box's extent
_SIDES = ("x1", "y1", "x2", "y2")
_OUTWARD = {"x1": -1.0, "y1": -1.0, "x2": 1.0, "y2": 1.0}  # the direction in which each side grows the box


@dataclass(frozen=True)
class WindowFinds:
    """The people found on one window's crop (frame pixels) and that crop's area in the frame."""

    region: WindowRegion
    area: Box
    persons: tuple[Person, ...]


@dataclass(frozen=True)
class _Find:
    person: Person
    window_id: str
    cut: frozenset[str]
    order: int  # position in the cascade's output before de-duplication (window order, then score)


def cut_sides(box: Box, area: Box, width: int, height: int, margin: float = CUT_MARGIN_PX) -> frozenset[str]:
    """The sides of `box` flush with an edge of its crop `area` that is not an edge of the width x height frame."""
    sides = set()
    if area.x1 > 0.5 and box.x1 <= area.x1 + margin:
        sides.add("x1")
    if area.y1 > 0.5 and box.y1 <= area.y1 + margin:
        sides.add("y1")
    if area.x2 < width - 0.5 and box.x2 >= area.x2 - margin:
        sides.add("x2")
    if area.y2 < height - 0.5 and box.y2 >= area.y2 - margin:
        sides.add("y2")
    return frozenset(sides)


def same_person(a: Box, a_cut: frozenset[str], b: Box, b_cut: frozenset[str]) -> bool:
    """Two boxes from different crops show one person: they intersect, every side neither crop cut agrees, and
    where one crop cut the person the other box reaches (about) as far."""
    if a.intersection(b) <= 0:
        return False
    for side in _SIDES:
        extent = max(a.width, b.width) if side in ("x1", "x2") else max(a.height, b.height)
        tolerance = EDGE_TOLERANCE * extent
        va, vb = getattr(a, side), getattr(b, side)
        if side in a_cut and side in b_cut:
            continue
        if side in a_cut:
            agree = _OUTWARD[side] * (vb - va) >= -tolerance
        elif side in b_cut:
            agree = _OUTWARD[side] * (va - vb) >= -tolerance
        else:
            agree = abs(va - vb) <= tolerance
        if not agree:
            return False
    return True


def unique_persons(finds: Sequence[WindowFinds], width: int, height: int) -> tuple[Person, ...]:
    """Each person once, assigned to one window (see the module doc), in the order they were first found."""
    found = [_Find(person, f.region.window_id, cut_sides(person.box, f.area, width, height), order)
             for order, (f, person) in enumerate((f, p) for f in finds for p in f.persons)]
    ranked = sorted(found, key=lambda f: (f.person.pose is not None or f.person.face is not None, -len(f.cut),
                                          f.person.score), reverse=True)
    clusters: list[list[_Find]] = []
    for candidate in ranked:
        home = next((cluster for cluster in clusters
                     if all(member.window_id != candidate.window_id for member in cluster)
                     and same_person(cluster[0].person.box, cluster[0].cut, candidate.person.box, candidate.cut)),
                    None)
        if home is None:
            clusters.append([candidate])
        else:
            home.append(candidate)
    regions = [f.region for f in finds]
    people = []
    for cluster in sorted(clusters, key=lambda c: min(member.order for member in c)):
        best = cluster[0]
        person = replace(best.person, box=_extended(best, cluster[1:]))
        window_id = assign_window(person, regions, width, height) or best.window_id
        people.append(replace(person, window_id=window_id))
    return tuple(people)


def _extended(best: _Find, others: Sequence[_Find]) -> Box:
    """The kept box with each side its crop cut moved out to the furthest edge another detection saw."""
    edges = {side: getattr(best.person.box, side) for side in _SIDES}
    for side in best.cut:
        for other in others:
            value = getattr(other.person.box, side)
            if _OUTWARD[side] * (value - edges[side]) > 0:
                edges[side] = value
    return Box(edges["x1"], edges["y1"], edges["x2"], edges["y2"])


def assign_window(person: Person, regions: Sequence[WindowRegion], width: int, height: int) -> str | None:
    """The window `person` belongs to (see the module doc); None when they are near no window's zones."""
    torso = torso_point(person)
    for x, y in ([torso] if torso else []) + [person.box.center]:
        holding = [r for r in regions if r.contains("staff_zone", width, height, x, y)]
        if holding:
            return max(holding, key=lambda r: _staff_overlap(person.box, r, width, height)).window_id
    foot = person.foot_point
    citizen = [r for r in regions if r.contains("citizen_side", width, height, *foot)]
    if citizen:
        return citizen[0].window_id
    holding = [r for r in regions if r.contains("staff_zone", width, height, *foot)]
    if holding:
        return max(holding, key=lambda r: _staff_overlap(person.box, r, width, height)).window_id
    overlaps = [(_staff_overlap(person.box, r, width, height), r.window_id) for r in regions]
    best = max(overlaps, key=lambda pair: pair[0], default=(0.0, None))
    return best[1] if best[0] > 0 else None


def torso_point(person: Person) -> tuple[float, float] | None:
    """Mean of the confident shoulder and hip keypoints (at least two), or None without a pose."""
    if person.pose is None:
        return None
    points = [k for k in (person.pose.get(n, 0.5) for n in ("left_shoulder", "right_shoulder", "left_hip",
                                                            "right_hip")) if k]
    if len(points) < 2:
        return None
    return sum(k.x for k in points) / len(points), sum(k.y for k in points) / len(points)


def is_citizen(region: WindowRegion, person: Person, width: int, height: int) -> bool:
    """Feet on the citizen side of the counter: a standing citizen's body may reach up into the staff zone."""
    return region.contains("citizen_side", width, height, *person.foot_point)


def is_staff(region: WindowRegion, person: Person, width: int, height: int) -> bool:
    """Not a citizen, and the torso (pose), else the box centre, else the foot point in the staff zone: a seated
    person's feet are hidden behind the counter."""
    if is_citizen(region, person, width, height):
        return False
    torso = torso_point(person)
    points = ([torso] if torso else []) + [person.box.center, person.foot_point]
    return any(region.contains("staff_zone", width, height, x, y) for x, y in points)


def _staff_overlap(box: Box, region: WindowRegion, width: int, height: int) -> float:
    """Area of `box` inside the region's staff zone, in square pixels."""
    area: float = region.polygon("staff_zone", width, height).intersection(
        shapely_box(box.x1, box.y1, box.x2, box.y2)).area
    return area
