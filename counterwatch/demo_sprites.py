"""Sprites of the bundled demo scene (counterwatch.demo_scene), cut from real photos that ship with the base install:
scikit-image's astronaut (the staff member, her sleeve as the arm that holds things) and coffee (the cup), and
scikit-learn's china.jpg (the photo on the phone's screen).

Poses: a staff member at a window is drawn as a layer (`person_layer`) in the geometry of window w01; the other
window mirrors it about the person box's centre. Each pose was checked against the real perception cascade, the
shipped behaviour heads and the rules (tests/test_demo_behaviours.py):
- "phone": a phone held at her ear by her sleeve (the phone_use head fires and the detector finds the "cell phone"
  at her ear: each alone makes the frame a phone cue);
- "sip": the cup held at her mouth (the detector's cup at her mouth is hand-to-mouth with a drink near, and the
  drinking head fires; the detector also calls the cup a bowl, food near); "lift": on its way, no cue;
- "doze": head tilted, eyes closed (the eyes are judged closed against her own open-eye baseline);
- "cup_down": present, with the cup on the counter in front of her (drawn by the scene after the counter).
Coordinates below are frame pixels of window w01 at the scene size (1280x720).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

POSES = ("phone", "sip", "lift", "cup_down", "doze")
CANVAS = (640, 720)  # a window's person layer: centred on the person box, the frame's height
# Her eyes in the astronaut photo (x, y), from the face detector's keypoints.
EYES = ((204, 101), (247, 103))


@dataclass(frozen=True)
class Placement:
    """Where a sprite goes in w01 frame pixels: its anchor at `at`, rotated `angle` degrees (counter-clockwise)
    and scaled `scale` about the anchor."""

    at: tuple[float, float]
    angle: float = 0.0
    scale: float = 1.0


# The phone at her right ear (the image's left), her sleeve holding it from below.
PHONE_BOX = (150, 150, 48, 96)  # x, y, width, height
PHONE_ARM = Placement((172, 241), angle=10, scale=0.9)
# The cup at her mouth (the rim at her lips), and half way up; her sleeve under it.
SIP_CUP_BOX = (158, 233, 150, 180)
LIFT_CUP_BOX = (170, 300, 130, 156)
SIP_ARM = Placement((190, 395), angle=-5, scale=0.9)
LIFT_ARM = Placement((195, 440), angle=-5, scale=0.9)
# The cup standing on the counter in front of her (fractions of the window's half, like the w02 counter cup).
COUNTER_CUP = (0.30, 0.555, 0.37, 0.665)
# Dozing: the whole figure tilted towards her right shoulder and sunk a little, as someone nodding off.
DOZE_ANGLE, DOZE_SINK, DOZE_PIVOT = 20.0, 30.0, 0.8


def _bgr(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


@lru_cache(maxsize=1)
def _astronaut() -> np.ndarray:
    from skimage import data

    return _bgr(data.astronaut())


@lru_cache(maxsize=1)
def _coffee() -> np.ndarray:
    from skimage import data

    return _bgr(data.coffee())


def staff_sprite(*, eyes_closed: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The astronaut's head and torso as a BGR sprite and a soft mask (no background box around her)."""
    photo = _astronaut()
    if eyes_closed:
        photo = closed_eyes(photo)
    photo = photo[0:430, 90:430].copy()
    mask = np.zeros(photo.shape[:2], dtype=np.float32)
    cv2.ellipse(mask, (175, 120), (95, 115), 0, 0, 360, (1.0,), -1)  # head
    cv2.ellipse(mask, (170, 400), (170, 210), 0, 180, 360, (1.0,), -1)  # shoulders and torso
    cv2.rectangle(mask, (20, 300), (320, 430), (1.0,), -1)
    return photo, cv2.GaussianBlur(mask, (31, 31), 0)


