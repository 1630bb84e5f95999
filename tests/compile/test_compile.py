from pathlib import Path

import pytest

from hwcompress.compile.steps import plan_steps, step_hwc_host_tail
from hwcompress.config import BitfileMode
from hwcompress.errors import HwcompressError
from hwcompress.tools import Toolchain

XILINX = Toolchain(vivado=Path("/opt/Xilinx/vivado"), vitis_hls=Path("/opt/Xilinx/vitis_hls"))


def test_finn_builds_the_tiny_mlp_and_its_estimates_are_consistent(tiny_design):
    compiled = tiny_design["compiled"]
    est = compiled.estimate
    mvaus = [layer for layer in est.layers if layer.op_type.startswith("MVAU")]
    assert len(mvaus) == 2, "a hidden layer and the output layer"
    assert est.lut == pytest.approx(sum(layer.lut for layer in est.layers))
    assert est.max_cycles == max(layer.cycles for layer in est.layers)
    assert est.fps == pytest.approx(est.clock_mhz * 1e6 / est.max_cycles)
    assert all(mvau.pe >= 1 and mvau.simd >= 1 for mvau in mvaus)
    assert not any("Elementwise" in layer.op_type or "Thresholding" in layer.op_type for layer in est.layers)
    assert compiled.finn_verify == {"finn_onnx_python": True, "initial_python": True, "streamlined_python": True}
    assert compiled.bitfile is False


def test_logits_normalization_is_left_to_the_host(tiny_design):
    import json

    tail = json.loads((tiny_design["compiled"].directory / "host_tail.json").read_text())
    assert [op["op"] for op in tail] == ["Mul", "Add"]


def test_step_choice_lives_in_one_place_and_says_what_is_missing():
    estimate_only = plan_steps(BitfileMode.AUTO, Toolchain())
    assert not estimate_only.bitfile and "step_synthesize_bitfile" not in estimate_only.steps
    assert step_hwc_host_tail in estimate_only.steps
    assert estimate_only.steps.index(step_hwc_host_tail) == estimate_only.steps.index("step_streamline") + 1
    full = plan_steps(BitfileMode.AUTO, XILINX)
    assert full.bitfile and "step_synthesize_bitfile" in full.steps
    assert not plan_steps(BitfileMode.NEVER, XILINX).bitfile
    with pytest.raises(HwcompressError, match=r"compile\.bitfile is 'always' but Vivado and Vitis HLS not found"):
        plan_steps(BitfileMode.ALWAYS, Toolchain())
