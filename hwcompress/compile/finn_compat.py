"""Every workaround that running finn-plus without the Xilinx tools needs, in one place.

- ``finn.builder.build_dataflow_steps`` imports ``finn.xsi.SimEngine`` at import time, which raises
  without Vivado: it is set to None first.
- The builder's exit records the Vivado version and raises when XILINX_VIVADO is unset, even after every
  step succeeded: a placeholder is set when no Vivado exists.
- FINN finds its build directory through its settings; FINN_BUILD_DIR alone is enough to build them
  without writing ``~/.finn/settings.yaml``.
- In a fresh process the HW op modules must be imported before executing a HW-layer graph, or ONNX Runtime
  fails on the domain of FINN's Reshape op.
- FINN asserts that the thresholds of an XNOR-popcount MVAU (1-bit weights and activations) are >= 0 and
  fails on a neuron that always fires (a negative threshold, common in wide layers). A popcount lies in
  [0, MW], so clipping thresholds to [0, MW + 1] changes no output: ``step_hwc_clip_xnor_thresholds``.
- FINN's conversion of an XNOR-popcount layer with multi-bit output activations sets the MVAU's ``ActVal``
  (the offset added to the threshold count) to the output type's minimum instead of the absorbed
  MultiThreshold's ``out_bias``: a narrow-range 2-bit activation ({-1, 0, 1}, bias -1) comes out one lower on
  every output. ``step_hwc_convert_to_hw`` runs FINN's step and sets ``ActVal`` from the threshold node.
- Specialized nodes (``MVAU_hls``, ``Thresholding_rtl``, ...) execute only through cppsim/rtlsim, which need
  Vitis HLS or Vivado. Renamed back to their generic op type and domain they execute FINN's Python model of
  the layer, which checks data types and bit widths (not the generated HLS/RTL).
- FINN turns an activation ``Quant`` into a MultiThreshold with thresholds halfway between levels and tests
  ``x >= t``: a value exactly on a tie rounds up, where the Quant's ``ROUND`` mode rounds half to even (a
  Brevitas network fed ``2x - 1`` of x = 0.75 quantizes 0.5 to 0, FINN to 1). And streamlining folds scales
  and batch norms into thresholds in float32: with 8-bit scales that are not powers of two, about one threshold
  in a hundred lands one accumulator value off (a w8a8 LeNet-300-100 differed on 69 of 10,000 MNIST images).
  ``ExactThresholds`` wraps FINN's ``step_qonnx_to_finn``, ``step_streamline`` and our joins step: the input
  quantizer's thresholds move to the exact float32 boundaries of the original Quant (bisection over float32
  inputs), and each hidden MultiThreshold's to the exact integer accumulators at which the original quantizer
  changes level (``requant``, float64); FINN's own verify step of each runs after the fix.
- FINN's ``step_streamline`` leaves a scalar Mul (an activation's scale) in front of a fork and of a residual
  addition when the scale is not 1 (4-bit activations, say); the float Add then has no HW layer and the
  partition fails. ``step_hwc_streamline_joins`` moves such linear ops past forks and additions and streamlines
  again (as FINN's ResNet-50 example does by hand), so the additions see integers.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np

from hwcompress.compile.requant import Requantizer, requantizers

#: Stands in for XILINX_VIVADO where no Vivado exists; never used to find a tool.
NO_VIVADO = "/nonexistent/no-vivado"

GENERIC_DOMAIN = "finn.custom_op.fpgadataflow"
SPECIALIZED_SUFFIXES = ("_hls", "_rtl")


def prepare_finn(build_dir: Path, vivado_present: bool = False) -> ModuleType:
    """Make finn's builder importable here and return ``finn.builder.build_dataflow``.

    Args:
        build_dir: where FINN writes its temporary files.
        vivado_present: when True the real XILINX_VIVADO is left as it is.
    """
    build_dir.mkdir(parents=True, exist_ok=True)
    os.environ["FINN_BUILD_DIR"] = str(build_dir.resolve())
    if not vivado_present:
        os.environ.setdefault("XILINX_VIVADO", NO_VIVADO)
    import finn.xsi

    if not vivado_present:
        finn.xsi.SimEngine = None
    import finn.builder.build_dataflow as build_dataflow

    import_hw_ops()
    return build_dataflow


def import_hw_ops() -> None:
    """Register FINN's HW ops (and their ONNX domains) in this process."""
    import finn.custom_op.fpgadataflow.hls
    import finn.custom_op.fpgadataflow.rtl  # noqa: F401


