"""The bundled demo scene: two service windows rendered from real photo content (scikit-image's astronaut photo
as the staff member, its coffee photo on the counter), following a script of who is present and whether the pause
sign stands on the counter. `make demo` renders it at setup; tests render short scripts of their own."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

SIZE = (1280, 720)
COUNTER_TOP, COUNTER_BOTTOM = 0.62, 0.74  # the desk band, as fractions of the height
# Left edges (fractions of the width) of the two windows' halves; the right window is the left one shifted by 0.5.
WINDOW_OFFSETS = {"w01": 0.0, "w02": 0.5}
PERSON_BOX = (0.08, 0.12, 0.33, 0.67)  # where the staff member is pasted, within a window's half
SIGN_BOX = (0.30, 0.455, 0.46, 0.655)  # where the pause sign stands on the counter


@dataclass(frozen=True)
class Segment:
    """`seconds` of video in which each listed window has its staff present or not, and its sign shown or not."""

    seconds: float
    present: frozenset[str]
    sign: frozenset[str] = frozenset()


def segment(seconds: float, present: tuple[str, ...] = (), sign: tuple[str, ...] = ()) -> Segment:
    return Segment(seconds, frozenset(present), frozenset(sign))


# Staff at w01 leaves without the sign (an absence incident once the dwell passes), returns, later leaves with the
# sign up (no incident); the staff at w02 stays throughout.
DEMO_SCRIPT = (
    segment(20, ("w01", "w02")),
    segment(60, ("w02",)),
    segment(25, ("w01", "w02")),
    segment(50, ("w02",), sign=("w01",)),
    segment(25, ("w01", "w02")),
)


def _px(fx: float, fy: float) -> tuple[int, int]:
    return int(round(fx * SIZE[0])), int(round(fy * SIZE[1]))


def _staff_sprite() -> tuple[np.ndarray, np.ndarray]:
    """The astronaut's head and torso as a BGR sprite and a soft mask (no background box around her)."""
    from skimage import data

    photo = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)[0:430, 90:430]
    mask = np.zeros(photo.shape[:2], dtype=np.float32)
    cv2.ellipse(mask, (175, 120), (95, 115), 0, 0, 360, 1.0, -1)  # head
    cv2.ellipse(mask, (170, 400), (170, 210), 0, 180, 360, 1.0, -1)  # shoulders and torso
    cv2.rectangle(mask, (20, 300), (320, 430), 1.0, -1)
    return photo, cv2.GaussianBlur(mask, (31, 31), 0)


def _cup_sprite() -> np.ndarray:
    from skimage import data

    return cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR)[20:330, 130:470]


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


class SceneRenderer:
    def __init__(self, signs: dict[str, np.ndarray]):
        """`signs`: window id -> rendered pause-sign page (BGR), pasted while the script shows that sign."""
        self._background = _background()
        self._staff, self._staff_mask = _staff_sprite()
        self._cup = _cup_sprite()
        self._signs = signs
        self._composed: dict[tuple[frozenset[str], frozenset[str]], np.ndarray] = {}
        self._noise: list[np.ndarray] = []

    def frame(self, present: frozenset[str], sign: frozenset[str], rng: np.random.Generator) -> np.ndarray:
        key = (present, sign)
        if key not in self._composed:
            self._composed[key] = self._compose(present, sign).astype(np.int16)
        if not self._noise:  # sensor noise, so that nothing is pixel-static; a bank of patterns keeps it cheap
            self._noise = [rng.normal(0.0, 2.0, self._background.shape).astype(np.int16) for _ in range(8)]
        noise = self._noise[int(rng.integers(len(self._noise)))]
        return np.clip(self._composed[key] + noise, 0, 255).astype(np.uint8)

    def _compose(self, present: frozenset[str], sign: frozenset[str]) -> np.ndarray:
        image = self._background.copy()
        for window_id, offset in WINDOW_OFFSETS.items():
            if window_id in present:
                sprite = self._staff if window_id == "w01" else self._staff[:, ::-1]
                mask = self._staff_mask if window_id == "w01" else self._staff_mask[:, ::-1]
                _paste(image, sprite, _shift(PERSON_BOX, offset), mask)
        top, bottom = _px(0, COUNTER_TOP)[1], _px(0, COUNTER_BOTTOM)[1]
        cv2.rectangle(image, (0, top), (SIZE[0], bottom), (70, 95, 140), -1)  # the counter occludes the lap
        cv2.rectangle(image, (0, top), (SIZE[0], top + 6), (90, 120, 170), -1)
        _paste(image, self._cup, _shift((0.25, 0.53, 0.34, 0.675), 0.5))  # a coffee cup on w02's counter
        for window_id in sign:
            if window_id in self._signs:
                _paste(image, self._signs[window_id], _shift(SIGN_BOX, WINDOW_OFFSETS[window_id]))
        return image


def render_scene(out: Path, script: tuple[Segment, ...], signs: dict[str, np.ndarray], *, fps: float = 5.0,
                 seed: int = 0) -> float:
    """Write the scripted scene as an MP4 (mp4v) at `fps`; returns its duration in seconds."""
    if fps <= 0 or not script:
        raise ValueError("render_scene needs fps > 0 and a non-empty script")
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, SIZE)
    if not writer.isOpened():
        raise RuntimeError(f"cannot write video {out}")
    renderer, rng, frames = SceneRenderer(signs), np.random.default_rng(seed), 0
    try:
        for part in script:
            for _ in range(int(round(part.seconds * fps))):
                writer.write(renderer.frame(part.present, part.sign, rng))
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
