"""The convolutional path: LeNet-5, CNV and MobileNet through export, FINN and verification."""

import numpy as np
import pytest

from hwcompress.config import ModelConfig, QuantConfig
from hwcompress.hw.cost import layer_costs, totals
from hwcompress.train import predict
from hwcompress.verify.accelerator import verify_compiled
from hwcompress.verify.dataflow_exec import Accelerator


def _kinds(compiled):
    return [layer.op_type.rsplit("_", 1)[0] for layer in compiled.estimate.layers]


def _assert_bit_exact(net, images, compiled):
    accelerator = Accelerator.load(compiled.directory / "parent.onnx", compiled.directory / "accelerator.onnx")
    np.testing.assert_array_equal(accelerator.execute(images, chunk=20), accelerator.execute_per_sample(images))
    assert verify_compiled(compiled.directory, images, predict(net, images).numpy()).mismatches == 0


def test_lenet5_compiles_to_sliding_windows_mvaus_and_pools(lenet_design):
    _, _, compiled = lenet_design
    kinds = _kinds(compiled)
    assert kinds.count("ConvolutionInputGenerator") >= 2 and kinds.count("Pool") == 2 and kinds.count("MVAU") == 4


def test_lenet5_batched_execution_equals_finn_per_sample_and_pytorch(lenet_design):
    _assert_bit_exact(*lenet_design)


@pytest.mark.parametrize(("weight_bits", "act_bits"), [(1, 1), (1, 2), (2, 2)])
def test_small_cnv_compiles_and_verifies_bit_exactly(compiled_convnet, weight_bits, act_bits):
    quant = QuantConfig(weight_bits=weight_bits, act_bits=act_bits)
    net, images, compiled = compiled_convnet(ModelConfig(arch="cnv", width=1 / 16), quant, (3, 32, 32))
    assert _kinds(compiled).count("MVAU") == 9 and _kinds(compiled).count("Pool") == 2
    _assert_bit_exact(net, images[:16], compiled)


def test_mobilenet_depthwise_convolutions_become_vvaus_and_verify_bit_exactly(mobilenet_design):
    net, images, compiled = mobilenet_design
    kinds = _kinds(compiled)
    assert kinds.count("VVAU") == 3, "one per depthwise convolution"
    assert kinds.count("MVAU") == 5, "the stem, three pointwise convolutions, the classifier"
    _assert_bit_exact(net, images, compiled)


def test_resnet8_forks_and_adds_in_hardware_and_verifies_bit_exactly(resnet_design):
    net, images, compiled = resnet_design
    kinds = _kinds(compiled)
    assert kinds.count("DuplicateStreams") == 3 and kinds.count("ElementwiseAdd") == 3, "one fork and join per block"
    assert kinds.count("FMPadding") == 7, "every 3x3 convolution pads by one pixel"
    assert kinds.count("MVAU") == 10
    _assert_bit_exact(net, images, compiled)


def test_resnet8_with_4_bit_activations_moves_their_scales_past_forks_and_additions(compiled_convnet):
    quant = QuantConfig(weight_bits=4, act_bits=4)
    net, images, compiled = compiled_convnet(ModelConfig(arch="resnet8", width=0.25), quant, (3, 16, 16))
    assert _kinds(compiled).count("ElementwiseAdd") == 3, "integer additions, no float Mul left in front of them"
    _assert_bit_exact(net, images, compiled)


def test_conv_cost_model_agrees_with_finn(lenet_design):
    net, _, compiled = lenet_design
    costs = layer_costs(net, (1, 28, 28))
    assert [c.macs for c in costs] == [20 * 25 * 24 * 24, 50 * 20 * 25 * 8 * 8, 800 * 500, 500 * 10]
    counts = compiled.estimate.op_counts
    assert sum(v for k, v in counts.items() if k.startswith("op_mac_")) == totals(costs)["macs"]
    assert sum(v for k, v in counts.items() if k.startswith("param_weight_")) == totals(costs)["params"]


def test_depthwise_cost_model_agrees_with_finn(mobilenet_design):
    net, images, compiled = mobilenet_design
    costs = totals(layer_costs(net, images.shape[1:]))
    counts = compiled.estimate.op_counts
    assert sum(v for k, v in counts.items() if k.startswith("op_mac_")) == costs["macs"]
    assert sum(v for k, v in counts.items() if k.startswith("param_weight_")) == costs["params"]


@pytest.mark.parametrize("design", ["resnet_design", "mobilenet_design"])
def test_the_report_pairs_every_finn_compute_layer_with_its_model_layer(request, design):
    from hwcompress.report.build import merge_layers

    net, images, compiled = request.getfixturevalue(design)
    costs = layer_costs(net, images.shape[1:])
    rows = [row for row in merge_layers(compiled.estimate, costs) if row["op_type"].startswith(("MVAU", "VVAU"))]
    assert sorted(row["layer"] for row in rows) == sorted(cost.name for cost in costs), "each paired exactly once"
    by_name = {cost.name: cost for cost in costs}
    for row, layer in ((row, next(e for e in compiled.estimate.layers if e.name == row["finn_node"])) for row in rows):
        assert (layer.macs, layer.params) == (by_name[row["layer"]].macs, by_name[row["layer"]].params)


def test_a_factorized_convolution_and_linear_layer_compile_and_verify_bit_exactly(compile_network):
    """conv1 becomes a 5x5 convolution into a rank-8 bottleneck and a 1x1 convolution; fc0 two MVAUs."""
    import torch

    from hwcompress.models import build_model
    from hwcompress.prune.lowrank import Factor
    from hwcompress.prune.lowrank_fit import factorize, recalibrate_norms

    torch.manual_seed(0)
    net = build_model(ModelConfig(arch="lenet5", width=0.5), QuantConfig(), (1, 28, 28), 10).eval()
    images = np.random.default_rng(0).integers(0, 256, (64, 1, 28, 28), dtype=np.uint8)
    recalibrate_norms(net, torch.from_numpy(images))
    factors = [Factor("conv1", 8, 10, 0.0, 2, 2), Factor("fc0", 16, 250, 0.0, 3, 3)]
    split = factorize(net, factors, torch.from_numpy(images))
    compiled = compile_network(split, (1, 28, 28))
    assert _kinds(compiled).count("MVAU") == 6, "two per factorized layer, conv0 and the classifier"
    _assert_bit_exact(split, images[:16], compiled)


def test_a_wider_weight_stream_lets_finn_fold_a_multi_bit_convolution_for_more_fps(tmp_path):
    import torch

    from hwcompress.boards import get_board
    from hwcompress.config import CompileConfig, TargetConfig
    from hwcompress.models import build_model
    from hwcompress.stages.estimating import EstimateSettings, estimate_module
    from hwcompress.tools import Toolchain

    torch.manual_seed(0)
    net = build_model(ModelConfig(arch="lenet5", width=0.25), QuantConfig(weight_bits=4, act_bits=4), (1, 28, 28), 10)
    target = TargetConfig(fps=100_000)
    fps = {}
    for wwidth in (36, 400):
        settings = EstimateSettings(get_board("pynq-z2"), target, CompileConfig(mvau_wwidth_max=wwidth))
        compiled = estimate_module(net, (1, 28, 28), tmp_path / str(wwidth), settings, Toolchain())
        fps[wwidth] = compiled.estimate.fps
    assert fps[36] < 50_000 and fps[400] >= 100_000  # FINN's default width caps 4-bit SIMD at 9
