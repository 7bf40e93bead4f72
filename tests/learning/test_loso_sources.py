"""The public-data builders: phones_handheld frames of one scene share a group; labels follow the YOLO classes."""
from __future__ import annotations

import cv2
import numpy as np

from counterwatch.learning.loso import phones_samples


def test_phones_handheld_layout_groups_neighbouring_frames(tmp_path):
    split = tmp_path / "train"
    (split / "images").mkdir(parents=True)
    (split / "labels").mkdir()
    for frame, cls in ((3, 1), (7, 2), (45, 0), (46, None)):
        name = f"opencv_frame_{frame}_png.rf.abc{frame}"
        cv2.imwrite(str(split / "images" / f"{name}.jpg"), np.zeros((8, 8, 3), np.uint8))
        (split / "labels" / f"{name}.txt").write_text("" if cls is None else f"{cls} 0.5 0.5 0.2 0.2\n")
    by_frame = {int(s.image.name.split("_")[2]): s for s in phones_samples(tmp_path)}
    assert {f: s.label for f, s in by_frame.items()} == {3: "phone_use", 7: "none", 45: "none", 46: "none"}
    assert by_frame[3].group == by_frame[7].group != by_frame[45].group == by_frame[46].group
