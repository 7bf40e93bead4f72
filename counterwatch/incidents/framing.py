"""The picture evidence shows: the incident's window, with context, and nothing private of anyone else.

A camera often covers several windows, and an incident is about the staff member of one of them, so a stored image
(snapshot or clip frame) is cut for that window (`EvidenceView`):

- crop: the window's staff zone and pause-sign region, grown by CROP_MARGIN of their size on every side (the desk,
  the chair, the sign's place), clipped to the frame, with its edges on the MASK_BLOCK_PX grid of the frame;
- mask: every citizen side and every other window's staff zone (less this window's own zone where they overlap)
  inside the crop, grown to whole codec blocks, filled with MASK_BGR. Another window's staff member is another
  employee: their image does not belong in this person's record;
- faces outside every staff zone are blurred (privacy.private_boxes), searched for in the crop grown by
  FACE_CONTEXT so that a face cut by the crop's edge is still found whole;
- drawing: only this window's staff zone (thick; green before the onset, red from it), its pause-sign region, the
  persons perception put at this window and the objects in the crop that the rules look for;
- header: a dark strip above the crop (its height a multiple of MASK_BLOCK_PX, so the crop's codec blocks stay
  aligned) with the window's name and the behaviour on one line, the local time and the time from the onset on the
  next, in the CJK font sized to the crop (fonts.py; without it, ASCII in OpenCV's font).

Order: blur on the raw frame, crop, draw, mask (the mask covers any drawing that strays onto it), header.

The labelling queue's sampled frames (learning.sampling) are cut for their window by the same `window_image`, without
drawing or header: a sample of one window shows neither the citizens nor another window's staff member.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw

from counterwatch.behaviours import BEHAVIOURS
from counterwatch.incidents.privacy import MASK_BGR, MASK_BLOCK_PX, blur_boxes, grow_to_blocks, private_boxes
from vision.cues import DRINK_LABELS, FOOD_LABELS, PHONE_CLASSIFIER_LABEL, PHONE_LABELS, PHONE_LOOKALIKE_LABELS
from vision.observation import Observation
from vision.regions import WindowRegion

CROP_MARGIN = 0.15  # context around the window's zone and sign region, per side, as a fraction of their size
FACE_CONTEXT = 0.15  # faces are searched in the crop grown by this fraction of the frame's shorter side
HEADER_FONT_FRACTION = 1.0 / 24.0  # header text height as a fraction of the crop's height...
MIN_FONT_PX, MAX_FONT_PX = 14, 64  # ...within these bounds (and smaller still if a line would not fit)
LINE_SPACING = 1.35  # header line pitch, in font sizes
HEADER_BGR = (32, 32, 32)
TEXT_RGB = (255, 255, 255)
ZONE_BGR = (0, 200, 0)  # the window's staff zone before the onset
ONSET_BGR = (0, 0, 230)  # ... and from the onset on
SIGN_BGR = (0, 200, 255)  # the pause-sign region...
SIGN_SEEN_BGR = (255, 0, 200)  # ...while a sign is seen there
PERSON_BGR = (255, 255, 0)
OBJECT_BGR = (255, 128, 0)

INCIDENT_TYPES_ZH = {b.name: b.zh for b in BEHAVIOURS}
_OBJECTS_ZH = {**{label: "手机" for label in PHONE_LABELS | {PHONE_CLASSIFIER_LABEL}},
               **{label: "疑似手机" for label in PHONE_LOOKALIKE_LABELS},
               **{label: "饮品" for label in DRINK_LABELS}, **{label: "食物" for label in FOOD_LABELS}}


@dataclass(frozen=True, eq=False)
class EvidenceView:
    """Where one window's evidence is cut from frames of one size, and what in it is masked."""

    window_id: str
    regions: tuple[WindowRegion, ...]  # all of the camera's windows (whose staff zones exempt faces from blurring)
    frame_size: tuple[int, int]  # width, height of the frames it applies to
    crop: tuple[int, int, int, int]  # x1, y1, x2, y2 in frame pixels
    search: tuple[int, int, int, int]  # where faces are looked for, frame pixels
    mask: np.ndarray  # bool, crop-sized: what is MASK_BGR in every stored image
    zone: np.ndarray  # this window's staff zone, crop pixels
    sign_region: np.ndarray  # its pause-sign region, crop pixels
    font_px: int
    header_px: int  # rows of the header strip above the crop (a multiple of MASK_BLOCK_PX)

    @property
    def origin(self) -> tuple[int, int]:
        """Where frame pixel (0, 0) lands in the stored image (may be negative): frame (x, y) -> (x + dx, y + dy)."""
        return -self.crop[0], self.header_px - self.crop[1]

    def to_evidence(self, frame_mask: np.ndarray) -> np.ndarray:
        """A frame-sized boolean mask as the stored image's rows and columns (the header's rows are False)."""
        x1, y1, x2, y2 = self.crop
        out = np.zeros((self.header_px + y2 - y1, x2 - x1), dtype=bool)
        out[self.header_px:] = frame_mask[y1:y2, x1:x2]
        return out


