"""Observation -> plain JSON-ready dicts (for `counterwatch detect --json` and logs)."""
from __future__ import annotations

from typing import Any

from models.types import Box, Detection, Face, Hand, Pose
from vision.observation import Observation, Person


def _box(box: Box) -> list[float]:
    return [round(box.x1, 1), round(box.y1, 1), round(box.x2, 1), round(box.y2, 1)]


def _pose(pose: Pose) -> dict[str, Any]:
    return {"score": round(pose.score, 3),
            "keypoints": {k.name: [round(k.x, 1), round(k.y, 1), round(k.score, 3)] for k in pose.keypoints}}


def _face(face: Face) -> dict[str, Any]:
    return {"box": _box(face.box), "score": round(face.score, 3),
            "keypoints": {k.name: [round(k.x, 1), round(k.y, 1)] for k in face.keypoints}}


def _hand(hand: Hand) -> dict[str, Any]:
    return {"handedness": hand.handedness, "score": round(hand.score, 3), "box": _box(hand.box),
            "landmarks": [[round(float(x), 1), round(float(y), 1)] for x, y, _ in hand.landmarks]}


def _object(detection: Detection) -> dict[str, Any]:
    return {"label": detection.label, "class_id": detection.class_id, "score": round(detection.score, 3),
            "box": _box(detection.box)}


def _person(person: Person) -> dict[str, Any]:
    return {
        "box": _box(person.box), "score": round(person.score, 3), "window": person.window_id,
        "pose": _pose(person.pose) if person.pose else None,
        "face": _face(person.face) if person.face else None,
        "eye_aspect_ratio": None if person.eye_aspect_ratio is None else round(person.eye_aspect_ratio, 3),
        "head_pitch_deg": None if person.head_pitch_deg is None else round(person.head_pitch_deg, 1),
        "hands": [_hand(h) for h in person.hands],
    }


def observation_to_dict(observation: Observation) -> dict[str, Any]:
    return {
        "camera": observation.camera_id, "frame": observation.frame_index, "ts": observation.ts,
        "wall_time": observation.wall_time.isoformat(), "width": observation.width, "height": observation.height,
        "persons": [_person(p) for p in observation.persons],
        "objects": [_object(o) for o in observation.objects],
        "signs": [{"window": s.window_id, "checked": s.checked, "visible": s.visible, "marker_seen": s.marker_seen,
                   "text_confirmed": s.text_confirmed, "text": s.text} for s in observation.signs],
        "motion": [{"window": m.window_id, "score": round(m.score, 4), "analysed": m.analysed}
                   for m in observation.motion],
        "timings_ms": [[name, round(ms, 1)] for name, ms in observation.timings_ms],
    }
