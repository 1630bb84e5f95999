"""Batched execution of a QONNX graph with qonnx's own executor."""

from __future__ import annotations

import numpy as np
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.transformation.change_batchsize import ChangeBatchSize
from qonnx.transformation.infer_shapes import InferShapes

CHUNK = 500


def execute_qonnx(model: ModelWrapper, inputs: np.ndarray, chunk: int = CHUNK) -> np.ndarray:
    """The graph's output for every row of ``inputs`` (N, ...), ``chunk`` rows per execution."""
    in_name, out_name = model.graph.input[0].name, model.graph.output[0].name
    batched: dict[int, ModelWrapper] = {}
    outputs = []
    for first in range(0, len(inputs), chunk):
        part = inputs[first : first + chunk].astype(np.float32)
        if len(part) not in batched:
            batched[len(part)] = model.transform(ChangeBatchSize(len(part))).transform(InferShapes())
        outputs.append(execute_onnx(batched[len(part)], {in_name: part})[out_name])
    return np.concatenate(outputs)
