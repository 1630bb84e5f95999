"""The accelerator's integer reference model: numpy alone computes what the dataflow layers compute, exactly.

A bundle describes the accelerator's layers in ``reference.json`` (op, the tensors it reads and writes,
attributes, array names) and holds their weights and thresholds in ``reference.npz``. ``ReferenceModel.run``
takes the integer inputs of a batch and returns the integer outputs, layer by layer in graph order, as FINN's
Python model of each layer computes them. It is the one definition of the layers' integer semantics: the host's
verifier runs every test image through it, the simulated board computes with it, and on a real board
``validate`` can compare against it.

Exact and fast: values travel as integers held in float32 while every sum a layer can form stays below 2**24
(float32 holds every integer up to there, so products and sums are exact in any order, and BLAS does the
matrix products); a layer whose bound is larger computes in float64 (exact below 2**53), and beyond that in
int64. Thresholds are compared as the integers they act as on integer inputs (``x >= t`` iff ``x >= ceil(t)``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT = 2
#: Above this many thresholds per channel a binary search beats comparing with each.
MANY_THRESHOLDS = 16
#: About this many bytes of sliding windows at a time.
WINDOW_BYTES = 16 * 2**20
FLOAT32_EXACT = 2**24
FLOAT64_EXACT = 2**53


@dataclass(frozen=True)
class Values:
    """A layer's integer values and a bound on their magnitude, known without looking at them (from the layer's
    inputs and parameters): it picks the type in which the next layer's sums are exact."""

    array: np.ndarray
    bound: float

    def __len__(self) -> int:
        return len(self.array)


