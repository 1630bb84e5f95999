"""Which FINN build steps run: the estimate flow here, the full flow where Vivado exists. The choice lives here.

FINN's ``step_qonnx_to_finn`` and ``step_streamline`` are wrapped to put every MultiThreshold at the exact
boundaries of the quantizer it replaces (``finn_compat.ExactThresholds``), ``step_convert_to_hw`` is replaced by
``step_hwc_convert_to_hw`` (it fixes FINN's XNOR-popcount layers), and steps of our own join FINN's:
``step_hwc_streamline_joins`` (FINN workarounds, see ``finn_compat``), ``step_hwc_host_tail`` and
``step_hwc_host_nodes``. The host tail runs after streamlining: it moves the float element-wise ops that end the
graph (the scalar Mul/Add of the logits' normalization) and the layout changes after them off the accelerator.
FINN would otherwise map them to float ElementwiseMul/Add layers; on the host they cost nothing and leave the
accelerator's output the integer accumulator of the last layer, which verification compares exactly. The host
nodes step runs after the conversion to hardware layers: it stops a build that would leave a node outside the
accelerator that nobody computes (``host_nodes``), before FINN partitions the graph.
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
from hwcompress.compile.host_nodes import host_nodes, refusal
from hwcompress.config import BitfileMode
from hwcompress.driver import host_tail
from hwcompress.errors import HwcompressError
from hwcompress.tools import Toolchain

HOST_TAIL_FILE = "host_tail.json"
#: The steps after which a saved model ends in the accelerator's integers, and is the dataflow partition alone.
HOST_TAIL_STEP = "step_hwc_host_tail"
PARTITION_STEP = "step_create_dataflow_partition"
HOST_NODES_FILE = "host_nodes.json"
LAYOUT_OPS = ("Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze")


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
        if name == "step_convert_to_hw":
            steps.append(step_hwc_host_nodes)
        if name == "step_streamline":
            steps += [exact.joins(), step_hwc_host_tail]

    return StepPlan(steps=steps, bitfile=full)


def step_hwc_host_tail(model, cfg):
    """Cut the element-wise ops with a constant operand and the layout ops that end the graph off it, and record
    them for the host (``driver.host_tail``)."""
    tail = []
    while True:
        output = model.graph.output[0]
        node = model.find_producer(output.name)
        op = None if node is None else _tail_op(model, node)
        new_output = None if op is None else model.get_tensor_valueinfo(node.input[0])
        if new_output is None:
            break
        tail.insert(0, op)
        model.graph.node.remove(node)
        model.graph.output.remove(output)
        model.graph.output.append(new_output)
        if new_output in model.graph.value_info:
            model.graph.value_info.remove(new_output)
    Path(cfg.output_dir, HOST_TAIL_FILE).write_text(json.dumps(tail))
    return model


def _tail_op(model, node) -> dict | None:
    """``node`` as a host tail entry; None when the host tail cannot hold it."""
    if model.get_initializer(node.input[0]) is not None:
        return None
    if node.op_type in host_tail.ARITHMETIC and len(node.input) == 2:
        constant = model.get_initializer(node.input[1])
        return None if constant is None else {"op": node.op_type, "value": constant.astype(np.float32).tolist()}
    before, after = model.get_tensor_shape(node.input[0]), model.get_tensor_shape(node.output[0])
    if node.op_type not in LAYOUT_OPS or before is None or after is None or before[0] != after[0]:
        return None
    if node.op_type == "Transpose":
        perm = next((list(attr.ints) for attr in node.attribute if attr.name == "perm"), None)
        return {"op": "Transpose", "perm": perm} if perm and perm[0] == 0 else None
    return {"op": "Reshape", "shape": list(after[1:]), "input_shape": list(before[1:])}


def step_hwc_host_nodes(model, cfg):
    """Before partitioning: record the nodes FINN leaves outside the accelerator (``host_nodes.json``) and stop
    when one of them would be computed by nobody (``host_nodes.refusal`` says which and what to do)."""
    nodes = host_nodes(model)
    problem = refusal(nodes)
    Path(cfg.output_dir, HOST_NODES_FILE).write_text(
        json.dumps({"nodes": [node.to_json() for node in nodes], "refusal": problem}, indent=2)
    )
    if problem:
        from finn.util.exception import FINNUserError

        raise FINNUserError(problem)
    return model


def host_nodes_refusal(output_dir: Path) -> str | None:
    """The refusal ``step_hwc_host_nodes`` recorded in a FINN build directory, if it stopped the build."""
    path = Path(output_dir, HOST_NODES_FILE)
    return json.loads(path.read_text())["refusal"] if path.is_file() else None
