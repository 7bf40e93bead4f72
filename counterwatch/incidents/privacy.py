"""Privacy masking applied to every image before it is encoded or written as evidence.

The hall's evidence shows staff at their post, never the citizens they serve (DESIGN.md, "Due process and privacy"):

- every citizen_side polygon is filled with MASK_BGR, a flat mid-grey, grown outward to whole MASK_BLOCK_PX blocks;
- every face whose centre lies outside all staff_zone polygons is blurred beyond recognition, and so is the head
  region of every observed person whose head lies outside all staff zones (a backstop for faces the face detector
  misses: turned away, small, occluded).

Blurring happens before masking so that a blurred face that overlaps the citizen side cannot smear its own pixels
back over the mask: after `fill_citizen_side` every citizen-side pixel is exactly MASK_BGR. Annotations for a
snapshot are drawn after blurring (so labels stay legible) and before masking (so the mask covers them too).
Incident evidence shows one window (framing.py): there the other windows' staff zones are masked as well, with
the same block growth (`grow_to_blocks`), and faces are searched for around that window only (`area`).

Why whole blocks: JPEG and H.264 code images in 8x8 (and 4x4) blocks aligned to the image origin, with chroma at
half resolution. A block that holds both mask and other pixels decodes with ringing that carries outside content
into the masked area (measured: up to 23 levels in JPEG, 128 in H.264 next to a sharp edge). When every block the
polygon touches is entirely mask, the masked area decodes to MASK_BGR exactly (measured: error 0 for JPEG quality
85-90 with 4:4:4 sampling and for libx264 crf 23 fed BT.601 yuv420p converted by OpenCV). The cost is up to
MASK_BLOCK_PX - 1 extra pixels masked beyond the polygon's edge, which errs on the private side.

Faces are looked for on the whole frame and on overlapping tiles: the MediaPipe full-range detector sees a 192x192
version of its input, so on a whole 1280x720 frame it misses faces under ~120 px that it finds on 480 px tiles
(measured on the demo scene with the astronaut's head pasted at 50-120 px). Evidence is written rarely, so the
nine detector calls per 720p frame (whole frame + 8 tiles, ~60 ms on one core) are an acceptable price for the
recall.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from models.types import Box
from vision.observation import Observation, Person
from vision.regions import WindowRegion

logger = logging.getLogger("counterwatch.incidents")

# Mid-grey: neutral in YCbCr (Cb = Cr = 128), so chroma subsampling in JPEG and yuv420p H.264 cannot tint it, and a
# mid level of luma, so neither codec clips it. A flat area of it survives both codecs within a few levels.
MASK_BGR: tuple[int, int, int] = (128, 128, 128)

# Codec block size (JPEG 8x8 DCT, H.264 4x4/8x8 transforms, both aligned to a multiple of 8 from the origin).
MASK_BLOCK_PX = 8

# A detected face box is tight around eyes, nose and mouth; hair, ears and jaw identify a person too.
FACE_GROW = 2.0
# The head backstop for a person box: the top part of the box, at most as tall as the box is wide.
HEAD_FRACTION = 0.3
# Blur: the region is shrunk so that its longer side spans this many pixels, then enlarged again. At 6 samples a
# face keeps its skin tone and nothing that identifies it; the detector no longer finds it (tested).
BLUR_SAMPLES = 6
# Tiles for the face detector: side as a fraction of the frame's shorter side, and their overlap.
TILE_FRACTION = 2.0 / 3.0
TILE_OVERLAP = 0.2
MIN_TILE_PX = 192  # the detector's own input size: smaller tiles add calls without adding resolution


def _centre_in_staff_zone(box: Box, regions: Sequence[WindowRegion], width: int, height: int) -> bool:
    cx, cy = box.center
    return any(region.contains("staff_zone", width, height, cx, cy) for region in regions)


def head_box(person: Person) -> Box:
    """Where a person's head is: the face box when perception measured one, else the top of the person box."""
    if person.face is not None:
        return person.face.box
    box = person.box
    return Box(box.x1, box.y1, box.x2, box.y1 + min(box.height * HEAD_FRACTION, box.width))


def _tiles(width: int, height: int) -> list[tuple[int, int, int, int]]:
    side = max(MIN_TILE_PX, int(round(min(width, height) * TILE_FRACTION)))
    if side >= max(width, height):
        return []
    step = max(1, int(side * (1.0 - TILE_OVERLAP)))

    def starts(extent: int) -> list[int]:
        if side >= extent:
            return [0]
        values = list(range(0, extent - side, step))
        return values + [extent - side]

    return [(x, y, min(width, x + side), min(height, y + side)) for y in starts(height) for x in starts(width)]


