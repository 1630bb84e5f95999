"""Low-rank factorization: ranks from singular values, the split network's shape, how close the fitted factors
start, which layers it refuses, and the LUT-budget search."""

import numpy as np
import pytest
import torch
from brevitas.nn import QuantConv2d, QuantLinear

from hwcompress.config import ConvSpec, LowRankConfig, ModelConfig, QuantConfig
from hwcompress.errors import ConfigError
from hwcompress.models import build_model
from hwcompress.models.convnet import QuantConvNet
from hwcompress.models.mlp import QuantMLP
from hwcompress.prune.lowrank import (
    Factor,
    Split,
    choose_ranks,
    energy_rank,
    kept_energy,
    lut_budget_energy,
    plan_factors,
    split_layers,
)
from hwcompress.prune.lowrank_fit import factorize, recalibrate_norms


def _mlp(bits: int = 2, hidden=(48, 32)) -> QuantMLP:
    torch.manual_seed(0)
    n = len(hidden)
    return QuantMLP((1, 8, 8), hidden, 10, [bits] * (n + 1), [bits] * n, dropout=0.0).eval()


def _images(count: int = 512, shape=(1, 8, 8)) -> torch.Tensor:
    return torch.randint(0, 17, (count, *shape), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)


def test_energy_rank_counts_the_leading_squared_singular_values():
    singular = torch.tensor([3.0, 2.0, 1.0])  # squares 9, 4, 1 of 14
    assert [energy_rank(singular, e) for e in (0.5, 9 / 14, 0.65, 0.9, 13 / 14, 0.95, 1.0)] == [1, 1, 2, 2, 2, 3, 3]
    assert kept_energy(singular, 2) == pytest.approx(13 / 14)


def test_a_split_linear_layer_becomes_two_layers_around_a_quantized_bottleneck():
    model = _mlp()
    split = split_layers(model, {"fc0": Split(6, act_bits=3)})
    names = [name for name, _ in split.body.named_children()]
    assert names[:6] == ["fc0_lr", "fc0_lr_bn", "fc0_lr_act", "fc0", "bn0", "act0"]
    modules = {name: module for name, module in split.named_modules()}
    first, second = modules["body.fc0_lr"], modules["body.fc0"]
    assert (first.in_features, first.out_features, second.in_features, second.out_features) == (64, 6, 6, 48)
    assert int(first.quant_weight().bit_width) == int(second.quant_weight().bit_width) == 2
    assert int(modules["body.fc0_lr_act"].act_quant.bit_width()) == 3
    assert split(_images(4)).shape == (4, 10)
    for factor in (first, second):  # FINN prices a layer by the values its weights take: all three of ternary
        assert set(factor.quant_weight().value.unique().tolist()) == {-1.0, 0.0, 1.0}
    assert model.body.fc0.out_features == 48 and "fc0_lr" not in dict(model.body.named_children())  # untouched


def test_a_split_convolution_keeps_its_kernel_first_and_ends_in_a_1x1_convolution():
    torch.manual_seed(0)
    net = QuantConvNet((1, 12, 12), 10, [ConvSpec(8, 3, False), ConvSpec(16, 3, True)], (), [4, 4, 4], [4, 4]).eval()
    split = split_layers(net, {"conv1": Split(5, act_bits=4, weight_bits=3)})
    modules = dict(split.named_modules())
    first, second = modules["features.conv1_lr"], modules["features.conv1"]
    assert isinstance(first, QuantConv2d) and first.kernel_size == (3, 3)
    assert (first.in_channels, first.out_channels) == (8, 5) and int(first.quant_weight().bit_width) == 3
    assert second.kernel_size == (1, 1) and (second.in_channels, second.out_channels) == (5, 16)
    assert split(_images(2, (1, 12, 12))).shape == (2, 10)


@pytest.mark.parametrize("kind", ["mlp", "conv"])
def test_full_rank_factors_at_eight_bits_reproduce_the_layer(kind):
    """At 8 bits and full rank the fitted factors are the layer up to rounding: the network's logits and
    its decisions stay."""
    torch.manual_seed(0)
    if kind == "mlp":
        net, layer, full, shape = _mlp(bits=8), "fc0", 48, (1, 8, 8)  # 64 -> 48
    else:
        net = QuantConvNet((1, 12, 12), 10, [ConvSpec(8, 3, False), ConvSpec(12, 3, True)], (), [8] * 3, [8] * 2).eval()
        layer, full, shape = "conv1", 12, (1, 12, 12)  # 8 x 3 x 3 -> 12
    images = _images(1024, shape)
    recalibrate_norms(net, images)  # as training leaves them: the factorization recalibrates every norm
    split = factorize(net, [Factor(layer, full, full, 1.0, 8, 8)], images)
    before, after = net(images[:256]).detach(), split(images[:256]).detach()
    assert torch.corrcoef(torch.stack([before.flatten(), after.flatten()]))[0, 1] > 0.99
    assert (before.argmax(1) == after.argmax(1)).float().mean() >= 0.9