def step_hwc_convert_to_hw(model, cfg):
    """FINN's ``step_convert_to_hw``, then the XNOR-popcount MVAUs fixed: their ``ActVal`` from the absorbed
    MultiThreshold's ``out_bias`` (FINN takes the output type's minimum, one level too low for a narrow-range
    signed activation), and their thresholds clipped into [0, MW + 1]."""
    from finn.builder.build_dataflow_steps import step_convert_to_hw
    from qonnx.core.datatype import DataType
    from qonnx.custom_op.registry import getCustomOp

    biases = {
        node.output[0]: getCustomOp(node).get_nodeattr("out_bias")
        for node in model.graph.node
        if node.op_type == "MultiThreshold"
    }
    model = step_convert_to_hw(model, cfg)
    for node in model.graph.node:
        if not node.op_type.startswith("MVAU") or node.output[0] not in biases:
            continue
        op = getCustomOp(node)
        multi_bit = DataType[op.get_nodeattr("outputDataType")].bitwidth() > 1
        if op.get_nodeattr("binaryXnorMode") == 1 and op.get_nodeattr("noActivation") == 0 and multi_bit:
            op.set_nodeattr("ActVal", int(biases[node.output[0]]))
    return step_hwc_clip_xnor_thresholds(model, cfg)


def step_hwc_clip_xnor_thresholds(model, cfg):
    """Clip XNOR-popcount thresholds into [0, MW + 1] (no output changes)."""
    from qonnx.custom_op.registry import getCustomOp

    for node in model.graph.node:
        if not node.op_type.startswith("MVAU") or len(node.input) < 3:
            continue
        op = getCustomOp(node)
        if op.get_nodeattr("binaryXnorMode") != 1:
            continue
        thresholds = model.get_initializer(node.input[2])
        clipped = np.clip(thresholds, 0, op.get_nodeattr("MW") + 1)
        if not np.array_equal(clipped, thresholds):
            model.set_initializer(node.input[2], clipped.astype(thresholds.dtype))
    return model


def streamline_joins(model):
    """Move scalar linear ops past forks and additions, then streamline again (a no-op without forks)."""
    from finn.transformation.streamline import Streamline
    from finn.transformation.streamline.absorb import AbsorbTransposeIntoMultiThreshold
    from finn.transformation.streamline.reorder import (
        MoveLinearPastEltwiseAdd,
        MoveLinearPastFork,
        MoveScalarLinearPastInvariants,
    )

    forks = any(len(model.find_consumers(out) or []) > 1 for node in model.graph.node for out in node.output)
    if not forks:
        return model
    before = None
    while before != model.model.SerializeToString():
        before = model.model.SerializeToString()
        for transform in (MoveLinearPastFork, MoveLinearPastEltwiseAdd, MoveScalarLinearPastInvariants, Streamline):
            model = model.transform(transform())
        model = model.transform(AbsorbTransposeIntoMultiThreshold())
    return model


def generic_layers(model):
    """A copy of a FINN HW-layer model whose specialized nodes are renamed to their generic op and domain."""
    model = copy.deepcopy(model)
    for node in model.graph.node:
        for suffix in SPECIALIZED_SUFFIXES:
            if node.op_type.endswith(suffix) and node.domain.startswith(GENERIC_DOMAIN + "."):
                node.op_type = node.op_type.removesuffix(suffix)
                node.domain = GENERIC_DOMAIN
    return model


#: Ops that move values without changing them, and element-wise ops with a constant operand.
LAYOUT_OPS = ("Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze")
ARITHMETIC_OPS = {"Mul": np.multiply, "Add": np.add, "Sub": np.subtract, "Div": np.divide}


