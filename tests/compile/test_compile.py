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
    assert list(compiled.finn_verify) == ["finn_onnx_python", "initial_python", "streamlined_python"], "build order"
    assert compiled.bitfile is False


def test_cost_model_agrees_with_finns_op_and_param_counts(tiny_design):
    from hwcompress.hw.cost import layer_costs, totals

    counts = tiny_design["compiled"].estimate.op_counts
    costs = layer_costs(tiny_design["model"], (1, 8, 8))
    assert sum(v for k, v in counts.items() if k.startswith("op_mac_")) == totals(costs)["macs"]
    assert sum(v for k, v in counts.items() if k.startswith("param_weight_")) == totals(costs)["params"]
    for cost in costs:
        assert {
            f"op_mac_{cost.weight_bits}bx{cost.input_bits}b",
            f"op_mac_{cost.input_bits}bx{cost.weight_bits}b",
        } & set(counts)


def test_logits_normalization_is_left_to_the_host(tiny_design):
    import json

    tail = json.loads((tiny_design["compiled"].directory / "host_tail.json").read_text())
    assert [op["op"] for op in tail] == ["Mul", "Add"]


def test_step_choice_lives_in_one_place_and_says_what_is_missing():
    estimate_only = plan_steps(BitfileMode.AUTO, Toolchain())
    assert not estimate_only.bitfile and "step_synthesize_bitfile" not in estimate_only.steps
    assert step_hwc_host_tail in estimate_only.steps
    names = [getattr(step, "__name__", step) for step in estimate_only.steps]
    assert names[0] == "step_hwc_qonnx_to_finn", "FINN's conversion, wrapped to round ties as the model does"
    streamline = names.index("step_hwc_streamline")
    assert names[streamline + 1 : streamline + 3] == ["step_hwc_streamline_joins", "step_hwc_host_tail"]
    full = plan_steps(BitfileMode.AUTO, XILINX)
    assert full.bitfile and "step_synthesize_bitfile" in full.steps
    assert not plan_steps(BitfileMode.NEVER, XILINX).bitfile
    with pytest.raises(HwcompressError, match=r"compile\.bitfile is 'always' but Vivado and Vitis HLS not found"):
        plan_steps(BitfileMode.ALWAYS, Toolchain())


def test_binary_network_with_always_on_and_always_off_neurons_compiles_bit_exactly(binary_design):
    """FINN rejects negative XNOR thresholds; hwcompress clips them without changing any output."""
    import numpy as np

    from hwcompress.train import predict
    from hwcompress.verify.accelerator import verify_compiled

    model, data, compiled = binary_design
    images = data.test_x[:100]
    result = verify_compiled(compiled.directory, images, predict(model, images).numpy())
    assert result.mismatches == 0
    assert np.isfinite(compiled.estimate.lut)


def test_xnor_layers_writing_multi_bit_activations_verify_bit_exactly(tiny_flow, tmp_path):
    """1-bit weights reading 1-bit activations become XNOR-popcount MVAUs; with 2- and 3-bit activations after
    them FINN's own conversion is one level off on every output (finn_compat.step_hwc_convert_to_hw)."""
    import hwcompress

    layers = {"fc0": {"weight_bits": 2, "act_bits": 1}, "fc1": {"weight_bits": 1, "act_bits": 2},
              "fc2": {"weight_bits": 2, "act_bits": 1}, "fc3": {"weight_bits": 1, "act_bits": 3}}  # fmt: skip
    flow = tiny_flow("xnor", model={"hidden": [32, 32, 32, 32]}, quant={"layers": layers},
                     outputs={"dir": str(tmp_path / "runs")})  # fmt: skip
    run = hwcompress.run(hwcompress.config.parse_flow(flow), until="verify")
    verify = next(result.summary for result in run.stages if result.name == "verify")
    assert verify["verify.mismatches"] == 0 and verify["verify.samples"] == 359