def _snap(value: float, limit: int, up: bool) -> int:
    snapped = math.ceil(value / MASK_BLOCK_PX) if up else math.floor(value / MASK_BLOCK_PX)
    return int(min(max(snapped * MASK_BLOCK_PX, 0), limit))


def _font_px(crop_height: int) -> int:
    return int(min(MAX_FONT_PX, max(MIN_FONT_PX, round(crop_height * HEADER_FONT_FRACTION))))


def evidence_view(regions: Sequence[WindowRegion], window_id: str, width: int, height: int) -> EvidenceView:
    """The view of `window_id` in frames of `width` x `height`; raises KeyError for a window not in `regions`."""
    own = next((region for region in regions if region.window_id == window_id), None)
    if own is None:
        raise KeyError(f"window {window_id!r} is not in this camera's regions")
    points = np.vstack([own.pixels("staff_zone", width, height), own.pixels("sign_region", width, height)])
    (zx1, zy1), (zx2, zy2) = points.min(axis=0), points.max(axis=0)
    mx, my = CROP_MARGIN * (zx2 - zx1), CROP_MARGIN * (zy2 - zy1)
    x1, y1 = _snap(zx1 - mx, width, up=False), _snap(zy1 - my, height, up=False)
    x2, y2 = _snap(zx2 + mx, width, up=True), _snap(zy2 + my, height, up=True)
    if x2 - x1 < MASK_BLOCK_PX or y2 - y1 < MASK_BLOCK_PX:
        raise ValueError(f"window {window_id!r}: its zone is too small to cut evidence from a {width}x{height} frame")
    context = int(round(FACE_CONTEXT * min(width, height)))
    search = (max(0, x1 - context), max(0, y1 - context), min(width, x2 + context), min(height, y2 + context))
    private = np.zeros((height, width), dtype=np.uint8)
    for region in regions:
        cv2.fillPoly(private, [region.pixels("citizen_side", width, height)], (255,))
    others = np.zeros((height, width), dtype=np.uint8)
    for region in regions:
        if region.window_id != window_id:
            cv2.fillPoly(others, [region.pixels("staff_zone", width, height)], (255,))
    others[own.mask("staff_zone", width, height) > 0] = 0
    mask = grow_to_blocks((private > 0) | (others > 0))[y1:y2, x1:x2]
    font_px = _font_px(y2 - y1)
    header_px = int(math.ceil((2 * LINE_SPACING * font_px + font_px) / MASK_BLOCK_PX) * MASK_BLOCK_PX)
    shift = np.array([x1, y1], dtype=np.int32)
    return EvidenceView(window_id, tuple(regions), (width, height), (x1, y1, x2, y2), search,
                        np.ascontiguousarray(mask), own.pixels("staff_zone", width, height) - shift,
                        own.pixels("sign_region", width, height) - shift, font_px, header_px)


