"""Batched numpy versions of FINN layers whose Python model takes one sample at a time.

FINN executes ConvolutionInputGenerator through qonnx's Im2Col, which assumes batch 1. Here the same windows
are cut from a whole batch at once (NHWC in, each output pixel's window in kernel row, kernel column, channel
order out, as Im2Col lays it out). FINN's VVAU (depthwise convolution) reshapes to batch 1 and multiplies by a
dense (channels x kernel, channels) matrix that is almost all zeros; here each channel's window meets its own
filter. MVAU multiplies the whole batch as one matrix. MVAU, VVAU and Thresholding count the thresholds each
value reaches one threshold column at a time, or by a binary search per channel where there are many (qonnx's
multithreshold builds a value x threshold comparison array). Tests check every layer against FINN's per-sample
execution bit for bit.

Each function takes the custom op, the graph and the node's input values, and returns its output.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: Above this many thresholds per channel, a binary search beats comparing with each.
MANY_THRESHOLDS = 16


def sliding_windows(op, model, x: np.ndarray) -> np.ndarray:
    """ConvolutionInputGenerator (depthwise or not: FINN's Python model lays both out the same way).

    Each kernel position's shifted view is copied into its place in one preallocated array (2-3x faster than
    stacking the views).
    """
    (kh, kw), (sh, sw), (dh, dw) = (op.get_nodeattr(name) for name in ("ConvKernelDim", "Stride", "Dilation"))
    oh, ow = op.get_nodeattr("OFMDim")
    channels = op.get_nodeattr("IFMChannels")
    x = x.reshape(len(x), *op.get_nodeattr("IFMDim"), channels)
    windows = np.empty((len(x), oh, ow, kh, kw, channels), dtype=x.dtype)
    for a in range(kh):
        for b in range(kw):
            windows[:, :, :, a, b, :] = x[
                :, a * dh : a * dh + (oh - 1) * sh + 1 : sh, b * dw : b * dw + (ow - 1) * sw + 1 : sw
            ]
    return windows.reshape(len(x), oh, ow, -1)


def thresholded(values: np.ndarray, thresholds: np.ndarray, out_scale: float, out_bias: float) -> np.ndarray:
    """qonnx's multithreshold on channels-last ``values``: how many of its channel's thresholds (one row per
    channel, or one row for all) each value reaches, times ``out_scale``, plus ``out_bias``; float32.

    Few thresholds (low bit widths): one vectorized comparison per threshold column. Many: a binary search per
    channel over that channel's values.
    """
    rows = np.sort(thresholds, axis=1)
    if rows.shape[1] <= MANY_THRESHOLDS:
        counts = np.zeros(values.shape, dtype=np.float32)
        for column in rows.T:
            counts += values >= column
    else:
        flat = np.moveaxis(values, -1, 0).reshape(values.shape[-1], -1)
        found = [np.searchsorted(rows[c if len(rows) > 1 else 0], flat[c], side="right") for c in range(len(flat))]
        counts = np.moveaxis(np.stack(found).reshape(values.shape[-1], *values.shape[:-1]), 0, -1).astype(np.float32)
    return counts * np.float32(out_scale) + np.float32(out_bias)


def output_activation(op) -> tuple[int, int]:
    """The (scale, bias) that turn a layer's threshold count into its output values, as FINN's Python model of
    MVAU, VVAU and Thresholding applies them (a bipolar output is 2 x count - 1)."""
    bipolar = op.get_nodeattr("outputDataType") == "BIPOLAR"
    act_val = op.get_nodeattr("ActVal")
    if op.onnx_node.op_type.startswith("Thresholding"):
        return (2, 2 * act_val - 1) if bipolar else (1, act_val)
    return (2, -1) if bipolar else (1, act_val)


def matrix_vector(op, model, x: np.ndarray, weights: np.ndarray, thresholds: np.ndarray | None = None) -> np.ndarray:
    """MVAU: FINN's matrix product (XNOR-popcount for binary operands), then the thresholds."""
    from qonnx.custom_op.general.xnorpopcount import xnorpopcountmatmul

    x = x.reshape(op.get_normal_input_shape())
    if op.get_nodeattr("binaryXnorMode"):
        result = xnorpopcountmatmul(x, weights)
    elif op.get_nodeattr("inputDataType") == op.get_nodeattr("weightDataType") == "BIPOLAR":
        result = xnorpopcountmatmul((x + 1) / 2, (weights + 1) / 2)
    else:  # one matrix product for the whole batch (numpy multiplies a 4D array matrix by matrix)
        result = np.matmul(x.reshape(-1, x.shape[-1]), weights).reshape(*x.shape[:-1], weights.shape[-1])
    if op.get_nodeattr("noActivation"):
        return result
    return thresholded(result, thresholds, *output_activation(op))


def threshold_layer(op, model, x: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Thresholding: the thresholds alone, channels last."""
    return thresholded(x, thresholds, *output_activation(op))


def vector_vector(op, model, x: np.ndarray, weights: np.ndarray, thresholds: np.ndarray | None = None) -> np.ndarray:
    """VVAU: each channel's window (kernel positions x channels, PE-interleaved) times its filter, thresholded."""
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
    return thresholded(result, thresholds, *output_activation(op))


#: Generic op type -> ``run(custom_op, model, *input values) -> output``.
NUMPY_LAYERS: dict[str, Callable] = {
    "ConvolutionInputGenerator": sliding_windows,
    "MVAU": matrix_vector,
    "Thresholding": threshold_layer,
    "VVAU": vector_vector,
}
