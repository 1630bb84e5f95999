import pytest
import torch
from brevitas.nn import QuantLinear

from hwcompress.config import ModelConfig, QuantConfig
from hwcompress.errors import ConfigError
from hwcompress.models import build_model, layer_plan


def linear_layers(net):
    return {name.split(".")[-1]: m for name, m in net.named_modules() if isinstance(m, QuantLinear)}


@pytest.mark.parametrize(("arch", "widths"), [("tfc", 64), ("sfc", 256), ("lfc", 1024)])
def test_finn_reference_topologies_have_three_hidden_layers(arch, widths):
    net = build_model(ModelConfig(arch=arch), QuantConfig(), (1, 28, 28), 10)
    layers = linear_layers(net)
    assert list(layers) == ["fc0", "fc1", "fc2", "out"]
    assert [m.out_features for m in layers.values()] == [widths] * 3 + [10]
    assert layers["fc0"].in_features == 784


def test_per_layer_bits_reach_the_quantizers():
    quant = QuantConfig(
        weight_bits=2, act_bits=2, layers={"fc1": {"weight_bits": 4, "act_bits": 3}, "out": {"weight_bits": 8}}
    )
    net = build_model(ModelConfig(arch="mlp", hidden=(16, 16)), quant, (1, 8, 8), 10)
    layers = linear_layers(net)
    assert [int(m.quant_weight().bit_width) for m in layers.values()] == [2, 4, 8]
    acts = [net.body.act0, net.body.act1]
    assert [int(a.act_quant.bit_width()) for a in acts] == [2, 3]


@pytest.mark.parametrize("bits", [1, 2, 3, 8])
def test_weights_sit_on_the_narrow_signed_grid(bits):
    net = build_model(ModelConfig(arch="mlp", hidden=(32,)), QuantConfig(weight_bits=bits), (1, 8, 8), 10)
    q = net.body.fc0.quant_weight()
    levels = q.int().unique()
    if bits == 1:
        assert set(levels.tolist()) == {-1, 1}
    else:
        top = 2 ** (bits - 1) - 1
        assert levels.min() >= -top and levels.max() <= top
        assert torch.allclose(q.scale, torch.tensor(1.0 / top))


def test_input_quantizer_is_the_identity_on_uint8_pixels():
    net = build_model(ModelConfig(arch="mlp", hidden=(8,)), QuantConfig(), (1, 16, 16), 10).eval()
    pixels = torch.arange(256, dtype=torch.float32).reshape(1, 256)
    out = net.input_quant(pixels)
    assert torch.equal(out.value, pixels)
    assert float(out.scale) == 1.0 and int(out.bit_width) == 8 and not out.signed


def test_one_bit_activations_are_bipolar():
    net = build_model(ModelConfig(arch="mlp", hidden=(8,)), QuantConfig(act_bits=1), (1, 8, 8), 10).eval()
    out = net.body.act0(torch.linspace(-3, 3, 50).reshape(5, 10))
    assert set(out.value.unique().tolist()) == {-1.0, 1.0}


def test_uint8_batches_go_through_the_network():
    net = build_model(ModelConfig(arch="tfc"), QuantConfig(), (1, 28, 28), 10).eval()
    logits = net(torch.randint(0, 256, (3, 1, 28, 28), dtype=torch.uint8))
    assert logits.shape == (3, 10) and torch.isfinite(logits).all()


def test_unknown_per_layer_name_lists_the_real_layers():
    with pytest.raises(
        ConfigError, match=r"unknown layer\(s\) \['fc7'\]; this model's layers: \['fc0', 'fc1', 'out'\]"
    ):
        layer_plan(ModelConfig(arch="mlp", hidden=(4, 4)), QuantConfig(layers={"fc7": {"weight_bits": 3}}))
