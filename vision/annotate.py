"""Draw an Observation on its frame (for `counterwatch detect --annotate` and evidence snapshots)."""
from __future__ import annotations

from typing import Any

import cv2
import numpy.typing as npt

from vision.observation import Observation
from vision.regions import WindowRegion

_LIMBS = (("left_shoulder", "right_shoulder"), ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
          ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"), ("left_shoulder", "left_hip"),
          ("right_shoulder", "right_hip"), ("left_hip", "right_hip"), ("nose", "left_eye"), ("nose", "right_eye"),
          ("left_eye", "left_ear"), ("right_eye", "right_ear"))


def _pt(x: float, y: float) -> tuple[int, int]:
    return int(round(x)), int(round(y))


def annotate(image: npt.NDArray[Any], observation: Observation,
             regions: tuple[WindowRegion, ...] = ()) -> npt.NDArray[Any]:
    """A copy of `image` with zones, people, keypoints, faces, hands, objects and sign state drawn on it."""
    out = image.copy()
    height, width = out.shape[:2]
    for region in regions:
        cv2.polylines(out, [region.pixels("staff_zone", width, height)], True, (0, 200, 0), 2)
        cv2.polylines(out, [region.pixels("citizen_side", width, height)], True, (160, 160, 160), 1)
        sign = observation.sign(region.window_id)
        colour = (0, 0, 255) if sign is not None and sign.visible else (0, 200, 255)
        cv2.polylines(out, [region.pixels("sign_region", width, height)], True, colour, 1)
        x, y = region.pixels("staff_zone", width, height).min(axis=0)
        label = region.window_id + (" PAUSE SIGN" if sign is not None and sign.visible else "")
        cv2.putText(out, label, (int(x) + 4, int(y) + 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 200, 0), 2)
    for obj in observation.objects:
        b = obj.box
        cv2.rectangle(out, _pt(b.x1, b.y1), _pt(b.x2, b.y2), (255, 128, 0), 2)
        cv2.putText(out, f"{obj.label} {obj.score:.2f}", _pt(b.x1, max(12, b.y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.5, (255, 128, 0), 1)
    for person in observation.persons:
        b = person.box
        cv2.rectangle(out, _pt(b.x1, b.y1), _pt(b.x2, b.y2), (0, 255, 255), 2)
        text = f"person {person.score:.2f}"
        if person.eye_aspect_ratio is not None:
            text += f" ear {person.eye_aspect_ratio:.2f}"
        if person.head_pitch_deg is not None:
            text += f" pitch {person.head_pitch_deg:+.0f}"
        cv2.putText(out, text, _pt(b.x1, max(12, b.y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 255, 255), 1)
        if person.pose is not None:
            for a, c in _LIMBS:
                ka, kc = person.pose.get(a, 0.5), person.pose.get(c, 0.5)
                if ka and kc:
                    cv2.line(out, _pt(ka.x, ka.y), _pt(kc.x, kc.y), (255, 0, 255), 2)
            for k in person.pose.keypoints:
                if k.score >= 0.5:
                    cv2.circle(out, _pt(k.x, k.y), 3, (255, 0, 255), -1)
        if person.face is not None:
            f = person.face.box
            cv2.rectangle(out, _pt(f.x1, f.y1), _pt(f.x2, f.y2), (0, 128, 255), 1)
        for hand in person.hands:
            for x, y, _ in hand.landmarks:
                cv2.circle(out, _pt(x, y), 2, (0, 255, 0), -1)
    return out
