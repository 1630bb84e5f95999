"""The accelerator's integer reference model: numpy alone computes what the dataflow layers compute.

A bundle describes the accelerator's layers in ``reference.json`` (op, the tensors it reads and writes,
attributes, array names) and holds their weights and thresholds in ``reference.npz``. ``ReferenceModel.run``
takes the integer inputs of a batch and returns the integer outputs, layer by layer in graph order, as FINN's
Python model of each layer does it, in exact integer arithmetic. The simulated board computes with it; on a
real board, ``validate`` uses it as a self-check.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

FORMAT = 2


class ReferenceModel:
    """The layers of one accelerator; ``supported`` is False when a layer has no numpy model yet."""

    def __init__(self, description: dict, arrays: dict) -> None:
        if description.get("format") != FORMAT:
            raise ValueError(f"reference model format {description.get('format')!r}; this driver reads {FORMAT}")
        self.description = description
        self.layers = description["layers"]
        self.arrays = arrays

    @classmethod
    def load(cls, json_path: Path, npz_path: Path) -> ReferenceModel:
        with np.load(npz_path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        return cls(json.loads(Path(json_path).read_text()), arrays)

    @property
    def supported(self) -> bool:
        return not self.description.get("unsupported")

    def run(self, inputs: np.ndarray) -> np.ndarray:
        """Integer outputs (int64, shape (N, *output shape[1:])) for integer ``inputs`` (N, *input shape[1:])."""
        if not self.supported:
            raise ValueError(f"no numpy model for {', '.join(self.description['unsupported'])}")
        tensors = {self.description["input"]: np.asarray(inputs).astype(np.int64)}
        for layer in self.layers:
            result = LAYERS[layer["op"]](self, layer, *(tensors[name] for name in layer["inputs"]))
            results = result if isinstance(result, tuple) else (result,)
            tensors.update(zip(layer["outputs"], results, strict=True))
        return tensors[self.description["output"]]


def _reshape(model: ReferenceModel, layer: dict, x: np.ndarray) -> np.ndarray:
    return x.reshape(len(x), *layer["shape"][1:])


def _identity(model: ReferenceModel, layer: dict, x: np.ndarray) -> np.ndarray:
    return x


def _shuffle(model: ReferenceModel, layer: dict, x: np.ndarray) -> np.ndarray:
    """Reshape, transpose (the batch axis stays first), reshape."""
    x = x.reshape(len(x), *layer["transpose_in_shape"][1:]).transpose(layer["perm"])
    return x.reshape(len(x), *layer["out_shape"][1:])


def _duplicate(model: ReferenceModel, layer: dict, x: np.ndarray) -> tuple[np.ndarray, ...]:
    return (x,) * len(layer["outputs"])


def _add(model: ReferenceModel, layer: dict, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a + b


def _threshold(x: np.ndarray, thresholds: np.ndarray, scale: int, bias: int) -> np.ndarray:
    """How many of its channel's thresholds each value reaches (channels last), times ``scale``, plus ``bias``."""
    reached = (x[..., None] >= thresholds.astype(np.float64)).sum(axis=-1)
    return reached.astype(np.int64) * scale + bias


def _mvau(model: ReferenceModel, layer: dict, x: np.ndarray) -> np.ndarray:
    weights = model.arrays[layer["weights"]].astype(np.int64)
    rows = x.reshape(-1, weights.shape[0])
    if layer["xnor"]:  # binary (0/1) operands stand for bipolar ones: count the agreeing bits
        if layer["bipolar_operands"]:
            rows, weights = (rows + 1) // 2, (weights + 1) // 2
        result = rows @ weights + (1 - rows) @ (1 - weights)
    else:
        result = rows @ weights
    result = result.reshape(len(x), *layer["vectors"][1:], weights.shape[1])
    if layer["thresholds"] is None:
        return result
    return _threshold(result, model.arrays[layer["thresholds"]], layer["out_scale"], layer["out_bias"])


def _vvau(model: ReferenceModel, layer: dict, x: np.ndarray) -> np.ndarray:
    """Depthwise convolution: each channel's window times its own filter (``verify/batched_layers.py`` on the host)."""
    weights = model.arrays[layer["weights"]].astype(np.int64)  # (channels, kernel positions)
    channels, positions = weights.shape
    pe = layer["pe"]
    windows = x.reshape(*x.shape[:-1], channels // pe, positions, pe).swapaxes(-3, -2)
    filters = weights.T.reshape(positions, channels // pe, pe)
    result = (windows * filters).sum(axis=-3).reshape(*x.shape[:-1], channels)
    if layer["bipolar_operands"]:
        result = (result + positions) // 2
    if layer["thresholds"] is None:
        return result
    return _threshold(result, model.arrays[layer["thresholds"]], layer["out_scale"], layer["out_bias"])


def _thresholding(model: ReferenceModel, layer: dict, x: np.ndarray) -> np.ndarray:
    return _threshold(x, model.arrays[layer["thresholds"]], layer["out_scale"], layer["out_bias"])


def _sliding_windows(model: ReferenceModel, layer: dict, x: np.ndarray) -> np.ndarray:
    """Im2col on NHWC: each output pixel's window, in (kernel row, kernel column, channel) order.

    The host's ``verify/batched_layers.py`` cuts the same windows from FINN's node attributes.
    """
    (kh, kw), (sh, sw), (dh, dw) = layer["kernel"], layer["stride"], layer["dilation"]
    oh, ow = layer["out_dim"]
    patches = [
        x[:, a * dh : a * dh + (oh - 1) * sh + 1 : sh, b * dw : b * dw + (ow - 1) * sw + 1 : sw, :]
        for a in range(kh)
        for b in range(kw)
    ]
    return np.stack(patches, axis=3).reshape(len(x), oh, ow, -1)


def _pool(model: ReferenceModel, layer: dict, x: np.ndarray) -> np.ndarray:
    """Max or quantized average over each window that sliding windows laid out."""
    windows = x.reshape(*x.shape[:-1], -1, layer["channels"])
    if layer["function"] == "MaxPool":
        return windows.max(axis=-2)
    return windows.sum(axis=-2) >> layer["shift"]  # QuantAvgPool


def _padding(model: ReferenceModel, layer: dict, x: np.ndarray) -> np.ndarray:
    top, left, bottom, right = layer["padding"]
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))


LAYERS = {
    "ConvolutionInputGenerator": _sliding_windows,
    "Pool": _pool,
    "FMPadding": _padding,
    "Reshape": _reshape,
    "MVAU": _mvau,
    "VVAU": _vvau,
    "Thresholding": _thresholding,
    "DuplicateStreams": _duplicate,
    "Shuffle": _shuffle,
    "ElementwiseAdd": _add,
    "StreamingDataWidthConverter": _identity,
    "StreamingFIFO": _identity,
}
