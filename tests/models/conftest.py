"""Shared fixtures: real photos and each real model loaded once per test session."""

from __future__ import annotations

import socket

import cv2
import numpy as np
import pytest
from skimage import data

from models import (
    FaceDetector,
    FaceMesher,
    HandLandmarker,
    ImageClassifier,
    MarkerDetector,
    ObjectDetector,
    PoseEstimator,
    TextReader,
    load_manifests,
    load_model,
)


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    image.setflags(write=False)  # a runtime that wrote into its input would fail here
    return image


@pytest.fixture(scope="session")
def coffee() -> np.ndarray:
    image = cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR)
    image.setflags(write=False)
    return image


@pytest.fixture(scope="session")
def manifests():
    return load_manifests()


@pytest.fixture(scope="session")
def ssd(manifests):
    with load_model("ssd_mobilenet_v2_coco", manifests, expect=ObjectDetector) as runtime:
        yield runtime


@pytest.fixture(scope="session")
def mp_pose(manifests):
    with load_model("mediapipe_pose", manifests, expect=PoseEstimator) as runtime:
        yield runtime


@pytest.fixture(scope="session")
def face_detector(manifests):
    with load_model("mediapipe_face_detection", manifests, expect=FaceDetector) as runtime:
        yield runtime


@pytest.fixture(scope="session")
def face_mesher(manifests):
    with load_model("mediapipe_face_mesh", manifests, expect=FaceMesher) as runtime:
        yield runtime


@pytest.fixture(scope="session")
def hands(manifests):
    with load_model("mediapipe_hands", manifests, expect=HandLandmarker) as runtime:
        yield runtime


@pytest.fixture(scope="session")
def markers(manifests):
    with load_model("aruco_4x4_50", manifests, expect=MarkerDetector) as runtime:
        yield runtime


@pytest.fixture(scope="session")
def ocr(manifests):
    with load_model("rapidocr_ppocr", manifests, expect=TextReader) as runtime:
        yield runtime


@pytest.fixture(scope="session")
def classifier(manifests):
    with load_model("efficientnet_lite3", manifests, expect=ImageClassifier) as runtime:
        yield runtime


@pytest.fixture(scope="session")
def astronaut_person(ssd, astronaut):
    people = [d for d in ssd.detect(astronaut, min_score=0.5) if d.label == "person"]
    assert people, "SSD found no person in the astronaut photo"
    return people[0]


@pytest.fixture(scope="session")
def astronaut_pose(mp_pose, astronaut):
    poses = mp_pose.estimate(astronaut)
    assert len(poses) == 1
    return poses[0]


@pytest.fixture(scope="session")
def astronaut_face(face_detector, astronaut):
    faces = face_detector.detect(astronaut)
    assert len(faces) == 1, faces
    return faces[0]


@pytest.fixture()
def no_network(monkeypatch):
    """Name lookups and connections fail at once and are recorded (never hang): ultralytics must never go online
    (no downloads, no auto-install, no analytics). Returns the list of attempts."""
    attempts: list[str] = []

    def refuse(*args, **kwargs):
        attempts.append(repr(args[:2]))
        raise OSError("network is off in this test")

    for owner, attribute in ((socket, "getaddrinfo"), (socket, "create_connection"), (socket.socket, "connect"),
                             (socket.socket, "connect_ex")):
        monkeypatch.setattr(owner, attribute, refuse)
    monkeypatch.delenv("ULTRALYTICS_API_KEY", raising=False)
    return attempts
