"""The accelerator's layers described for the numpy reference model (``driver/reference.py``).

Reads FINN's dataflow graph and writes, per layer, what the reference model needs to compute it: the op, the
tensors it reads and writes (a residual block forks and joins), its integer parameters, and the names of its
weight and threshold arrays. The verifier runs the model in memory; a bundle carries it as ``reference.json`` +
``reference.npz``. A layer without a numpy model yet is listed under ``unsupported`` (the verifier then runs
FINN's own per-sample execution, and the bundle has no reference model to compute with).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hwcompress.compile.finn_compat import generic_layers, import_hw_ops

FORMAT = 2
IDENTITY_OPS = ("StreamingDataWidthConverter", "StreamingFIFO")


def reference_model(accelerator: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The description and arrays of the dataflow graph in ``accelerator`` (FINN's HW-layer ONNX)."""
    from qonnx.core.modelwrapper import ModelWrapper

    import_hw_ops()
    return describe(generic_layers(ModelWrapper(str(accelerator))))


def describe(model) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The description and arrays of a FINN HW-layer graph whose nodes are generic layers (``generic_layers``)."""
    from qonnx.custom_op.registry import getCustomOp

    layers, arrays, unsupported = [], {}, []
    for index, node in enumerate(model.graph.node):
        op = getCustomOp(node)
        if node.op_type == "MVAU":
            thresholds = None if op.get_nodeattr("noActivation") else f"{index}_thresholds"
            out_scale, out_bias = output_activation(op)
            bipolar_operands = op.get_nodeattr("inputDataType") == op.get_nodeattr("weightDataType") == "BIPOLAR"
            layers.append(
                {
                    "op": "MVAU",
                    "name": node.name,
                    "vectors": list(op.get_nodeattr("numInputVectors")),
                    "weights": f"{index}_weights",
                    "thresholds": thresholds,
                    "xnor": bool(op.get_nodeattr("binaryXnorMode")) or bipolar_operands,
                    "bipolar_operands": bipolar_operands and not op.get_nodeattr("binaryXnorMode"),
                    "out_scale": out_scale,
                    "out_bias": out_bias,
                }
            )
            arrays[f"{index}_weights"] = model.get_initializer(node.input[1]).astype(np.int64)
            if thresholds:
                arrays[thresholds] = _thresholds(model, node.input[2])
        elif node.op_type == "VVAU":
            thresholds = None if op.get_nodeattr("noActivation") else f"{index}_thresholds"
            out_scale, out_bias = output_activation(op)
            producer = model.find_producer(node.input[0])
            from_windows = producer is not None and producer.op_type == "ConvolutionInputGenerator"
            layers.append(
                {
                    "op": "VVAU",
                    "name": node.name,
                    "weights": f"{index}_weights",
                    "thresholds": thresholds,
                    "pe": op.get_nodeattr("Channels") if from_windows else op.get_nodeattr("PE"),
                    "bipolar_operands": op.get_nodeattr("inputDataType")
                    == op.get_nodeattr("weightDataType")
                    == "BIPOLAR",
                    "out_scale": out_scale,
                    "out_bias": out_bias,
                }
            )
            weights = model.get_initializer(node.input[1])
            arrays[f"{index}_weights"] = weights.reshape(len(weights), -1).astype(np.int64)
            if thresholds:
                arrays[thresholds] = _thresholds(model, node.input[2])
        elif node.op_type == "Thresholding":
            out_scale, out_bias = output_activation(op)
            layers.append(
                {
                    "op": "Thresholding",
                    "name": node.name,
                    "thresholds": f"{index}_thresholds",
                    "out_scale": out_scale,
                    "out_bias": out_bias,
                    "float_input": not op.get_input_datatype(0).is_integer(),
                }
            )
            arrays[f"{index}_thresholds"] = _thresholds(model, node.input[1])
        elif node.op_type == "ConvolutionInputGenerator":
            layers.append(
                {
                    "op": node.op_type,
                    "name": node.name,
                    "kernel": list(op.get_nodeattr("ConvKernelDim")),
                    "stride": list(op.get_nodeattr("Stride")),
                    "dilation": list(op.get_nodeattr("Dilation")),
                    "out_dim": list(op.get_nodeattr("OFMDim")),
                }
            )
        elif node.op_type == "Pool" and op.get_nodeattr("Function") in ("MaxPool", "QuantAvgPool"):
            layers.append(
                {
                    "op": "Pool",
                    "name": node.name,
                    "function": op.get_nodeattr("Function"),
                    "channels": op.get_nodeattr("Channels"),
                    "shift": _average_shift(op),
                }
            )
        elif node.op_type == "FMPadding":
            layers.append({"op": "FMPadding", "name": node.name, "padding": list(op.get_nodeattr("Padding"))})
        elif node.op_type == "Reshape":
            layers.append({"op": "Reshape", "name": node.name, "shape": list(op.get_nodeattr("out_shape"))})
        elif node.op_type == "Shuffle" and op.get_nodeattr("perm")[0] == 0:
            layers.append(
                {
                    "op": "Shuffle",
                    "name": node.name,
                    "transpose_in_shape": list(op.get_nodeattr("transpose_in_shape")),
                    "perm": list(op.get_nodeattr("perm")),
                    "out_shape": list(op.get_nodeattr("out_shape")),
                }
            )
        elif node.op_type in IDENTITY_OPS or node.op_type == "DuplicateStreams":
            layers.append({"op": node.op_type, "name": node.name})
        elif node.op_type == "ElementwiseAdd" and all(model.get_initializer(name) is None for name in node.input):
            layers.append({"op": "ElementwiseAdd", "name": node.name})
        else:
            unsupported.append(node.op_type)
            continue
        layers[-1]["inputs"] = [name for name in node.input if model.get_initializer(name) is None]
        layers[-1]["outputs"] = list(node.output)
    description = {
        "format": FORMAT,
        "input": model.graph.input[0].name,
        "output": model.graph.output[0].name,
        "layers": layers,
        "unsupported": sorted(set(unsupported)),
    }
    return description, arrays


def output_activation(op) -> tuple[int, int]:
    """The (scale, bias) that turn a layer's threshold count into its output values, as FINN's Python model of
    MVAU, VVAU and Thresholding applies them (a bipolar output is 2 x count - 1)."""
    bipolar = op.get_nodeattr("outputDataType") == "BIPOLAR"
    act_val = op.get_nodeattr("ActVal")
    if op.onnx_node.op_type.startswith("Thresholding"):
        return (2, 2 * act_val - 1) if bipolar else (1, act_val)
    return (2, -1) if bipolar else (1, act_val)


def _thresholds(model, name: str) -> np.ndarray:
    """Thresholds as stored: float32 where that holds them exactly, float64 where it does not (beyond 2**24)."""
    values = model.get_initializer(name)
    narrow = values.astype(np.float32)
    return narrow if np.array_equal(narrow, values) else values.astype(np.float64)


def _average_shift(op) -> int:
    """The right shift of FINN's QuantAvgPool: the window sum's bit width beyond the output's."""
    window = op.get_nodeattr("KernelSize")[0] * op.get_nodeattr("KernelSize")[1]
    widest = ((1 << op.get_input_datatype().bitwidth()) - 1) * window
    return max(0, widest.bit_length() - op.get_output_datatype().bitwidth())
