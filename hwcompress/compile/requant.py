"""Where a QONNX graph's activation quantizers switch level, counted in the integer accumulators before them.

A compute node (MatMul, Gemm, Conv) multiplies integer activations by integer weights; its integer accumulator
A then passes through per-channel affine ops (bias, batch norm, scales) into an activation quantizer. FINN's
streamlining folds that chain into the thresholds of one MultiThreshold, computed in float32: with 8-bit scales
that are not powers of two, about one threshold in a hundred lands one integer off. ``requantizers`` reads the
chain from the original graph and evaluates it in float64, as the float64 reference does, so that the exact
threshold of every level is the smallest integer A at which the quantizer reaches it (``Requantizer.thresholds``).

Conventions (those of the float32 network and its export): integer weights are what the graph's weight
quantizer computes in float32, scales are the graph's float32 values, and everything after the accumulator is
evaluated in float64 with the quantizer's own rounding (half to even for ``ROUND``).

Example:
    >>> chains = requantizers(source)                  # one per compute node it can follow, in graph order
    >>> chains[0].thresholds(np.ones(300), -2**31, 2**31)  # (channels, levels - 1) integers
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hwcompress.export.rewrites import quant_range

COMPUTE_OPS = ("MatMul", "Gemm", "Conv")
AFFINE_OPS = ("Add", "Sub", "Mul", "Div")
#: Ops between a quantizer and the next compute node that pass integer values on unchanged.
PASS_THROUGH = ("Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "MaxPool", "Identity")


@dataclass(frozen=True)
class Requantizer:
    """One compute node's integer weights and the map from its integer accumulators to its quantizer's levels.

    Attributes:
        node: the compute node's name.
        weights: integer weights, one row per output channel (the node's fan-in in the graph's order).
        levels: integer accumulators (K, channels) -> the number of thresholds each reaches (0 .. ``count``).
        count: thresholds per channel (levels of the quantizer minus one).
        out_activation: (scale, bias) that turn a count into the quantizer's integer level, as a MultiThreshold's
            ``out_scale`` and ``out_bias`` do: (1, lowest level), or (2, -1) for bipolar.
    """

    node: str
    weights: np.ndarray
    levels: Callable[[np.ndarray], np.ndarray]
    count: int
    out_activation: tuple[float, float]

    @property
    def channels(self) -> int:
        return len(self.weights)

    def thresholds(self, sign: np.ndarray, low: int, high: int) -> np.ndarray:
        """The exact thresholds (channels, count) on accumulators multiplied by ``sign`` (+1/-1 per channel: FINN
        moves a negative batch-norm scale into the weights), each the smallest integer in [low, high] at which
        that level is reached (``low`` when always, ``high`` when never)."""
        wanted = 1 + np.arange(self.count)[:, None]
        lo = np.full((self.count, self.channels), float(low))
        hi = np.full((self.count, self.channels), float(high))

        def reached(acc: np.ndarray) -> np.ndarray:
            return self.levels(acc * sign[None, :]) >= wanted

        always, never = reached(lo), ~reached(hi)
        while np.any(hi - lo > 1):  # not reached at lo, reached at hi
            mid = np.floor((lo + hi) / 2)
            holds = reached(mid)
            hi, lo = np.where(holds, mid, hi), np.where(holds, lo, mid)
        return np.where(always, low, np.where(never, high, hi)).T


def requantizers(model) -> list[Requantizer]:
    """Every compute node of a QONNX graph (cleaned up, not streamlined) whose accumulator reaches an activation
    quantizer through per-channel affine ops, in graph order. Nodes whose inputs are not integers times one scale,
    or whose chain holds anything else (a residual addition, a pool), are left out."""
    found = []
    for node in model.graph.node:
        if node.op_type not in COMPUTE_OPS:
            continue
        chain = _chain_to_quantizer(model, node)
        weights = _integer_weights(model, node)
        input_scale = _input_scale(model, node.input[0])
        if chain is None or weights is None or input_scale is None:
            continue
        ints, weight_scale = weights
        accumulator_scale = input_scale * np.broadcast_to(weight_scale, len(ints))
        found.append(_requantizer(model, node, ints, accumulator_scale, *chain))
    return found


def _requantizer(model, node, weights: np.ndarray, scale: np.ndarray, chain: list, quantizer) -> Requantizer:
    conv = node.op_type == "Conv"
    bias = _gemm_bias(model, node)
    if quantizer.op_type == "BipolarQuant":
        count, out_activation = 1, (2.0, -1.0)

        def level_of(y: np.ndarray) -> np.ndarray:
            return (y >= 0).astype(np.int64)
    else:
        step, zero, bits = (model.get_initializer(name).astype(np.float64) for name in quantizer.input[1:4])
        signed, narrow = _attr(quantizer, "signed"), _attr(quantizer, "narrow")
        low, high = quant_range(int(bits), bool(signed), bool(narrow))
        count, out_activation = high - low, (1.0, float(low))
        rounding = _ROUNDING[_rounding_mode(quantizer)]

        def level_of(y: np.ndarray) -> np.ndarray:
            return np.clip(rounding(y / step + zero), low, high).astype(np.int64) - low

    def levels(acc: np.ndarray) -> np.ndarray:
        y = acc * scale[None, :]
        if bias is not None:
            y = y + bias
        if conv:
            y = y[:, :, None, None]
        for op in chain:
            y = _apply(model, op, y)
        return level_of(y.reshape(len(acc), -1))

    return Requantizer(node.name, weights, levels, count, out_activation)


def _chain_to_quantizer(model, node) -> tuple[list, object] | None:
    """The affine ops from ``node``'s output to the activation quantizer they feed, and that quantizer."""
    chain, tensor = [], node.output[0]
    while True:
        consumers = model.find_consumers(tensor) or []
        if len(consumers) != 1:
            return None
        op = consumers[0]
        if op.op_type in ("Quant", "BipolarQuant") and all(model.get_initializer(n) is not None for n in op.input[1:]):
            return chain, op
        constants = [model.get_initializer(name) is not None for name in op.input]
        affine = op.op_type in AFFINE_OPS and len(op.input) == 2 and sum(constants) == 1
        if not (affine or (op.op_type == "BatchNormalization" and all(constants[1:]))):
            return None
        chain.append(op)
        tensor = op.output[0]


