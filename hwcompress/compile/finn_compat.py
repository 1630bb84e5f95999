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
- Specialized nodes (``MVAU_hls``, ``Thresholding_rtl``, ...) execute only through cppsim/rtlsim, which need
  Vitis HLS or Vivado. Renamed back to their generic op type and domain they execute FINN's Python model of
  the layer, which checks data types and bit widths (not the generated HLS/RTL).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from types import ModuleType

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


def step_hwc_clip_xnor_thresholds(model, cfg):
    """Builder step after step_convert_to_hw: clip XNOR-popcount thresholds into [0, MW + 1] (no output changes)."""
    import numpy as np
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


def generic_layers(model):
    """A copy of a FINN HW-layer model whose specialized nodes are renamed to their generic op and domain."""
    model = copy.deepcopy(model)
    for node in model.graph.node:
        for suffix in SPECIALIZED_SUFFIXES:
            if node.op_type.endswith(suffix) and node.domain.startswith(GENERIC_DOMAIN + "."):
                node.op_type = node.op_type.removesuffix(suffix)
                node.domain = GENERIC_DOMAIN
    return model