@dataclass(frozen=True)
class Caption:
    """What the header says: `title` on the first line, then the local time and the time from the onset."""

    title: str
    ascii_title: str  # the same without CJK, for when the font is missing
    wall_time: datetime
    from_onset_s: float
    tz: tzinfo

    def lines(self, cjk: bool) -> tuple[str, str]:
        local = self.wall_time.astimezone(self.tz).strftime("%Y-%m-%d %H:%M:%S")
        seconds = int(round(abs(self.from_onset_s)))
        span = f"{seconds // 60}:{seconds % 60:02d}"
        if cjk:
            when = "行为开始" if seconds == 0 else (f"开始前 {span}" if self.from_onset_s < 0 else f"开始后 {span}")
            return self.title, f"{local}  {when}"
        when = "onset" if seconds == 0 else (f"onset -{span}" if self.from_onset_s < 0 else f"onset +{span}")
        return self.ascii_title, f"{local}  {when}"


def caption(window_id: str, window_name: str | None, incident_type: str, wall_time: datetime, from_onset_s: float,
            tz: tzinfo) -> Caption:
    title = f"{window_name or window_id} · {INCIDENT_TYPES_ZH.get(incident_type, incident_type)}"
    return Caption(title, f"{window_id} {incident_type}", wall_time, from_onset_s, tz)


@lru_cache(maxsize=16)
def _font(size_px: int):
    from counterwatch.fonts import cjk_font

    return cjk_font(size_px)


def _cjk_font(size_px: int):
    from counterwatch.fonts import FontMissing

    try:
        return _font(size_px)
    except (FontMissing, OSError):
        return None


def _fit(text: str, size_px: int, width: int):
    """The CJK font at `size_px`, or smaller so that `text` fits `width` (None without the font)."""
    font = _cjk_font(size_px)
    while font is not None and size_px > MIN_FONT_PX and font.getlength(text) > width:
        size_px = max(MIN_FONT_PX, int(size_px * width / font.getlength(text)))
        font = _cjk_font(size_px)
    return font


