"""Nodes FINN leaves outside the accelerator: run exactly on the host, or refused by one line before the build.

Every network here is a small float-input Brevitas model compiled through ``hwcompress.compile_model``.
"""

import json

import numpy as np
import pytest
import torch
from brevitas.nn import QuantConv2d, QuantConvTranspose2d, QuantIdentity, QuantReLU
from brevitas.quant import Int8ActPerTensorFloat
from torch import nn

import hwcompress
from hwcompress.errors import HwcompressError


class Abs(nn.Module):
    def forward(self, x):
        return torch.abs(x)


def network(*tail: nn.Module, head: tuple[nn.Module, ...] = ()) -> nn.Module:
    """``head``, a 4-bit input quantizer, a 3x3 convolution to 4 channels with a 4-bit ReLU, then ``tail``."""
    torch.manual_seed(0)
    net = nn.Sequential(
        *head,
        QuantIdentity(act_quant=Int8ActPerTensorFloat, bit_width=4, return_quant_tensor=True),
        QuantConv2d(1, 4, 3, padding=1, bias=False, weight_bit_width=4),
        QuantReLU(bit_width=4, return_quant_tensor=True),
        *tail,
    )
    with torch.no_grad():
        net(torch.rand(8, 1, 8, 8))  # brevitas initializes its scales on the first batch
    return net.eval()


def compile_it(net: nn.Module, out_dir):
    inputs = np.random.default_rng(0).random((6, 1, 8, 8), dtype=np.float32)
    return hwcompress.compile_model(net, input_shape=(1, 8, 8), inputs=inputs, target_fps=1000, out_dir=out_dir)


@pytest.mark.parametrize(
    ("tail", "head", "named"),
    [
        pytest.param(
            (QuantConvTranspose2d(4, 2, 2, stride=2, bias=False, weight_bit_width=4),),
            (),
            r"ConvTranspose_0 \(ConvTranspose, after the accelerator\): FINN has no transposed convolution",
            id="after",
        ),
        pytest.param(
            (nn.Upsample(scale_factor=2), QuantIdentity(bit_width=4), QuantConv2d(4, 2, 3, weight_bit_width=4)),
            (),
            r"Resize_0 \(Resize, between two parts of the accelerator\)",
            id="between",
        ),
        pytest.param(
            (QuantConv2d(4, 2, 3, bias=False, weight_bit_width=4),),
            (Abs(),),
            r"Abs_0 \(Abs, before the accelerator\)",
            id="before",
        ),
    ],
)
def test_a_node_nobody_computes_is_refused_by_one_line_before_anything_is_built(tail, head, named, tmp_path):
    with pytest.raises(HwcompressError, match=named) as raised:
        compile_it(network(*tail, head=head), tmp_path / "out")
    message = str(raised.value)
    assert "\n" not in message and message.startswith("FINN cannot put this node in hardware")
    assert not (tmp_path / "out").exists(), "nothing of a refused design replaces the output directory"
    build = next(tmp_path.glob(".out.incomplete/finn"))
    steps = sorted(path.stem for path in (build / "intermediate_models").glob("*.onnx"))
    assert "step_create_dataflow_partition" not in steps, "refused before FINN partitions the graph"


def test_layout_changes_after_the_accelerator_run_on_the_host_exactly(tmp_path):
    """A network that ends in a convolution: FINN computes NHWC and ends the graph with a Transpose back to NCHW,
    which the host tail now holds; verification inverts it and compares every output exactly."""
    report = compile_it(network(QuantConv2d(4, 3, 3, padding=1, bias=False, weight_bit_width=4)), tmp_path / "out")
    assert report["verify"]["mismatches"] == 0 and report["verify"]["samples"] == 6
    tail = json.loads((tmp_path / "out" / "host_tail.json").read_text())
    assert {"op": "Transpose", "perm": [0, 3, 1, 2]} in tail
    hosted = json.loads((tmp_path / "out" / "finn" / "host_nodes.json").read_text())
    assert hosted["refusal"] is None
    assert [(node["op"], node["where"], node["runs_on_host"]) for node in hosted["nodes"]] == [
        ("Transpose", "before", True)
    ], "the input's NCHW-to-NHWC transpose is the one host node left in the graph"


def test_host_tail_inverts_what_it_applies():
    from hwcompress.driver import host_tail

    tail = [
        {"op": "Transpose", "perm": [0, 3, 1, 2]},
        {"op": "Reshape", "shape": [24], "input_shape": [2, 3, 4]},
        {"op": "Mul", "value": [0.5]},
        {"op": "Add", "value": [3.0]},
    ]
    accelerator = np.arange(48).reshape(2, 3, 4, 2)
    out = host_tail.apply(accelerator, tail, np.float64)
    assert out.shape == (2, 24)
    np.testing.assert_array_equal(host_tail.invert(out, tail), accelerator)
    with pytest.raises(ValueError, match="not invertible"):
        host_tail.invert(out, [{"op": "Mul", "value": [0.0]}])