class ExactThresholds:
    """Builder steps that put every MultiThreshold at the exact boundaries of the quantizer it replaces.

    ``qonnx_to_finn`` and ``streamline`` replace FINN's steps of those names and ``joins`` is
    ``step_hwc_streamline_joins``: each runs its step, then the fix, then FINN's verify step of that point (where it
    has one). The fix has two parts: the MultiThreshold of the network's float input quantizer
    (``reanchor_input_thresholds``), and each MultiThreshold behind a MatMul, whose thresholds become the exact
    integer accumulators at which the original quantizer changes level (``anchor_hidden_thresholds``). A
    MultiThreshold neither part recognizes keeps FINN's thresholds.
    """

    def __init__(self) -> None:
        self.source = None  # the QONNX graph the build started from

    def steps(self) -> dict[str, Callable]:
        """FINN step name -> the step that replaces it."""

        def step_hwc_qonnx_to_finn(model, cfg):
            from finn.builder.build_dataflow_steps import step_qonnx_to_finn
            from qonnx.util.cleanup import cleanup_model

            self.source = cleanup_model(model)
            return self._fixed(step_qonnx_to_finn, "finn_onnx_python", model, cfg)

        def step_hwc_streamline(model, cfg):
            from finn.builder.build_dataflow_steps import step_streamline

            return self._fixed(step_streamline, "streamlined_python", model, cfg)

        return {"step_qonnx_to_finn": step_hwc_qonnx_to_finn, "step_streamline": step_hwc_streamline}

    def joins(self) -> Callable:
        """``step_hwc_streamline_joins`` (which may streamline again), then the fix."""

        def step_hwc_streamline_joins(model, cfg):
            return self._exact(streamline_joins(model))

        return step_hwc_streamline_joins

    def _fixed(self, step, verify_name: str, model, cfg):
        from finn.builder.build_dataflow_steps import verify_step

        checks = cfg._resolve_verification_steps()
        model = step(model, dataclasses.replace(cfg, verify_steps=[v for v in checks if v.value != verify_name]))
        model = self._exact(model)
        if any(v.value == verify_name for v in checks):
            verify_step(model, cfg, verify_name, need_parent=False)
        return model

    def _exact(self, model):
        model = annotate_threshold_outputs(model)
        if self.source is None:
            return model
        return anchor_hidden_thresholds(reanchor_input_thresholds(model, self.source), self.source)


def annotate_threshold_outputs(model):
    """``model`` with every MultiThreshold's output datatype wide enough for the values it writes.

    FINN's ``qonnx_to_finn`` gives a MultiThreshold that counts thresholds (0 .. n, the quantizer's bias added by
    an Add behind it) the quantizer's own datatype: counts 0..2 of a narrow 2-bit quantizer come out annotated
    INT2, and qonnx's executor warns and rounds wherever it meets a 2. Streamlining absorbs the Add into the
    MultiThreshold and the annotation becomes right again; until then the counts get the smallest type that holds
    them.
    """
    from qonnx.core.datatype import DataType
    from qonnx.custom_op.registry import getCustomOp

    for node in model.graph.node:
        thresholds = model.get_initializer(node.input[1]) if node.op_type == "MultiThreshold" else None
        if thresholds is None:
            continue
        op = getCustomOp(node)
        scale, bias = op.get_nodeattr("out_scale"), op.get_nodeattr("out_bias")
        low, high = sorted((bias, bias + scale * thresholds.shape[-1]))
        annotated = DataType[op.get_nodeattr("out_dtype")]
        if not annotated.is_integer() or (annotated.allowed(low) and annotated.allowed(high)):
            continue
        smallest = [DataType.get_smallest_possible(value) for value in (low, high)]
        fitting = max(smallest, key=lambda dt: (dt.signed(), dt.bitwidth())) if low >= 0 else _signed_for(low, high)
        op.set_nodeattr("out_dtype", fitting.name)
        model.set_tensor_datatype(node.output[0], fitting)
    return model


def _signed_for(low: float, high: float):
    from qonnx.core.datatype import DataType

    bits = 2
    while not (-(2 ** (bits - 1)) <= low and high <= 2 ** (bits - 1) - 1):
        bits += 1
    return DataType[f"INT{bits}"]


