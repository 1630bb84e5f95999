"""The convolutional path: LeNet-5 through export, FINN (sliding windows, MVAUs, pools) and verification."""

import numpy as np
import pytest
import torch

from hwcompress.boards import get_board
from hwcompress.compile.accelerator import compile_qonnx
from hwcompress.config import CompileConfig, ModelConfig, QuantConfig, TargetConfig
from hwcompress.export.qonnx_export import export_qonnx_model
from hwcompress.fileio import save_onnx
from hwcompress.hw.cost import layer_costs, totals
from hwcompress.models import build_model
from hwcompress.tools import Toolchain
from hwcompress.train import predict
from hwcompress.verify.accelerator import verify_compiled
from hwcompress.verify.dataflow_exec import Accelerator


@pytest.fixture(scope="module")
def lenet_design(tmp_path_factory):
    root = tmp_path_factory.mktemp("lenet")
    torch.manual_seed(0)
    net = build_model(ModelConfig(arch="lenet5"), QuantConfig(), (1, 28, 28), 10)
    images = np.random.default_rng(0).integers(0, 256, (48, 1, 28, 28), dtype=np.uint8)
    net.train()
    with torch.no_grad():
        net(torch.from_numpy(images))  # batch-norm statistics from data, not the defaults
    net.eval()
    save_onnx(export_qonnx_model(net, (1, 28, 28)), root / "lenet.onnx")
    compiled = compile_qonnx(
        root / "lenet.onnx", root / "out", get_board("pynq-z2"), TargetConfig(fps=1000), CompileConfig(), Toolchain()
    )
    return net, images, compiled


def test_lenet5_compiles_to_sliding_windows_mvaus_and_pools(lenet_design):
    _, _, compiled = lenet_design
    kinds = [layer.op_type.split("_")[0] for layer in compiled.estimate.layers]
    assert kinds.count("ConvolutionInputGenerator") >= 2 and kinds.count("Pool") == 2 and kinds.count("MVAU") == 4


def test_lenet5_batched_execution_equals_finn_per_sample_and_pytorch(lenet_design):
    net, images, compiled = lenet_design
    accelerator = Accelerator.load(compiled.directory / "parent.onnx", compiled.directory / "accelerator.onnx")
    np.testing.assert_array_equal(accelerator.execute(images, chunk=20), accelerator.execute_per_sample(images))
    assert verify_compiled(compiled.directory, images, predict(net, images).numpy()).mismatches == 0


def test_conv_cost_model_agrees_with_finn(lenet_design):
    net, _, compiled = lenet_design
    costs = layer_costs(net, (1, 28, 28))
    assert [c.macs for c in costs] == [20 * 25 * 24 * 24, 50 * 20 * 25 * 8 * 8, 800 * 500, 500 * 10]
    counts = compiled.estimate.op_counts
    assert sum(v for k, v in counts.items() if k.startswith("op_mac_")) == totals(costs)["macs"]
    assert sum(v for k, v in counts.items() if k.startswith("param_weight_")) == totals(costs)["params"]
