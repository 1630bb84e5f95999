"""Batched numpy versions of FINN layers whose Python model takes one sample at a time.

FINN executes ConvolutionInputGenerator through qonnx's Im2Col, which assumes batch 1. Here the same windows
are cut from a whole batch at once (NHWC in, each output pixel's window in kernel row, kernel column, channel
order out, as Im2Col lays it out); tests check every layer against FINN's per-sample execution bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def sliding_windows(op, x: np.ndarray) -> np.ndarray:
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


#: Generic op type -> ``run(custom_op, batch) -> batch``.
NUMPY_LAYERS: dict[str, Callable] = {"ConvolutionInputGenerator": sliding_windows}