def anchor_hidden_thresholds(model, source):
    """``model`` (after streamlining) with each MultiThreshold that reads a MatMul's integer accumulators at the
    exact thresholds of the quantizer it replaces in ``source`` (``requant.requantizers``).

    The MatMul is matched to its compute node in ``source`` by its integer weights (each output channel's values,
    in any order, up to a sign FINN moved in from a negative batch-norm scale); FINN's float32 thresholds must lie
    within rounding of the exact ones, else the MultiThreshold is left as it is.
    """
    from qonnx.custom_op.registry import getCustomOp

    chains = requantizers(source)
    position = 0
    for node in model.graph.node:
        consumers = model.find_consumers(node.output[0]) or []
        weights = model.get_initializer(node.input[1]) if node.op_type == "MatMul" else None
        if weights is None or len(consumers) != 1 or consumers[0].op_type != "MultiThreshold":
            continue
        threshold_node = consumers[0]
        thresholds = model.get_initializer(threshold_node.input[1])
        accumulator = model.get_tensor_datatype(node.output[0])
        signs = ((i, _weight_signs(weights, chains[i])) for i in range(position, len(chains)))
        found = next(((i, sign) for i, sign in signs if sign is not None), None)
        if thresholds is None or not accumulator.is_integer() or found is None:
            continue
        index, sign = found
        position, chain, op = index + 1, chains[index], getCustomOp(threshold_node)
        levels_match = thresholds.shape[1] == chain.count and thresholds.shape[0] in (1, chain.channels)
        if not levels_match or (op.get_nodeattr("out_scale"), op.get_nodeattr("out_bias")) != chain.out_activation:
            continue
        low, high = int(accumulator.min()), int(accumulator.max()) + 1
        exact = chain.thresholds(sign, low, high)
        finn = np.clip(np.broadcast_to(thresholds, exact.shape), low, high)
        if np.any(np.abs(exact - finn) > 2 + 1e-5 * np.abs(finn)):
            continue  # not the quantizer FINN folded in here
        dtype = np.float32 if np.abs(exact).max() < 2**24 else np.float64  # float32 holds integers up to 2^24
        model.set_initializer(threshold_node.input[1], exact.astype(dtype))
    return model


def _weight_signs(weights: np.ndarray, chain: Requantizer) -> np.ndarray | None:
    """+1 or -1 per output channel when ``weights`` (fan-in x channels, FINN's MatMul) hold ``chain``'s integer
    weights up to that sign, each channel's values in any order (a depthwise layer's among zeros); else None."""
    fan_in = chain.weights.shape[1]
    if weights.shape[1] != chain.channels or weights.shape[0] < fan_in:
        return None
    finn = np.sort(weights.T, axis=1)
    padded = np.zeros(finn.shape)
    padded[:, :fan_in] = chain.weights
    same = np.all(finn == np.sort(padded, axis=1), axis=1)
    flipped = np.all(finn == np.sort(-padded, axis=1), axis=1)
    return np.where(same, 1.0, -1.0) if np.all(same | flipped) else None


def reanchor_input_thresholds(model, source):
    """``model`` with the thresholds of its input MultiThreshold at the exact boundaries of ``source``'s input Quant.

    For threshold k of each channel, the boundary is the smallest float32 input x for which the source graph's
    Quant (after its element-wise prefix) reaches level k + 1; the threshold becomes the value the current
    graph feeds the MultiThreshold for that x. The graph is returned unchanged where this does not apply.
    """
    from qonnx.custom_op.general.quant import max_int, min_int
    from qonnx.custom_op.general.quant import quant as quantize
    from qonnx.custom_op.registry import getCustomOp

    quant_path = _input_path(source, stop=lambda node: node.op_type == "Quant")
    mt_path = _input_path(model, stop=lambda node: node.op_type == "MultiThreshold")
    if quant_path is None or mt_path is None:
        return model
    q = getCustomOp(quant_path[-1])
    scale, zeropt, bits = (source.get_initializer(name) for name in quant_path[-1].input[1:4])
    thresholds = model.get_initializer(mt_path[-1].input[1])
    if (
        scale is None
        or zeropt is None
        or bits is None
        or thresholds is None
        or q.get_nodeattr("rounding_mode") != "ROUND"
    ):
        return model
    signed, narrow = q.get_nodeattr("signed"), q.get_nodeattr("narrow")
    channels, count = thresholds.shape
    if count != max_int(signed, narrow, bits) - min_int(signed, narrow, bits):
        return model
    shape = tuple(source.get_tensor_shape(source.graph.input[0].name))[1:]
    if channels > 1 and (any(node.op_type in LAYOUT_OPS for node in mt_path) or shape[0] != channels):
        return model  # per-channel thresholds are matched to the input's channels only without layout changes

    def inputs(values: np.ndarray) -> np.ndarray:
        """Inputs whose channel c is ``values[c, k]`` in sample k (every channel, for one row of thresholds)."""
        batch = np.empty((count, *shape), dtype=np.float32)
        for c in range(channels):
            target = batch if channels == 1 else batch[:, c]
            target[...] = values[c].reshape(-1, *[1] * (target.ndim - 1))
        return batch

    def per_threshold(batch: np.ndarray) -> np.ndarray:
        """(count, channels, ...) -> (channels, count): each channel's first element."""
        return batch.reshape(count, channels, -1)[:, :, 0].T if channels > 1 else batch.reshape(count, -1)[:, :1].T

    def level(x: np.ndarray) -> np.ndarray:
        y = quantize(_evaluate(source, quant_path[:-1], inputs(x)), scale, zeropt, bits, signed, narrow, "ROUND")
        return per_threshold(np.rint(y / scale + zeropt))

    wanted = min_int(signed, narrow, bits) + 1 + np.arange(count)[None, :]
    with np.errstate(over="ignore", invalid="ignore"):
        boundary = _smallest_float32_where(lambda x: level(x) >= wanted, thresholds.shape)
        if boundary is None:
            return model
        new = per_threshold(_evaluate(model, mt_path[:-1], inputs(boundary)))
        below = per_threshold(_evaluate(model, mt_path[:-1], inputs(np.nextafter(boundary, np.float32(-np.inf)))))
    if not (np.all(below < new) and np.all(np.diff(new, axis=1) >= 0)):
        return model  # the current graph cannot tell the two inputs apart: leave FINN's thresholds
    model.set_initializer(mt_path[-1].input[1], new.astype(thresholds.dtype))
    return model


