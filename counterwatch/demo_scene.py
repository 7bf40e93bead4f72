"""The bundled demo scene: two service windows rendered from real photo content (scikit-image's astronaut photo
as the staff member, its coffee photo on the counter), following a script of who is present, whether the pause
sign stands on the counter and what the staff at each window is doing (counterwatch.demo_sprites draws it).
`make demo` renders it at setup; tests render short scripts of their own."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from counterwatch.demo_sprites import COUNTER_CUP, counter_cup_sprite, cup_sprite, person_layer, staff_sprite

SIZE = (1280, 720)
COUNTER_TOP, COUNTER_BOTTOM = 0.62, 0.74  # the desk band, as fractions of the height
# Left edges (fractions of the width) of the two windows' halves; the right window is the left one shifted by 0.5.
WINDOW_OFFSETS = {"w01": 0.0, "w02": 0.5}
PERSON_BOX = (0.08, 0.12, 0.33, 0.67)  # where the staff member is pasted, within a window's half
SIGN_BOX = (0.30, 0.455, 0.46, 0.655)  # where the pause sign stands on the counter
MIRRORED = frozenset({"w02"})  # windows whose staff member is drawn mirrored

# What a staff member does during a segment (named after the incident type it shows), as the poses of
# counterwatch.demo_sprites over time: a cycle of (pose, seconds), repeated from the segment's start. The poses were
# checked at the windows DEMO_SCRIPT uses them at (w01: phone_use, drinking; w02: sleeping): the mirrored phone
# call at w02 is seen by the detector only, the phone_use head misses it.
BEHAVIOUR_POSES: dict[str, tuple[tuple[str, float], ...]] = {
    "phone_use": (("phone", 1.0),),  # a phone call, the phone held at the ear
    # Sips from a cup, 11 s apart: two within the drinking rule's 20 s, never three (the detector also calls the
    # cup at her mouth a bowl, and three hand-to-mouth movements with food within 20 s would be eating).
    "drinking": (("cup_down", 7.2), ("lift", 0.4), ("sip", 3.0), ("lift", 0.4)),
    "sleeping": (("doze", 1.0),),  # head tilted, eyes closed, still
}


@dataclass(frozen=True)
class Segment:
    """`seconds` of video in which each listed window has its staff present or not, its sign shown or not, and
    its staff member doing one of BEHAVIOUR_POSES (`behaviour`: (window, behaviour) pairs, sorted; a window left out
    is at work)."""

    seconds: float
    present: frozenset[str]
    sign: frozenset[str] = frozenset()
    behaviour: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        unknown = sorted(name for _, name in self.behaviour if name not in BEHAVIOUR_POSES)
        if unknown:
            raise ValueError(f"unknown demo behaviour {unknown}; known: {sorted(BEHAVIOUR_POSES)}")
        absent = sorted(window for window, _ in self.behaviour if window not in self.present)
        if absent:
            raise ValueError(f"a behaviour at windows {absent} whose staff is not present")

    def behaviour_of(self, window_id: str) -> str | None:
        return dict(self.behaviour).get(window_id)

    def poses_at(self, t: float) -> frozenset[tuple[str, str]]:
        """(window, pose) of every window whose staff does something, `t` seconds into the segment."""
        return frozenset((window, pose_at(name, t)) for window, name in self.behaviour)


def segment(seconds: float, present: tuple[str, ...] = (), sign: tuple[str, ...] = (),
            behaviour: Mapping[str, str] | None = None) -> Segment:
    return Segment(seconds, frozenset(present), frozenset(sign), tuple(sorted((behaviour or {}).items())))


def pose_at(behaviour: str, t: float) -> str:
    """The pose of a behaviour `t` seconds after it started."""
    cycle = BEHAVIOUR_POSES[behaviour]
    period = sum(seconds for _, seconds in cycle)
    t %= period
    if period - t < 1e-9:  # a whole number of periods, give or take the floating-point sum
        t = 0.0
    for pose, seconds in cycle:
        if t < seconds:
            return pose
        t -= seconds
    return cycle[-1][0]


# 190 s. The staff member at w01 takes a phone call (10-35 s; phone_use raised at ~25 s), leaves without the sign
# (40-90 s; absent_without_pause at ~70 s), returns with a coffee and takes two sips (90-115 s; drinking at ~109 s),
# later leaves with the sign up (120-170 s; no incident). The one at w02 stays throughout and nods off while w01 is
# away with the sign up (125-160 s; sleeping at ~146 s). configs/demo.yaml shortens the dwell times so that each
# incident is raised within its segment (tests/test_demo_behaviours.py runs the behaviour parts).
DEMO_SCRIPT = (
    segment(10, ("w01", "w02")),
    segment(25, ("w01", "w02"), behaviour={"w01": "phone_use"}),
    segment(5, ("w01", "w02")),
    segment(50, ("w02",)),
    segment(25, ("w01", "w02"), behaviour={"w01": "drinking"}),
    segment(5, ("w01", "w02")),
    segment(5, ("w02",), sign=("w01",)),
    segment(35, ("w02",), sign=("w01",), behaviour={"w02": "sleeping"}),
    segment(10, ("w02",), sign=("w01",)),
    segment(20, ("w01", "w02")),
)


def _px(fx: float, fy: float) -> tuple[int, int]:
    return int(round(fx * SIZE[0])), int(round(fy * SIZE[1]))


def _background() -> np.ndarray:
    width, height = SIZE
    ramp = np.linspace(215, 180, height, dtype=np.float32)[:, None, None]
    wall = np.broadcast_to(ramp * np.array([1.0, 0.97, 0.92], dtype=np.float32), (height, width, 3)).copy()
    image = wall.astype(np.uint8)
    for offset in WINDOW_OFFSETS.values():  # glass partition between windows and a window number plate
        x = _px(offset + 0.49, 0)[0]
        cv2.rectangle(image, (x, 0), (x + 10, _px(0, COUNTER_TOP)[1]), (150, 150, 140), -1)
    cv2.rectangle(image, (0, _px(0, 0.74)[1]), (width, height), (120, 110, 100), -1)  # floor, citizen side
    return image


def _paste(image: np.ndarray, sprite: np.ndarray, box: tuple[float, float, float, float],
           mask: np.ndarray | None = None) -> None:
    x1, y1 = _px(box[0], box[1])
    x2, y2 = _px(box[2], box[3])
    resized = cv2.resize(sprite, (x2 - x1, y2 - y1), interpolation=cv2.INTER_AREA)
    if mask is None:
        image[y1:y2, x1:x2] = resized
        return
    alpha = cv2.resize(mask, (x2 - x1, y2 - y1), interpolation=cv2.INTER_LINEAR)[..., None]
    image[y1:y2, x1:x2] = (alpha * resized + (1 - alpha) * image[y1:y2, x1:x2]).astype(np.uint8)


def _shift(box: tuple[float, float, float, float], dx: float) -> tuple[float, float, float, float]:
    return (box[0] + dx, box[1], box[2] + dx, box[3])


def _mirror(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """A box within a window's half mirrored about the person box's centre."""
    axis = PERSON_BOX[0] + PERSON_BOX[2]
    return (axis - box[2], box[1], axis - box[0], box[3])


def _blend(image: np.ndarray, layer: np.ndarray, alpha: np.ndarray, left: int) -> None:
    """Blend a full-height layer (colours premultiplied by alpha) into the image with its left edge at x = left
    (clipped to the frame)."""
    x1, x2 = max(0, left), min(image.shape[1], left + layer.shape[1])
    if x1 >= x2:
        return
    part, weight = layer[:, x1 - left:x2 - left], alpha[:, x1 - left:x2 - left, None]
    image[:, x1:x2] = np.clip(part + (1 - weight) * image[:, x1:x2], 0, 255).astype(np.uint8)


class SceneRenderer:
    def __init__(self, signs: dict[str, np.ndarray]):
        """`signs`: window id -> rendered pause-sign page (BGR), pasted while the script shows that sign."""
        self._background = _background()
        self._staff, self._staff_mask = staff_sprite()
        self._cup = counter_cup_sprite()
        self._drink, self._drink_mask = cup_sprite()
        self._signs = signs
        self._composed: dict[tuple[frozenset[str], frozenset[str], frozenset[tuple[str, str]]], np.ndarray] = {}
        self._layers: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}
        self._noise: list[np.ndarray] = []

    def frame(self, present: frozenset[str], sign: frozenset[str], rng: np.random.Generator,
              poses: frozenset[tuple[str, str]] = frozenset()) -> np.ndarray:
        """One frame: `present` staff at work, `sign` shown, and `poses` ((window, pose) of
        counterwatch.demo_sprites.POSES) for the staff doing something else."""
        key = (present, sign, poses)
        if key not in self._composed:
            self._composed[key] = self._compose(present, sign, dict(poses)).astype(np.int16)
        if not self._noise:  # sensor noise, so that nothing is pixel-static; a bank of patterns keeps it cheap
            self._noise = [rng.normal(0.0, 2.0, self._background.shape).astype(np.int16) for _ in range(8)]
        noise = self._noise[int(rng.integers(len(self._noise)))]
        return np.clip(self._composed[key] + noise, 0, 255).astype(np.uint8)

    def _layer(self, pose: str) -> tuple[np.ndarray, np.ndarray, int]:
        if pose not in self._layers:
            x1, y1 = _px(PERSON_BOX[0], PERSON_BOX[1])
            x2, y2 = _px(PERSON_BOX[2], PERSON_BOX[3])
            self._layers[pose] = person_layer(pose, (x1, y1, x2, y2), _px(0, COUNTER_TOP)[1])
        return self._layers[pose]

    def _compose(self, present: frozenset[str], sign: frozenset[str], poses: dict[str, str]) -> np.ndarray:
        unknown = sorted(set(poses) - set(present))
        if unknown:
            raise ValueError(f"poses given for windows {unknown} whose staff is not present")
        image = self._background.copy()
        for window_id, offset in WINDOW_OFFSETS.items():
            if window_id not in present:
                continue
            mirrored = window_id in MIRRORED
            if window_id in poses:
                layer, alpha, left = self._layer(poses[window_id])
                if mirrored:
                    layer, alpha = layer[:, ::-1], alpha[:, ::-1]
                _blend(image, layer, alpha, left + _px(offset, 0)[0])
                continue
            sprite = self._staff[:, ::-1] if mirrored else self._staff
            mask = self._staff_mask[:, ::-1] if mirrored else self._staff_mask
            _paste(image, sprite, _shift(PERSON_BOX, offset), mask)
        top, bottom = _px(0, COUNTER_TOP)[1], _px(0, COUNTER_BOTTOM)[1]
        cv2.rectangle(image, (0, top), (SIZE[0], bottom), (70, 95, 140), -1)  # the counter occludes the lap
        cv2.rectangle(image, (0, top), (SIZE[0], top + 6), (90, 120, 170), -1)
        _paste(image, self._cup, _shift((0.25, 0.53, 0.34, 0.675), 0.5))  # a coffee cup on w02's counter
        for window_id, pose in poses.items():
            if pose == "cup_down":  # the cup the staff member drinks from, on the counter between sips
                box = _mirror(COUNTER_CUP) if window_id in MIRRORED else COUNTER_CUP
                _paste(image, self._drink, _shift(box, WINDOW_OFFSETS[window_id]), self._drink_mask)
        for window_id in sign:
            if window_id in self._signs:
                _paste(image, self._signs[window_id], _shift(SIGN_BOX, WINDOW_OFFSETS[window_id]))
        return image


def script_frames(script: tuple[Segment, ...], fps: float) -> Iterator[tuple[Segment, frozenset[tuple[str, str]]]]:
    """(segment, poses) of every frame of the script at `fps`."""
    for part in script:
        for index in range(int(round(part.seconds * fps))):
            yield part, part.poses_at(index / fps)


def render_scene(out: Path, script: tuple[Segment, ...], signs: dict[str, np.ndarray], *, fps: float = 5.0,
                 seed: int = 0) -> float:
    """Write the scripted scene as an MP4 (mp4v) at `fps`; returns its duration in seconds."""
    if fps <= 0 or not script:
        raise ValueError("render_scene needs fps > 0 and a non-empty script")
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"mp4v"), fps, SIZE)
    if not writer.isOpened():
        raise RuntimeError(f"cannot write video {out}")
    renderer, rng, frames = SceneRenderer(signs), np.random.default_rng(seed), 0
    try:
        for part, poses in script_frames(script, fps):
            writer.write(renderer.frame(part.present, part.sign, rng, poses))
            frames += 1
    finally:
        writer.release()
    return frames / fps


def truth_at(script: tuple[Segment, ...], t: float) -> Segment:
    """The script segment in force at time t (seconds from the start)."""
    elapsed = 0.0
    for part in script:
        elapsed += part.seconds
        if t < elapsed:
            return part
    return script[-1]
