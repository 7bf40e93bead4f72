"""Small ONNX graphs that stand in for exported YOLO models: they consume the (1, 3, H, W) input and emit a
constant output in the real layout, so the real onnxruntime runtimes decode known boxes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def constant_output_model(path: Path, output: np.ndarray, input_shape: list[int | str]) -> Path:
    """Write an ONNX model whose output is ``output`` + 0 * sum(images); ORT checks the input shape."""
    images = helper.make_tensor_value_info("images", TensorProto.FLOAT, input_shape)
    result = helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(output.shape))
    nodes = [
        helper.make_node("ReduceSum", ["images"], ["total"], keepdims=0),
        helper.make_node("Mul", ["total", "zero"], ["nothing"]),
        helper.make_node("Add", ["raw", "nothing"], ["output0"]),
    ]
    initializers = [
        numpy_helper.from_array(output.astype(np.float32), "raw"),
        numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
    ]
    graph = helper.make_graph(nodes, "yolo_stub", [images], [result], initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def to_letterbox(box: tuple[float, float, float, float], ratio: float, pad_x: float, pad_y: float):
    x1, y1, x2, y2 = box
    return (x1 * ratio + pad_x, y1 * ratio + pad_y, x2 * ratio + pad_x, y2 * ratio + pad_y)


def cxcywh(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = box
    return ((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1)