def detect_faces(image: np.ndarray, face_detector) -> tuple[Box, ...]:
    """Face boxes on the whole frame and on overlapping tiles, in frame pixels (duplicates are harmless)."""
    height, width = image.shape[:2]
    boxes = [face.box for face in face_detector.detect(image)]
    for x1, y1, x2, y2 in _tiles(width, height):
        tile = np.ascontiguousarray(image[y1:y2, x1:x2])
        boxes.extend(face.box.offset(x1, y1) for face in face_detector.detect(tile))
    return tuple(boxes)


def private_boxes(image: np.ndarray, regions: Sequence[WindowRegion], face_detector,
                  observation: Observation | None = None, *,
                  area: tuple[int, int, int, int] | None = None) -> tuple[Box, ...]:
    """The boxes to blur in `image`: faces and person heads whose centre is outside every staff zone.

    Run this on the raw camera image: annotations drawn over a face can hide it from the detector. `area`
    (x1, y1, x2, y2 in frame pixels) limits the face search to that part of the frame (evidence of one window);
    boxes are in frame pixels either way.
    """
    height, width = image.shape[:2]
    if area is None:
        faces = detect_faces(image, face_detector)
    else:
        x1, y1, x2, y2 = max(0, area[0]), max(0, area[1]), min(width, area[2]), min(height, area[3])
        part = np.ascontiguousarray(image[y1:y2, x1:x2])
        faces = tuple(box.offset(x1, y1) for box in detect_faces(part, face_detector)) if part.size else ()
    candidates = [box.expand(FACE_GROW) for box in faces]
    if observation is not None:
        for person in observation.persons:
            head = head_box(person)
            candidates.append(head.expand(FACE_GROW) if person.face is not None else head)
    out = []
    for box in candidates:
        box = box.clip(width, height)
        if box.width >= 1 and box.height >= 1 and not _centre_in_staff_zone(box, regions, width, height):
            out.append(box)
    return tuple(out)


def _blur(image: np.ndarray, box: Box) -> None:
    x1, y1, x2, y2 = box.to_int()
    roi = image[y1:y2, x1:x2]
    h, w = roi.shape[:2]
    if h == 0 or w == 0:
        return
    scale = BLUR_SAMPLES / max(h, w)
    small = cv2.resize(roi, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    # A Gaussian over the enlarged samples removes the block edges that pixelation leaves (which detectors like).
    big = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    sigma = max(h, w) / (2.0 * BLUR_SAMPLES)
    image[y1:y2, x1:x2] = cv2.GaussianBlur(big, (0, 0), sigma)


def citizen_polygons_mask(regions: Iterable[WindowRegion], width: int, height: int) -> np.ndarray:
    """Boolean (H, W) mask of the union of all citizen-side polygons, exactly as configured."""
    mask = np.zeros((height, width), dtype=np.uint8)
    for region in regions:
        cv2.fillPoly(mask, [region.pixels("citizen_side", width, height)], (255,))
    return mask > 0


def citizen_mask(regions: Iterable[WindowRegion], width: int, height: int) -> np.ndarray:
    """Boolean (H, W) mask of what gets MASK_BGR: the citizen-side polygons grown to whole MASK_BLOCK_PX blocks."""
    return grow_to_blocks(citizen_polygons_mask(regions, width, height))


def grow_to_blocks(exact: np.ndarray) -> np.ndarray:
    """Boolean (H, W) mask: every MASK_BLOCK_PX block (from the origin) that `exact` touches, whole."""
    height, width = exact.shape[:2]
    block = MASK_BLOCK_PX
    rows, cols = -(-height // block), -(-width // block)
    padded = np.zeros((rows * block, cols * block), dtype=bool)
    padded[:height, :width] = exact
    touched = padded.reshape(rows, block, cols, block).any(axis=(1, 3))
    return np.repeat(np.repeat(touched, block, axis=0), block, axis=1)[:height, :width]


def blur_boxes(image: np.ndarray, boxes: Iterable[Box]) -> np.ndarray:
    """A copy of `image` with every box blurred beyond recognition."""
    _check_image(image)
    out = image.copy()
    height, width = out.shape[:2]
    for box in boxes:
        _blur(out, box.clip(width, height))
    return out


def fill_citizen_side(image: np.ndarray, regions: Sequence[WindowRegion]) -> np.ndarray:
    """A copy of `image` with the citizen side (`citizen_mask`) filled with MASK_BGR: the last step before encoding."""
    _check_image(image)
    out = image.copy()
    height, width = out.shape[:2]
    out[citizen_mask(regions, width, height)] = MASK_BGR
    return out


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be an HxWx3 uint8 BGR array, got {getattr(image, 'shape', None)}")


def mask_frame(image: np.ndarray, regions: Sequence[WindowRegion], face_detector,
               observation: Observation | None = None) -> np.ndarray:
    """A copy of `image` fit to store: non-staff faces and heads blurred, then the citizen side filled."""
    return fill_citizen_side(blur_boxes(image, private_boxes(image, regions, face_detector, observation)), regions)
