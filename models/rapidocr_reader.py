"""RapidOCR (PP-OCRv4 det + cls + rec, ONNX) text reader."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from models.base import TextReader, check_bgr
from models.manifest import ModelManifest, Runtime
from models.types import TextLine

__all__ = ["RapidOcrTextReader"]


class RapidOcrTextReader(TextReader):
    """Reads text lines; lines scoring below ``min_score`` are dropped by RapidOCR itself.

    Pass the sign region, not a whole camera frame: with the default ``det_limit_type="max"`` a large image is
    shrunk until its long side is ``det_limit_side_len``, and small characters are lost.
    """

    type = "rapidocr"
    runtime = Runtime.rapidocr

    def __init__(
        self,
        manifest: ModelManifest,
        files: Sequence[Path],
        *,
        min_score: float = 0.5,
        num_threads: int = -1,
        det_limit_type: str = "max",
        det_limit_side_len: int = 960,
    ) -> None:
        super().__init__(manifest, files)
        if isinstance(min_score, bool) or not isinstance(min_score, (int, float)) or not 0.0 <= min_score <= 1.0:
            raise ValueError(f"min_score must be a number in [0, 1], got {min_score!r}")
        if isinstance(num_threads, bool) or not isinstance(num_threads, int) or not (
                num_threads == -1 or num_threads >= 1):
            raise ValueError(f"num_threads must be -1 (onnxruntime default) or an int >= 1, got {num_threads!r}")
        if det_limit_type not in ("max", "min"):
            raise ValueError(f"det_limit_type must be 'max' or 'min', got {det_limit_type!r}")
        side = det_limit_side_len
        if isinstance(side, bool) or not isinstance(side, int) or not 32 <= side <= 4096:
            raise ValueError(f"det_limit_side_len must be an int in 32..4096, got {det_limit_side_len!r}")
        from rapidocr_onnxruntime import RapidOCR  # imported here: it loads onnxruntime sessions eagerly

        # The verified files are passed explicitly so RapidOCR cannot pick up different ones.
        self._engine = RapidOCR(
            det_model_path=str(self.file("det")),
            cls_model_path=str(self.file("cls")),
            rec_model_path=str(self.file("rec")),
            text_score=float(min_score),
            intra_op_num_threads=num_threads,
            # RapidOCR's default (short side scaled up to 736) turns a 120x640 sign strip into 736x3925: ~1 s
            # and lines split apart. Capping the long side at 960 read our rendered signs better in ~0.1 s.
            det_limit_type=det_limit_type,
            det_limit_side_len=det_limit_side_len,
        )
        # RapidOCR attaches its own DEBUG stream handlers; route its records through the application's logging.
        for name in ("RapidOCR", "OrtInferSession"):
            rapid_logger = logging.getLogger(name)
            rapid_logger.handlers.clear()
            rapid_logger.setLevel(logging.WARNING)
            rapid_logger.propagate = True
        self.min_score = float(min_score)

    def _release(self) -> None:
        self._engine = None

    def read(self, image_bgr: npt.NDArray[Any]) -> tuple[TextLine, ...]:
        check_bgr(image_bgr)
        with self._lock:
            self._ensure_open()
            result, _elapsed = self._engine(image_bgr)
        lines = []
        for polygon, text, score in result or ():
            lines.append(TextLine(text=str(text), score=float(min(max(float(score), 0.0), 1.0)),
                                  polygon=np.asarray(polygon, dtype=np.float32).reshape(4, 2)))
        return tuple(lines)
