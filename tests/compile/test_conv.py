"""The convolutional path: LeNet-5 through export, FINN (sliding windows, MVAUs, pools) and verification."""

import numpy as np

from hwcompress.hw.cost import layer_costs, totals
from hwcompress.train import predict
from hwcompress.verify.accelerator import verify_compiled
from hwcompress.verify.dataflow_exec import Accelerator


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
