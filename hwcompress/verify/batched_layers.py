"""Batched numpy versions of FINN layers whose Python model takes one sample at a time.

FINN executes ConvolutionInputGenerator through qonnx's Im2Col, which assumes batch 1. Here the same windows
are cut from a whole batch at once (NHWC in, each output pixel's window in kernel row, kernel column, channel
order out, as Im2Col lays it out). FINN's VVAU (depthwise convolution) reshapes to batch 1 and multiplies by a
dense (channels x kernel, channels) matrix that is almost all zeros; here each channel's window meets its own
filter. Tests check every layer against FINN's per-sample execution bit for bit.

Each function takes the custom op, the graph and the node's input values, and returns its output.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def sliding_windows(op, model, x: np.ndarray) -> np.ndarray:
    """ConvolutionInputGenerator (depthwise or not: FINN's Python model lays both out the same way)."""
    (kh, kw), (sh, sw), (dh, dw) = (op.get_nodeattr(name) for name in ("ConvKernelDim", "Stride", "Dilation"))
    oh, ow = op.get_nodeattr("OFMDim")
    x = x.reshape(len(x), *op.get_nodeattr("IFMDim"), op.get_nodeattr("IFMChannels"))
    windows = [
        x[:, a * dh : a * dh + (oh - 1) * sh + 1 : sh, b * dw : b * dw + (ow - 1) * sw + 1 : sw, :]
        for a in range(kh)
        for b in range(kw)
    ]
    return np.stack(windows, axis=3).reshape(len(x), oh, ow, -1)


def vector_vector(op, model, x: np.ndarray, weights: np.ndarray, thresholds: np.ndarray | None = None) -> np.ndarray:
    """VVAU: each channel's window (kernel positions x channels, PE-interleaved) times its filter, thresholded."""
    from qonnx.custom_op.general.multithreshold import multithreshold

    (kh, kw), channels = op.get_nodeattr("Kernel"), op.get_nodeattr("Channels")
    producer = model.find_producer(op.onnx_node.input[0])
    pe = channels if producer is not None and producer.op_type == "ConvolutionInputGenerator" else op.get_nodeattr("PE")
    n, h, w = x.shape[:3]
    windows = x.reshape(n, h, w, channels // pe, kh * kw, pe).transpose(0, 1, 2, 4, 3, 5)
    filters = weights.reshape(channels, kh * kw).T.reshape(kh * kw, channels // pe, pe)
    result = np.einsum("nhwkgp,kgp->nhwgp", windows, filters).reshape(n, h, w, channels)
    if op.get_nodeattr("inputDataType") == op.get_nodeattr("weightDataType") == "BIPOLAR":
        result = (result + kh * kw) / 2
    if op.get_nodeattr("noActivation"):
        return result
    bipolar_out = op.get_nodeattr("outputDataType") == "BIPOLAR"
    nchw = result.transpose(0, 3, 1, 2)
    out = multithreshold(nchw, thresholds, 2 if bipolar_out else 1, -1 if bipolar_out else op.get_nodeattr("ActVal"))
    return out.transpose(0, 2, 3, 1)


#: Generic op type -> ``run(custom_op, model, *input values) -> output``.
NUMPY_LAYERS: dict[str, Callable] = {"ConvolutionInputGenerator": sliding_windows, "VVAU": vector_vector}
