"""Which FINN build steps run: the estimate flow here, the full flow where Vivado exists. The choice lives here.

FINN's ``step_qonnx_to_finn`` and ``step_streamline`` are wrapped to put every MultiThreshold at the exact
boundaries of the quantizer it replaces (``finn_compat.ExactThresholds``), ``step_convert_to_hw`` is replaced by
``step_hwc_convert_to_hw`` (it fixes FINN's XNOR-popcount layers), and steps of our own join FINN's:
``step_hwc_streamline_joins`` (FINN workarounds, see ``finn_compat``) and ``step_hwc_host_tail``, which
runs after streamlining: it moves the float element-wise ops that end the graph (the scalar Mul/Add of the
logits' normalization) off the accelerator. FINN would otherwise map them to float ElementwiseMul/Add layers;
on the host they cost nothing and leave the accelerator's output the integer accumulator of the last layer,
which verification compares exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwcompress.compile.finn_compat import (
    ExactThresholds,
    step_hwc_convert_to_hw,
)
from hwcompress.config import BitfileMode
from hwcompress.errors import HwcompressError
from hwcompress.tools import Toolchain

HOST_TAIL_FILE = "host_tail.json"
TAIL_OPS = {"Mul": np.multiply, "Add": np.add, "Sub": np.subtract, "Div": np.divide}


@dataclass(frozen=True)
class StepPlan:
    steps: list
    bitfile: bool


def plan_steps(mode: BitfileMode, tools: Toolchain) -> StepPlan:
    """The builder's step list for ``mode`` on a machine with ``tools``.

    Raises:
        HwcompressError: a bitfile is required but the Xilinx tools are missing.
    """
    from finn.builder.build_dataflow_config import default_build_dataflow_steps, estimate_only_dataflow_steps

    if mode is BitfileMode.ALWAYS and not tools.can_build_bitfile:
        raise HwcompressError(
            f"compile.bitfile is 'always' but {tools.missing_for_bitfile}: install Vivado and Vitis HLS "
            "(or set compile.bitfile to 'auto' for estimates and bit-exact verification only)"
        )
    full = mode is not BitfileMode.NEVER and tools.can_build_bitfile
    names = default_build_dataflow_steps if full else estimate_only_dataflow_steps
    exact = ExactThresholds()
    wrapped = exact.steps()
    steps: list = []
    for name in names:
        steps.append(step_hwc_convert_to_hw if name == "step_convert_to_hw" else wrapped.get(name, name))
        if name == "step_streamline":
            steps += [exact.joins(), step_hwc_host_tail]

    return StepPlan(steps=steps, bitfile=full)


def step_hwc_host_tail(model, cfg):
    """Cut trailing element-wise ops with constant operands off the graph; record them for the host."""
    tail = []
    while True:
        output = model.graph.output[0]
        node = model.find_producer(output.name)
        if node is None or node.op_type not in TAIL_OPS or len(node.input) != 2:
            break
        constant = model.get_initializer(node.input[1])
        new_output = model.get_tensor_valueinfo(node.input[0])
        if constant is None or new_output is None or model.get_initializer(node.input[0]) is not None:
            break
        tail.insert(0, {"op": node.op_type, "value": constant.astype(np.float32).tolist()})
        model.graph.node.remove(node)
        model.graph.output.remove(output)
        model.graph.output.append(new_output)
        if new_output in model.graph.value_info:
            model.graph.value_info.remove(new_output)
    Path(cfg.output_dir, HOST_TAIL_FILE).write_text(json.dumps(tail))
    return model


def apply_host_tail(values: np.ndarray, tail: list[dict], dtype: type = np.float32) -> np.ndarray:
    """Apply the recorded host-side ops to the accelerator's outputs (float32, as FINN's graph computes)."""
    out = values.astype(dtype)
    for op in tail:
        out = TAIL_OPS[op["op"]](out, np.asarray(op["value"], dtype=dtype))
    return out
