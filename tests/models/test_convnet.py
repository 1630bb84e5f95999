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


def test_cnv_is_finns_cifar10_network():
    model, quant = ModelConfig(arch="cnv"), QuantConfig(weight_bits=1, act_bits=1)
    net = build_model(model, quant, (3, 32, 32), 10)
    assert describe_layers(net, model, quant) == [
        "conv0 3->64 3x3 w1 a1",
        "conv1 64->64 3x3 w1 a1",
        "conv2 64->128 3x3 w1 a1",
        "conv3 128->128 3x3 w1 a1",
        "conv4 128->256 3x3 w1 a1",
        "conv5 256->256 3x3 w1 a1",
        "fc0 256->512 w1 a1",
        "fc1 512->512 w1 a1",
        "out 512->10 w1",
    ]
    pools = [name for name, m in net.features.named_children() if isinstance(m, torch.nn.MaxPool2d)]
    assert pools == ["pool1", "pool3"]
    with pytest.raises(ConfigError, match=r"at least 32x32 pixels, got 28x28 \(set data.pad_to: 32"):
        build_model(model, quant, (1, 28, 28), 10)


def test_width_scales_every_layer_but_the_classifier():
    model = ModelConfig(arch="cnv", width=0.125)
    assert model.conv_channels == (8, 8, 16, 16, 32, 32)
    assert model.hidden_widths == (64, 64)
    assert ModelConfig(arch="tfc", width=0.01).hidden_widths == (1, 1, 1)
    net = build_model(model, QuantConfig(), (1, 32, 32), 10)
    assert net.classifier.out.out_features == 10


def test_resnet8_is_mlperf_tinys_with_quantized_additions():
    model, quant = ModelConfig(arch="resnet8"), QuantConfig()
    net = build_model(model, quant, (3, 32, 32), 10)
    assert describe_layers(net, model, quant)[3:6] == [
        "conv3 16->32 3x3 stride 2 w2 a2",
        "conv4 32->32 3x3 w2 a2",
        "conv5 16->32 1x1 stride 2 w2 a2",
    ]
    mobile = ModelConfig(arch="mobilenet")
    assert (
        describe_layers(build_model(mobile, quant, (1, 28, 28), 10), mobile, quant)[1]
        == "conv1 32->32 3x3 depthwise w2 a2"
    )
    assert (net.conv3.stride, net.conv5.stride, net.conv1.padding) == ((2, 2), (2, 2), (1, 1))
    params = sum(m.weight.numel() for m in net.modules() if isinstance(m, QuantConv2d | QuantLinear))
    assert params == 77_360, "the convolution and classifier weights of MLPerf Tiny's ResNet-8"
    assert net(torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)).shape == (2, 10)


def test_an_addition_of_activations_with_different_bits_is_refused():
    quant = QuantConfig(layers={"conv2": {"act_bits": 4}})
    with pytest.raises(ConfigError, match="addition of residual block 0 joins activations of different widths"):
        build_model(ModelConfig(arch="resnet8"), quant, (3, 32, 32), 10)
    both = QuantConfig(layers={"conv4": {"act_bits": 4}, "conv5": {"act_bits": 4}})
    assert build_model(ModelConfig(arch="resnet8"), both, (3, 32, 32), 10).add1 is not None