def closed_eyes(photo: np.ndarray) -> np.ndarray:
    """The astronaut photo with her eyelids shut: skin from just under each eye laid over it, a lash line below."""
    out = photo.copy()
    width, height = 34, 22
    lid_mask = np.zeros((height, width), np.float32)
    cv2.ellipse(lid_mask, (width // 2, height // 2), (width // 2 - 1, height // 2 - 1), 0, 0, 360, (1.0,), -1)
    lid = cv2.GaussianBlur(lid_mask, (5, 5), 0)[..., None]
    for cx, cy in EYES:
        skin = out[cy + 10:cy + 10 + height, cx - width // 2:cx + width // 2].astype(np.float32)
        y0, x0 = cy - height // 2 + 1, cx - width // 2
        region = out[y0:y0 + height, x0:x0 + width].astype(np.float32)
        out[y0:y0 + height, x0:x0 + width] = (lid * skin + (1 - lid) * region).astype(np.uint8)
        cv2.ellipse(out, (cx, cy + 2), (width // 2 - 4, 3), 0, 15, 165, (45, 40, 50), 1, cv2.LINE_AA)
    return out


def counter_cup_sprite() -> np.ndarray:
    """The coffee photo's cup on its saucer with the table around it (w02's counter)."""
    return _coffee()[20:330, 130:470].copy()


def cup_sprite() -> tuple[np.ndarray, np.ndarray]:
    """The coffee photo's cup alone (rim, body, handle) with a soft mask."""
    photo = _coffee()
    mask = np.zeros(photo.shape[:2], np.float32)
    cv2.ellipse(mask, (290, 112), (120, 95), 0, 0, 360, (1.0,), -1)  # rim
    body = np.array([[172, 120], [408, 120], [380, 250], [330, 285], [250, 285], [200, 250]], np.int32)
    cv2.fillPoly(mask, [body], (1.0,))
    cv2.ellipse(mask, (228, 268), (38, 42), 0, 0, 360, (1.0,), -1)  # handle
    return photo[14:315, 165:415].copy(), cv2.GaussianBlur(mask, (9, 9), 0)[14:315, 165:415]


def arm_sprite() -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Her right forearm (orange sleeve, the cuff ring at the wrist) with the wrist end up; and the wrist point."""
    crop = _astronaut()[330:512, 10:185]
    mask = np.zeros(crop.shape[:2], np.float32)
    outline = np.array([[15, 0], [118, 0], [125, 60], [150, 150], [175, 182], [105, 182], [40, 140], [20, 60]],
                       np.int32)
    cv2.fillPoly(mask, [outline], (1.0,))
    mask = cv2.GaussianBlur(mask, (7, 7), 0) * np.clip(np.arange(crop.shape[0]) / 25.0, 0, 1)[:, None]
    return crop[::-1].copy(), mask[::-1].copy(), (140.0, 8.0)


def phone_sprite(width: int = 90, height: int = 180) -> tuple[np.ndarray, np.ndarray]:
    """A phone: black rounded body, the screen showing scikit-learn's china.jpg photo."""
    from sklearn.datasets import load_sample_image

    screen = _bgr(load_sample_image("china.jpg"))
    body = np.full((height, width, 3), 25, np.uint8)
    mask = np.zeros((height, width), np.float32)
    radius = width // 7
    cv2.rectangle(mask, (radius, 0), (width - radius, height), (1.0,), -1)
    cv2.rectangle(mask, (0, radius), (width, height - radius), (1.0,), -1)
    for cx, cy in ((radius, radius), (width - radius, radius), (radius, height - radius),
                   (width - radius, height - radius)):
        cv2.circle(mask, (cx, cy), radius, (1.0,), -1)
    bezel = max(3, width // 15)
    screen_h, screen_w = height - 4 * bezel, width - 2 * bezel
    crop_w = min(screen.shape[1], int(screen.shape[0] * screen_w / screen_h))
    x0 = (screen.shape[1] - crop_w) // 2
    body[2 * bezel:2 * bezel + screen_h, bezel:bezel + screen_w] = cv2.resize(
        screen[:, x0:x0 + crop_w], (screen_w, screen_h), interpolation=cv2.INTER_AREA)
    return body, mask


def over(layer: np.ndarray, alpha: np.ndarray, sprite: np.ndarray, mask: np.ndarray, place: Placement,
         anchor: tuple[float, float], origin: tuple[int, int]) -> None:
    """Draw a sprite over a layer (BGR float32, premultiplied by its alpha) and its alpha: anchor at place.at
    (frame pixels, the layer's top-left at `origin`), rotated and scaled about the anchor."""
    matrix = cv2.getRotationMatrix2D(anchor, place.angle, place.scale)
    matrix[0, 2] += place.at[0] - origin[0] - anchor[0]
    matrix[1, 2] += place.at[1] - origin[1] - anchor[1]
    size = (layer.shape[1], layer.shape[0])
    warped = cv2.warpAffine(sprite, matrix, size, flags=cv2.INTER_LINEAR).astype(np.float32)
    weight = cv2.warpAffine(mask, matrix, size, flags=cv2.INTER_LINEAR)
    layer[:] = weight[..., None] * warped + (1 - weight[..., None]) * layer
    alpha[:] = weight + (1 - weight) * alpha


def boxed(sprite: np.ndarray, mask: np.ndarray, box: tuple[float, float, float, float]
          ) -> tuple[np.ndarray, np.ndarray, Placement, tuple[float, float]]:
    """A sprite resized to fill box (x, y, width, height), as arguments of `over` (anchor: its top-left)."""
    x, y, width, height = box
    size = (int(round(width)), int(round(height)))
    return (cv2.resize(sprite, size, interpolation=cv2.INTER_AREA), cv2.resize(mask, size), Placement((x, y)),
            (0.0, 0.0))


def person_layer(pose: str | None, person_box: tuple[int, int, int, int], counter_top: int
                 ) -> tuple[np.ndarray, np.ndarray, int]:
    """The staff member in `pose` (None: at work, nothing in hand) as a CANVAS-sized BGR layer and alpha, in w01
    geometry, and the frame x of the layer's left edge. `person_box`: where the staff sprite goes (frame pixels,
    x1, y1, x2, y2); the layer is centred on it, so that mirroring it gives the other window's pose. Nothing of
    her shows below `counter_top` (frame y): she sits behind the counter."""
    if pose is not None and pose not in POSES:
        raise ValueError(f"unknown pose {pose!r}; known: {POSES}")
    x1, y1, x2, y2 = person_box
    left = (x1 + x2) // 2 - CANVAS[0] // 2
    origin = (left, 0)
    layer = np.zeros((CANVAS[1], CANVAS[0], 3), np.float32)
    alpha = np.zeros((CANVAS[1], CANVAS[0]), np.float32)
    staff, staff_mask = staff_sprite(eyes_closed=pose == "doze")
    sprite = cv2.resize(staff, (x2 - x1, y2 - y1), interpolation=cv2.INTER_AREA)
    mask = cv2.resize(staff_mask, (x2 - x1, y2 - y1), interpolation=cv2.INTER_LINEAR)
    if pose == "doze":
        pivot = (x1 + (x2 - x1) / 2, y1 + (y2 - y1) * DOZE_PIVOT)
        local = (pivot[0] - x1, pivot[1] - y1)
        over(layer, alpha, sprite, mask, Placement((pivot[0], pivot[1] + DOZE_SINK), DOZE_ANGLE), local, origin)
    else:
        over(layer, alpha, sprite, mask, Placement((x1, y1)), (0.0, 0.0), origin)
    arm, arm_mask, wrist = arm_sprite()
    if pose == "phone":
        over(layer, alpha, arm, arm_mask, PHONE_ARM, wrist, origin)
        over(layer, alpha, *boxed(*phone_sprite(), PHONE_BOX), origin)
    elif pose in ("sip", "lift"):
        over(layer, alpha, arm, arm_mask, SIP_ARM if pose == "sip" else LIFT_ARM, wrist, origin)
        over(layer, alpha, *boxed(*cup_sprite(), SIP_CUP_BOX if pose == "sip" else LIFT_CUP_BOX), origin)
    layer[counter_top:], alpha[counter_top:] = 0.0, 0.0
    return layer, alpha, left
