"""EfficientNet-Lite (uint8-quantised TFLite) ImageNet classifier and embedding through ai-edge-litert."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from models._native_log import native_start_filtered
from models.base import ImageClassifier, check_bgr
from models.manifest import ModelManifest, Runtime, class_names
from models.types import Classification

__all__ = ["EfficientNetLiteClassifier"]


class EfficientNetLiteClassifier(ImageClassifier):
    """Whole-image classifier; the caller passes the crop to classify (a hand, a person).

    ``embed`` returns the pooled features that feed the dense layer, read from the interpreter's preserved
    intermediate tensors, so one invoke serves both outputs.
    """

    type = "efficientnet_litert"
    runtime = Runtime.litert

    def __init__(
        self,
        manifest: ModelManifest,
        files: Sequence[Path],
        *,
        embedding_tensor: str | None = None,
        num_threads: int = 1,
    ) -> None:
        super().__init__(manifest, files)
        if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
            raise ValueError(f"num_threads must be an int >= 1, got {num_threads!r}")
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise ValueError("ai-edge-litert is not installed: pip install ai-edge-litert==2.3.0") from exc
        # native_start_filtered: TFLite announces its XNNPACK delegate on stderr.
        with warnings.catch_warnings(), native_start_filtered():
            # The interpreter warns that preserving intermediates is "for debugging"; it is how the embedding is
            # read without a second model, and costs about 20 MB for this network.
            warnings.filterwarnings("ignore", message=".*experimental_preserve_all_tensors.*")
            self._interpreter = Interpreter(
                model_path=str(self.file("weights")),
                num_threads=num_threads,
                experimental_preserve_all_tensors=embedding_tensor is not None,
            )
            self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]
        _, in_h, in_w, _ = (int(v) for v in self._input["shape"])
        self.input_size = (in_w, in_h)
        self.class_names = class_names(manifest, list(files))
        self._embedding = None
        if embedding_tensor is not None:
            matches = [d for d in self._interpreter.get_tensor_details() if d["name"] == embedding_tensor]
            if not matches:
                raise ValueError(f"embedding_tensor {embedding_tensor!r} is not a tensor of {self.file('weights')}")
            self._embedding = matches[0]

    def _release(self) -> None:
        self._interpreter = None

    @staticmethod
    def _dequantize(values: npt.NDArray[Any], detail: dict[str, Any]) -> npt.NDArray[Any]:
        scale, zero_point = detail["quantization"]
        if scale == 0:  # float tensor
            return values.astype(np.float32)
        dequantized: npt.NDArray[Any] = (values.astype(np.float32) - zero_point) * scale
        return dequantized

    def _invoke(self, image_bgr: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], npt.NDArray[Any] | None]:
        check_bgr(image_bgr)
        rgb = cv2.cvtColor(cv2.resize(image_bgr, self.input_size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
        batch = rgb[None].astype(self._input["dtype"])  # uint8 model: quantisation absorbs the normalisation
        with self._lock:
            self._ensure_open()
            self._interpreter.set_tensor(self._input["index"], batch)
            self._interpreter.invoke()
            scores = self._dequantize(self._interpreter.get_tensor(self._output["index"])[0], self._output)
            features = None
            if self._embedding is not None:
                raw = self._interpreter.get_tensor(self._embedding["index"]).reshape(-1)
                features = self._dequantize(raw, self._embedding)
        return scores, features

    def classify(self, image_bgr: npt.NDArray[Any], *, top_k: int = 5) -> tuple[Classification, ...]:
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"top_k must be an int >= 1, got {top_k!r}")
        scores, _ = self._invoke(image_bgr)
        order = np.argsort(-scores, kind="stable")[:top_k]
        return tuple(
            Classification(self.class_names.get(int(i), f"class_{int(i)}"), int(i),
                           float(np.clip(scores[i], 0.0, 1.0)))
            for i in order
        )

    def embed(self, image_bgr: npt.NDArray[Any]) -> npt.NDArray[Any]:
        if self._embedding is None:
            raise ValueError(f"model {self.name!r} was loaded without an embedding_tensor option")
        _, features = self._invoke(image_bgr)
        assert features is not None
        return features