class ReferenceModel:
    """The layers of one accelerator; ``supported`` is False when a layer has no numpy model yet."""

    def __init__(self, description: dict, arrays: dict) -> None:
        if description.get("format") != FORMAT:
            raise ValueError(f"reference model format {description.get('format')!r}; this driver reads {FORMAT}")
        self.description = description
        self.layers = description["layers"]
        self.arrays = arrays
        self._prepared: dict[str, np.ndarray] = {}

    @classmethod
    def load(cls, json_path: Path, npz_path: Path) -> ReferenceModel:
        with np.load(npz_path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        return cls(json.loads(Path(json_path).read_text()), arrays)

    @property
    def supported(self) -> bool:
        return not self.description.get("unsupported")

    def run(self, inputs: np.ndarray, window_bytes: int = WINDOW_BYTES) -> np.ndarray:
        """Integer outputs (int64, shape (N, *output shape[1:])) for integer ``inputs`` (N, *input shape[1:]).

        Sliding windows and the layer that reads them run on as many images at a time as keep the windows near
        ``window_bytes`` (the windows of a CNN's first layers hold many values per image); every other layer runs
        on the whole batch at once.
        """
        if not self.supported:
            raise ValueError(f"no numpy model for {', '.join(self.description['unsupported'])}")
        x = _exact_float(np.asarray(inputs))
        tensors = {self.description["input"]: Values(x, float(np.abs(x).max(initial=0)))}
        fused = None  # the layer that has already run together with the sliding windows before it
        for layer, after in zip(self.layers, [*self.layers[1:], None], strict=True):
            if layer is fused:
                continue
            inputs_of = [tensors[name] for name in layer["inputs"]]
            if layer["op"] == "ConvolutionInputGenerator" and after is not None and after["inputs"] == layer["outputs"]:
                tensors[after["outputs"][0]] = _windowed(self, layer, after, inputs_of[0], window_bytes)
                fused = after
                continue
            result = LAYERS[layer["op"]](self, layer, *inputs_of)
            tensors.update(zip(layer["outputs"], result if isinstance(result, tuple) else (result,), strict=True))
        return tensors[self.description["output"]].array.astype(np.int64)

    def weights(self, name: str, dtype: type) -> np.ndarray:
        """A weight array in ``dtype``, converted once."""
        key = f"{name}:{np.dtype(dtype).name}"
        if key not in self._prepared:
            self._prepared[key] = self.arrays[name].astype(dtype)
        return self._prepared[key]

    def thresholds(self, name: str, dtype: type, integers: bool = True) -> np.ndarray:
        """A threshold array, each channel's row sorted, in ``dtype``. For ``integers`` (the values compared are
        integers) as the integers the thresholds act as (ceil), and in float32 clipped to +-2**24 (which changes no
        comparison with values below 2**24 - 1)."""
        key = f"{name}:thresholds:{np.dtype(dtype).name}:{integers}"
        if key not in self._prepared:
            rows = np.sort(self.arrays[name].astype(np.float64), axis=1)
            if not integers:
                self._prepared[key] = rows.astype(self.arrays[name].dtype)
                return self._prepared[key]
            rows = np.ceil(rows)
            if dtype == np.float32:
                rows = np.clip(rows, -FLOAT32_EXACT, FLOAT32_EXACT)
            self._prepared[key] = rows.astype(dtype)
        return self._prepared[key]


def _windowed(model: ReferenceModel, windows: dict, reader: dict, x: Values, window_bytes: int) -> Values:
    """Sliding windows and the layer that reads them, on groups of images whose windows fill ``window_bytes``;
    a max pool over windows that tile the image takes the maximum of each tile in place."""
    (kh, kw), (oh, ow) = windows["kernel"], windows["out_dim"]
    tiles = tuple(windows["stride"]) == (kh, kw) and tuple(windows["dilation"]) == (1, 1)
    if reader["op"] == "Pool" and reader["function"] == "MaxPool" and tiles:
        n, channels = len(x), x.array.shape[-1]
        tiled = x.array[:, : oh * kh, : ow * kw].reshape(n, oh, kh, ow, kw, channels)
        return Values(tiled.max(axis=(2, 4)), x.bound)
    per_image = oh * ow * kh * kw * x.array.shape[-1] * np.dtype(_window_dtype(x)).itemsize
    step = max(1, window_bytes // per_image)
    result, bound = None, 0.0
    for first in range(0, len(x), step):
        images = Values(x.array[first : first + step], x.bound)
        part = LAYERS[reader["op"]](model, reader, _sliding_windows(model, windows, images))
        if result is None:  # filled in place: no copy of every part at the end
            result = np.empty((len(x), *part.array.shape[1:]), dtype=part.array.dtype)
        result[first : first + step] = part.array
        bound = max(bound, part.bound)
    return Values(result, bound)


def _exact_float(x: np.ndarray) -> np.ndarray:
    """Integer values in the narrowest float type that holds them all exactly (int64 beyond 2**53); float
    inputs as they are."""
    if x.dtype.kind == "f":
        return x
    largest = float(np.abs(x).max(initial=0))
    if largest < FLOAT32_EXACT:
        return x.astype(np.float32)
    return x.astype(np.float64) if largest < FLOAT64_EXACT else x.astype(np.int64)


def _dtype_for(bound: float) -> type:
    """The type in which integer sums up to ``bound`` in magnitude are exact."""
    if bound < FLOAT32_EXACT:
        return np.float32
    return np.float64 if bound < FLOAT64_EXACT else np.int64


def _reshape(model: ReferenceModel, layer: dict, x: Values) -> Values:
    return Values(x.array.reshape(len(x), *layer["shape"][1:]), x.bound)


def _identity(model: ReferenceModel, layer: dict, x: Values) -> Values:
    return x


def _shuffle(model: ReferenceModel, layer: dict, x: Values) -> Values:
    """Reshape, transpose (the batch axis stays first), reshape."""
    moved = x.array.reshape(len(x), *layer["transpose_in_shape"][1:]).transpose(layer["perm"])
    return Values(np.ascontiguousarray(moved).reshape(len(x), *layer["out_shape"][1:]), x.bound)


def _duplicate(model: ReferenceModel, layer: dict, x: Values) -> tuple[Values, ...]:
    return (x,) * len(layer["outputs"])


def _add(model: ReferenceModel, layer: dict, a: Values, b: Values) -> Values:
    bound = a.bound + b.bound
    dtype = _dtype_for(bound)
    return Values(a.array.astype(dtype, copy=False) + b.array.astype(dtype, copy=False), bound)


def _threshold(model: ReferenceModel, layer: dict, x: Values) -> Values:
    """How many of its channel's thresholds each value reaches (channels last), times ``out_scale``, plus
    ``out_bias``.

    Few thresholds: one comparison per threshold column; many: a binary search in each channel's row. Float
    inputs (the network's own, into its input quantizer) meet the thresholds as stored, in their own type.
    """
    name, scale, bias = layer["thresholds"], layer["out_scale"], layer["out_bias"]
    if layer.get("float_input", False):
        values, rows = x.array, model.thresholds(name, x.array.dtype, integers=False)
    else:
        dtype = np.float32 if x.bound < FLOAT32_EXACT - 1 else np.float64
        values, rows = x.array.astype(dtype, copy=False), model.thresholds(name, dtype)
    levels = rows.shape[1]
    if levels <= MANY_THRESHOLDS:
        counts = np.zeros(values.shape, dtype=np.uint8)
        for column in rows.T:
            counts += values >= column
    else:
        flat = values.reshape(-1, values.shape[-1])
        counts = np.empty(flat.shape, dtype=np.int32)
        for c in range(flat.shape[1]):
            counts[:, c] = np.searchsorted(rows[c if len(rows) > 1 else 0], flat[:, c], side="right")
        counts = counts.reshape(values.shape)
    bound = float(max(abs(bias), abs(bias + scale * levels)))
    # activations of up to 8 bits travel as bytes: a quarter of float32's memory traffic into the next layer
    dtype = np.int8 if bound <= 127 else np.float32
    if counts.dtype == np.uint8 and scale == 1 and dtype == np.int8:  # counts <= 16: one exact pass
        return Values(np.add(counts, bias, dtype=np.int8, casting="unsafe"), bound)
    out = counts.astype(np.int32)
    out *= scale
    out += bias
    return Values(out.astype(dtype), bound)


def _activation(model: ReferenceModel, layer: dict, result: Values) -> Values:
    """A compute layer's accumulators, thresholded where the layer has thresholds."""
    return result if layer["thresholds"] is None else _threshold(model, layer, result)


def _matmul(model: ReferenceModel, rows: np.ndarray, bound: float, name: str) -> Values:
    """``rows`` (M, K), each value at most ``bound`` in magnitude, times the integer weights ``name`` (K, O)."""
    weights = model.arrays[name]
    result_bound = bound * float(np.abs(weights).sum(axis=0).max(initial=0))
    dtype = _dtype_for(result_bound)
    return Values(rows.astype(dtype, copy=False) @ model.weights(name, dtype), result_bound)


def _mvau(model: ReferenceModel, layer: dict, x: Values) -> Values:
    fan_in = model.arrays[layer["weights"]].shape[0]
    rows = x.array.reshape(-1, fan_in)
    if layer["xnor"]:  # binary (0/1) operands stand for bipolar ones: count the agreeing bits
        name = layer["weights"]
        if layer["bipolar_operands"]:
            rows, name = (rows + 1) / 2, _binary_weights(model, name)
        # agreeing bits = x.w + (1 - x).(1 - w) = K - sum(x) - sum(w) + 2 x.w
        product = _matmul(model, rows, 1.0, name).array
        ones = model.arrays[name].sum(axis=0)
        result = Values(fan_in - rows.sum(axis=-1, keepdims=True) - ones + 2 * product, fan_in)
    else:
        result = _matmul(model, rows, x.bound, layer["weights"])
    shaped = Values(result.array.reshape(len(x), *layer["vectors"][1:], result.array.shape[-1]), result.bound)
    return _activation(model, layer, shaped)


def _binary_weights(model: ReferenceModel, name: str) -> str:
    """The name of bipolar weights (+-1) mapped to binary (0/1), added to the model's arrays once."""
    binary = f"{name}:binary"
    if binary not in model.arrays:
        model.arrays[binary] = (model.arrays[name] + 1) // 2
    return binary


def _vvau(model: ReferenceModel, layer: dict, x: Values) -> Values:
    """Depthwise convolution: each channel's window (kernel positions x channels, PE-interleaved) times its filter."""
    weights = model.arrays[layer["weights"]]  # (channels, kernel positions)
    channels, positions = weights.shape
    pe = layer["pe"]
    bound = x.bound * float(np.abs(weights).sum(axis=1).max(initial=0))
    dtype = _dtype_for(bound)
    shape = x.array.shape[:-1]
    windows = x.array.astype(dtype, copy=False).reshape(*shape, channels // pe, positions, pe)
    filters = model.weights(layer["weights"], dtype).T.reshape(positions, channels // pe, pe)
    result = np.zeros((*shape, channels // pe, pe), dtype=dtype)
    for k in range(positions):
        result += windows[..., k, :] * filters[k]
    result = result.reshape(*shape, channels)
    if layer["bipolar_operands"]:
        result = (result + positions) / 2
    return _activation(model, layer, Values(result, bound))


def _sliding_windows(model: ReferenceModel, layer: dict, x: Values) -> Values:
    """Im2col on NHWC: each output pixel's window, in (kernel row, kernel column, channel) order, as floats.

    The windows are a strided view of the input, copied (and converted from bytes) in one pass (3x faster than
    copying each kernel position's shifted slice into place: a window row's columns and channels lie side by
    side in memory).
    """
    (kh, kw), (sh, sw), (dh, dw) = layer["kernel"], layer["stride"], layer["dilation"]
    oh, ow = layer["out_dim"]
    source = np.ascontiguousarray(x.array)
    n, _, _, channels = source.shape
    batch, row, column, channel = source.strides
    strides = (batch, row * sh, column * sw, row * dh, column * dw, channel)
    windows = np.lib.stride_tricks.as_strided(source, (n, oh, ow, kh, kw, channels), strides, writeable=False)
    return Values(windows.astype(_window_dtype(x), order="C").reshape(n, oh, ow, -1), x.bound)


def _window_dtype(x: Values) -> type:
    """Windows are floats: the input's float type, or the narrowest that holds its integers exactly."""
    return x.array.dtype if x.array.dtype.kind == "f" else _dtype_for(x.bound)


def _pool(model: ReferenceModel, layer: dict, x: Values) -> Values:
    """Max or quantized average over each window that sliding windows laid out."""
    windows = x.array.reshape(*x.array.shape[:-1], -1, layer["channels"])
    if layer["function"] == "MaxPool":
        return Values(windows.max(axis=-2), x.bound)
    total = windows.sum(axis=-2, dtype=_dtype_for(x.bound * windows.shape[-2]))  # QuantAvgPool
    shift = layer["shift"]
    averaged = total >> shift if total.dtype == np.int64 else np.floor(total / 2**shift)
    return Values(averaged, x.bound * windows.shape[-2] / 2**shift)


def _padding(model: ReferenceModel, layer: dict, x: Values) -> Values:
    top, left, bottom, right = layer["padding"]
    return Values(np.pad(x.array, ((0, 0), (top, bottom), (left, right), (0, 0))), x.bound)


LAYERS = {
    "ConvolutionInputGenerator": _sliding_windows,
    "Pool": _pool,
    "FMPadding": _padding,
    "Reshape": _reshape,
    "MVAU": _mvau,
    "VVAU": _vvau,
    "Thresholding": _threshold,
    "DuplicateStreams": _duplicate,
    "Shuffle": _shuffle,
    "ElementwiseAdd": _add,
    "StreamingDataWidthConverter": _identity,
    "StreamingFIFO": _identity,
}
