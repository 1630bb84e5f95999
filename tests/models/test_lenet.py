import pytest
import torch
from brevitas.nn import QuantConv2d, QuantLinear

from hwcompress.config import ModelConfig, QuantConfig, parse_flow
from hwcompress.errors import ConfigError
from hwcompress.models import build_model, describe_layers


def test_lenet5_is_the_deep_compression_variant():
    model, quant = ModelConfig(arch="lenet5"), QuantConfig(layers={"conv0": {"weight_bits": 4}})
    net = build_model(model, quant, (1, 28, 28), 10)
    assert describe_layers(net, model, quant) == [
        "conv0 1->20 5x5 w4 a2",
        "conv1 20->50 5x5 w2 a2",
        "fc0 800->500 w2 a2",
        "out 500->10 w2",
    ]
    params = sum(m.weight.numel() for m in net.modules() if isinstance(m, QuantConv2d | QuantLinear))
    assert params == 430_500, "431K weights, as in the Deep Compression paper"
    assert net(torch.randint(0, 256, (2, 1, 28, 28), dtype=torch.uint8)).shape == (2, 10)


def test_lenet5_adapts_to_rgb_and_refuses_tiny_images():
    net = build_model(ModelConfig(arch="lenet5"), QuantConfig(), (3, 32, 32), 10)
    assert net.classifier.fc0.in_features == 50 * 5 * 5
    with pytest.raises(ConfigError, match="at least 16x16 pixels, got 8x8"):
        build_model(ModelConfig(arch="lenet5"), QuantConfig(), (1, 8, 8), 10)


def test_lenet_300_100_preset_and_fixed_layers(tiny_flow):
    assert ModelConfig(arch="lenet-300-100").layer_names == ["fc0", "fc1", "out"]
    with pytest.raises(ConfigError, match="arch 'lenet5' fixes its layers"):
        parse_flow(tiny_flow(model={"arch": "lenet5", "hidden": [4]}))