def test_fewer_singular_values_leave_the_factorized_network_further_from_the_original():
    net, images = _mlp(bits=8, hidden=(48,)), _images(1024)
    recalibrate_norms(net, images)
    reference = net(images[:256]).detach()
    errors = []
    for rank in (2, 8, 32):
        split = factorize(net, [Factor("fc0", rank, 48, 0.0, 8, 8)], images)
        errors.append(float(((split(images[:256]).detach() - reference) ** 2).mean()))
    assert errors[0] > errors[1] > errors[2]


def test_ranks_follow_the_energy_and_round_up_to_the_granularity():
    net = _mlp()
    exact = choose_ranks(net, LowRankConfig(layers=["fc0", "fc1"], energy=0.5, granularity=1), (1, 8, 8), None)
    rounded = choose_ranks(net, LowRankConfig(layers=["fc0", "fc1"], energy=0.5, granularity=8), (1, 8, 8), None)
    assert all(1 <= exact[name] < 32 for name in ("fc0", "fc1"))
    assert rounded == {name: -(-exact[name] // 8) * 8 for name in exact}
    fixed = choose_ranks(net, LowRankConfig(layers=["fc0", "fc1"], ranks={"fc1": 3}, granularity=8), (1, 8, 8), None)
    assert fixed["fc1"] == 3 and fixed["fc0"] % 8 == 0
    auto = LowRankConfig(layers=["fc0"], energy=0.5)  # what FINN's folding needs for the cycle budget
    tight, loose = (choose_ranks(net, auto, (1, 8, 8), cycles)["fc0"] for cycles in (64, 4096))
    assert tight % 4 == 0 and abs(tight - exact["fc0"]) < 4 and loose == exact["fc0"] == 11


def test_the_factors_take_the_layers_own_bits_unless_set():
    quant = QuantConfig(weight_bits=2, act_bits=2, layers={"fc1": {"act_bits": 4}})
    net = build_model(ModelConfig(arch="mlp", hidden=(32, 32)), quant, (1, 8, 8), 10)
    own = plan_factors(net, LowRankConfig(layers=["fc0", "fc1"], granularity=1), (1, 8, 8), None)
    assert {f.layer: f.act_bits for f in own} == {"fc0": 2, "fc1": 4}
    set_ = plan_factors(net, LowRankConfig(layers=["fc1"], act_bits=6, weight_bits=3, granularity=1), (1, 8, 8), None)
    assert [(f.layer, f.act_bits, f.weight_bits) for f in set_] == [("fc1", 6, 3)]
    assert {f.weight_bits for f in own} == {2}, "the factors keep the layer's weight bits unless set"


@pytest.mark.parametrize(
    ("arch", "layer", "message"),
    [
        ("mlp", "fc7", "no layer 'fc7'"),
        ("mlp", "out", "out is the classifier"),
        ("mobilenet", "conv1", "depthwise"),
        ("resnet8", "conv1", "residual block"),
    ],
)
def test_layers_it_cannot_factorize_are_refused_by_name(arch, layer, message):
    model = ModelConfig(arch=arch, hidden=(16,)) if arch == "mlp" else ModelConfig(arch=arch, width=0.25)
    net = build_model(model, QuantConfig(), (3, 32, 32) if arch != "mlp" else (1, 8, 8), 10)
    with pytest.raises(ConfigError, match=message):
        plan_factors(net, LowRankConfig(layers=[layer], granularity=1), (3, 32, 32), None)


def test_ranks_may_only_name_listed_layers():
    with pytest.raises(ValueError, match="ranks names \\['fc1'\\]"):
        LowRankConfig(layers=["fc0"], ranks={"fc1": 4})


def test_a_lut_budget_keeps_the_most_energy_that_fits():
    """Priced by weights (the pricing is the caller's; the stage uses FINN's estimate): the chosen ranks fit
    and one more step of energy would not."""
    net = _mlp()
    weights = lambda model: float(sum(m.weight.numel() for m in model.modules() if isinstance(m, QuantLinear)))  # noqa: E731
    cfg = LowRankConfig(layers=["fc0"], lut_budget=64 * 12 + 12 * 48 + 48 * 32 + 320, granularity=1)
    lines = []
    energy, ranks = lut_budget_energy(net, cfg, (1, 8, 8), None, {"fc0": 2}, weights, log=lines.append)
    assert 3 <= len(lines) <= 8 and all(line.startswith("lowrank: energy ") for line in lines)
    assert len(set(lines)) == len(lines), "each design is priced once"
    assert ranks["fc0"] <= 12 and choose_ranks(net, cfg, (1, 8, 8), None, energy)["fc0"] == ranks["fc0"]
    more = choose_ranks(net, cfg, (1, 8, 8), None, min(1.0, energy + 1 / 2**7))
    assert more["fc0"] > 12 or more == ranks
    with pytest.raises(ConfigError, match=r"lowrank\.lut_budget 100: even ranks"):
        lut_budget_energy(net, cfg.model_copy(update={"lut_budget": 100}), (1, 8, 8), None, {"fc0": 2}, weights)


def test_factorizing_leaves_the_original_network_unchanged():
    net = _mlp()
    state = {k: v.clone() for k, v in net.state_dict().items()}
    factorize(net, [Factor("fc1", 4, 32, 0.0, 2, 2)], _images())
    assert all(np.array_equal(state[k], v) for k, v in net.state_dict().items())
