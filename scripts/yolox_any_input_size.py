"""Make a YOLOX ONNX export accept any input height and width (multiples of 32), changing nothing else.

YOLOX's graph has no fixed spatial size inside (its upsampling uses scales, its head flattens with -1); only the
declared input `images` [1, 3, 416, 416] and output [1, 3549, 85] are fixed. This rewrites those two declarations to
[1, 3, H, W] and [1, N, 85], so the detector can feed a window crop at 416 on its long side without padding the short
side up to 416 (models/yolox_onnx.py, option `rect`). Weights, operators and attributes are byte for byte the same.

    python scripts/yolox_any_input_size.py ../shared/models/yolox_nano.onnx models/weights/yolox_nano.onnx

Needs the `onnx` package (the test extra installs it).
"""
from __future__ import annotations

import argparse
import hashlib
from pathlib import Path


def main() -> None:
    import onnx

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="the YOLOX ONNX export, input [1, 3, H, W] fixed")
    parser.add_argument("out", type=Path, help="where to write the export with a free input height and width")
    args = parser.parse_args()
    model = onnx.load(str(args.source))
    graph = model.graph
    if len(graph.input) != 1 or len(graph.output) != 1:
        raise SystemExit(f"{args.source}: expected one input and one output, got {len(graph.input)} and "
                         f"{len(graph.output)}")
    dims = graph.input[0].type.tensor_type.shape.dim
    if len(dims) != 4 or dims[1].dim_value != 3:
        raise SystemExit(f"{args.source}: input is not [1, 3, H, W]")
    dims[2].dim_param, dims[3].dim_param = "height", "width"
    out_dims = graph.output[0].type.tensor_type.shape.dim
    if len(out_dims) != 3:
        raise SystemExit(f"{args.source}: output is not [1, N, 5 + classes]")
    out_dims[1].dim_param = "cells"
    onnx.checker.check_model(model)
    args.out.write_bytes(model.SerializeToString())
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"{args.out}: {args.out.stat().st_size} bytes, sha256 {digest}")  # noqa: T201


if __name__ == "__main__":
    main()