def _draw_texts(image: np.ndarray, texts: list[tuple[int, int, str, str, int]]) -> np.ndarray:
    """`image` with (x, y, text, ascii_text, size_px) drawn in the CJK font, white on a dark box; without the font,
    the ASCII text in OpenCV's."""
    if not texts:
        return image
    if _cjk_font(texts[0][4]) is None:
        for x, y, _, text, size in texts:
            cv2.putText(image, text, (x, y + size), cv2.FONT_HERSHEY_SIMPLEX, size / 30.0, (255, 255, 255),
                        max(1, size // 14), cv2.LINE_AA)
        return image
    pil = Image.fromarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    draw = ImageDraw.Draw(pil)
    for x, y, text, _, size in texts:
        font = _fit(text, size, image.shape[1] - x - 4)
        box = draw.textbbox((x, y), text, font=font)
        draw.rectangle((box[0] - 3, box[1] - 3, box[2] + 3, box[3] + 3), fill=HEADER_BGR[::-1])
        draw.text((x, y), text, font=font, fill=TEXT_RGB)
    return cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)


def _annotate(image: np.ndarray, view: EvidenceView, observation: Observation | None, after_onset: bool) -> np.ndarray:
    height, width = image.shape[:2]
    thick = max(2, round(min(width, height) / 160))
    x0, y0 = view.crop[:2]
    sign = observation.sign(view.window_id) if observation is not None else None
    sign_seen = sign is not None and sign.visible
    cv2.polylines(image, [view.sign_region], True, SIGN_SEEN_BGR if sign_seen else SIGN_BGR, max(1, thick // 2))
    cv2.polylines(image, [view.zone], True, ONSET_BGR if after_onset else ZONE_BGR, thick)
    texts: list[tuple[int, int, str, str, int]] = []
    small = max(MIN_FONT_PX, int(view.font_px * 0.75))
    if sign_seen:
        sx, sy = view.sign_region.min(axis=0)
        texts.append((int(sx) + thick, int(sy) + thick, "暂停牌", "pause sign", small))
    if observation is not None:
        for person in observation.persons_in(view.window_id):
            x1, y1, x2, y2 = person.box.offset(-x0, -y0).clip(width, height).to_int()
            cv2.rectangle(image, (x1, y1), (x2, y2), PERSON_BGR, max(1, thick // 2))
        for obj in observation.objects:
            label = _OBJECTS_ZH.get(obj.label)
            cx, cy = obj.box.center
            if label is None or not (x0 <= cx < view.crop[2] and y0 <= cy < view.crop[3]):
                continue
            x1, y1, x2, y2 = obj.box.offset(-x0, -y0).clip(width, height).to_int()
            cv2.rectangle(image, (x1, y1), (x2, y2), OBJECT_BGR, thick)
            texts.append((x1, max(0, y1 - small - 8), f"{label} {obj.score:.2f}", f"{obj.label} {obj.score:.2f}",
                          small))
    return _draw_texts(image, texts)


def _header(width: int, view: EvidenceView, text: Caption) -> np.ndarray:
    strip = np.empty((view.header_px, width, 3), dtype=np.uint8)
    strip[:] = HEADER_BGR
    pad = max(4, view.font_px // 3)
    cjk = _cjk_font(view.font_px) is not None
    first, second = text.lines(cjk)
    if not cjk:
        scale, weight = view.font_px / 30.0, max(1, view.font_px // 14)
        for row, line in enumerate((first, second)):
            cv2.putText(strip, line, (pad, pad + view.font_px + row * int(LINE_SPACING * view.font_px)),
                        cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), weight, cv2.LINE_AA)
        return strip
    pil = Image.fromarray(strip)
    draw = ImageDraw.Draw(pil)
    for row, line in enumerate((first, second)):
        draw.text((pad, pad // 2 + row * int(LINE_SPACING * view.font_px)), line, fill=TEXT_RGB,
                  font=_fit(line, view.font_px, width - 2 * pad))
    return np.asarray(pil)


def window_image(raw: np.ndarray, view: EvidenceView, face_detector, observation: Observation | None = None, *,
                 draw: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """`view`'s window cut from the raw camera frame `raw`, fit to store: faces and heads outside every staff zone
    blurred (on the raw frame), cut to the crop, `draw`n on, then masked (the citizen side and the other windows'
    staff zones). Evidence (`render`) and the labelling queue's samples (learning.sampling) are both cut here.

    `face_detector` None searches no faces (only the observation's heads are blurred): for images whose faces were
    blurred when they were first stored (a stored sample framed again on export without models)."""
    height, width = raw.shape[:2]
    if (width, height) != view.frame_size:
        raise ValueError(f"a {width}x{height} frame does not fit the view cut for {view.frame_size}")
    area = view.search if face_detector is not None else (0, 0, 0, 0)  # an empty area: no faces looked for
    boxes = private_boxes(raw, view.regions, face_detector, observation, area=area)
    x1, y1, x2, y2 = view.crop
    image = np.ascontiguousarray(blur_boxes(raw, boxes)[y1:y2, x1:x2])
    if draw is not None:
        image = draw(image)
    image[view.mask] = MASK_BGR
    return image


def render(raw: np.ndarray, view: EvidenceView, face_detector, observation: Observation | None, text: Caption, *,
           annotate: bool = True) -> np.ndarray:
    """The stored image of `view`'s window from the raw camera frame `raw`: blurred, cut, drawn on, masked, titled."""
    draw = (lambda image: _annotate(image, view, observation, text.from_onset_s >= 0)) if annotate else None
    image = window_image(raw, view, face_detector, observation, draw=draw)
    return np.vstack([_header(image.shape[1], view, text), image])