def _input_path(model, stop: Callable) -> list | None:
    """The nodes from the graph input to the first node ``stop`` accepts, if all before it are layout ops or
    element-wise ops with a constant operand, each the only consumer of the one before; else None."""
    tensor, path = model.graph.input[0].name, []
    while True:
        consumers = model.find_consumers(tensor)
        if len(consumers) != 1:
            return None
        node = consumers[0]
        path.append(node)
        if stop(node):
            return path
        constant_operand = len(node.input) == 2 and model.get_initializer(node.input[1]) is not None
        layout = node.op_type in LAYOUT_OPS and model.get_tensor_shape(node.output[0]) is not None
        if not layout and not (node.op_type in ARITHMETIC_OPS and constant_operand):
            return None
        tensor = node.output[0]


def _evaluate(model, path: list, x: np.ndarray) -> np.ndarray:
    """Run ``path`` (layout and constant element-wise ops) on a batch ``x``, in float32 as ONNX Runtime would."""
    value = x
    for node in path:
        if node.op_type in ARITHMETIC_OPS:
            value = ARITHMETIC_OPS[node.op_type](value, model.get_initializer(node.input[1]).astype(np.float32))
        elif node.op_type == "Transpose":
            perm = next((list(a.ints) for a in node.attribute if a.name == "perm"), None)
            value = np.transpose(value, perm)
        else:  # Reshape, Flatten, Squeeze, Unsqueeze: the batch stays first, the rest follows the graph's shape
            value = value.reshape(len(value), *model.get_tensor_shape(node.output[0])[1:])
        value = value.astype(np.float32)
    return value


def _smallest_float32_where(predicate: Callable[[np.ndarray], np.ndarray], shape: tuple) -> np.ndarray | None:
    """Per element, the smallest finite float32 where the (monotone) ``predicate`` holds; None if it never flips."""
    lo = np.full(shape, _order(np.float32(-np.finfo(np.float32).max)), dtype=np.int64)
    hi = np.full(shape, _order(np.float32(np.finfo(np.float32).max)), dtype=np.int64)
    if predicate(_from_order(lo)).any() or not predicate(_from_order(hi)).all():
        return None
    while np.any(hi - lo > 1):  # predicate false at lo, true at hi
        mid = (lo + hi) // 2
        holds = predicate(_from_order(mid))
        hi, lo = np.where(holds, mid, hi), np.where(holds, lo, mid)
    return _from_order(hi)


def _order(x: np.float32) -> np.int64:
    """float32 -> integer with the same order (negative floats' bit patterns run backwards)."""
    bits = np.int64(np.array(x, dtype=np.float32).view(np.int32))
    return bits if bits >= 0 else -(bits & 0x7FFFFFFF)


def _from_order(keys: np.ndarray) -> np.ndarray:
    """The float32 values of ``_order`` keys."""
    bits = np.where(keys >= 0, keys, -keys | 0x80000000)
    return bits.astype(np.uint32).view(np.float32)