def _apply(model, op, y: np.ndarray) -> np.ndarray:
    """One affine op in float64 on channels-second values."""
    if op.op_type == "BatchNormalization":
        gamma, beta, mean, var = (model.get_initializer(name).astype(np.float64) for name in op.input[1:5])
        shape = (1, -1) + (1,) * (y.ndim - 2)
        eps = float(_attr(op, "epsilon", 1e-5))
        return (y - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * gamma.reshape(shape) + beta.reshape(
            shape
        )
    first_constant = model.get_initializer(op.input[0]) is not None
    constant = model.get_initializer(op.input[0 if first_constant else 1]).astype(np.float64)
    a, b = (constant, y) if first_constant else (y, constant)
    return {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}[op.op_type](a, b)


def _integer_weights(model, node) -> tuple[np.ndarray, np.ndarray] | None:
    """The weights as integers, one row per output channel, and their scale per output channel (or scalar)."""
    quant = model.find_producer(node.input[1])
    if quant is None or quant.op_type not in ("Quant", "BipolarQuant"):
        return None
    params = [model.get_initializer(name) for name in quant.input]
    if any(p is None for p in params):
        return None
    if quant.op_type == "BipolarQuant":
        values, scale = np.where(params[0] >= 0, 1.0, -1.0), params[1]
    else:
        from qonnx.custom_op.general.quant import quant as quantize

        weight, scale, zero, bits = params
        if np.any(zero != 0):
            return None
        signed, narrow = _attr(quant, "signed"), _attr(quant, "narrow")
        values = np.rint(quantize(weight, scale, zero, bits, signed, narrow, _rounding_mode(quant)) / scale)  # float32
    scale = np.asarray(scale, dtype=np.float64)
    if node.op_type == "Conv":
        rows = values.reshape(len(values), -1)
        return rows, scale.reshape(-1) if scale.size > 1 else scale.reshape(())
    if node.op_type == "Gemm" and _attr(node, "transB", 0):
        return values, scale.reshape(-1) if scale.size > 1 else scale.reshape(())
    return values.T, scale.reshape(-1) if scale.size > 1 else scale.reshape(())


def _gemm_bias(model, node) -> np.ndarray | None:
    """A Gemm's or Conv's constant bias (times beta), per output channel; None without one."""
    if len(node.input) < 3 or not node.input[2]:
        return None
    bias = model.get_initializer(node.input[2]).astype(np.float64)
    return bias * float(_attr(node, "beta", 1.0)) if node.op_type == "Gemm" else bias


def _input_scale(model, tensor: str) -> float | None:
    """The one scale that turns ``tensor``'s values into integers: a quantizer's (zero point 0) upstream through
    ops that pass values on, or 1 for an integer graph input; None otherwise."""
    while True:
        producer = model.find_producer(tensor)
        if producer is None:
            datatype = model.get_tensor_datatype(tensor)
            return 1.0 if datatype is not None and datatype.is_integer() else None
        if producer.op_type in ("Quant", "BipolarQuant"):
            params = [model.get_initializer(name) for name in producer.input[1:]]
            if any(p is None for p in params) or params[0].size != 1:
                return None
            if producer.op_type == "Quant" and np.any(params[1] != 0):
                return None
            return float(params[0].reshape(()))
        if producer.op_type not in PASS_THROUGH:
            return None
        tensor = producer.input[0]


def _attr(node, name: str, default=None):
    from onnx import helper

    for attr in node.attribute:
        if attr.name == name:
            return helper.get_attribute_value(attr)
    return default


def _rounding_mode(quant) -> str:
    mode = _attr(quant, "rounding_mode", "ROUND")
    return mode.decode() if isinstance(mode, bytes) else mode


def _round_half_up(x: np.ndarray) -> np.ndarray:
    return np.floor(x + 0.5)


_ROUNDING = {
    "ROUND": np.round,
    "FLOOR": np.floor,
    "CEIL": np.ceil,
    "ROUND_TO_ZERO": np.trunc,
    "HALF_UP": _round_half_up,
}
