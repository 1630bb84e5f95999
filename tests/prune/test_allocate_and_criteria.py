import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from hwcompress.config import (
    BNCriterion,
    L1Criterion,
    ModelConfig,
    Normalization,
    PCASCriterion,
    QuantConfig,
    RandomCriterion,
    TaylorCriterion,
)
from hwcompress.models import build_model
from hwcompress.prune.allocate import Allocation, channels_to_keep, kept_counts
from hwcompress.prune.criteria import BNScale, L1Norm, Random, Taylor
from hwcompress.prune.groups import coupling_groups, sequential_groups
from hwcompress.prune.importance import TrainingData


def test_global_allocation_removes_the_lowest_scores_anywhere():
    scores = {"a": torch.tensor([0.1, 0.2, 5.0, 6.0]), "b": torch.tensor([3.0, 4.0, 0.05, 7.0])}
    counts = kept_counts(scores, rate=0.5, allocation=Allocation.GLOBAL)
    assert counts == {"a": 2, "b": 2}
    keep = channels_to_keep(scores, counts)
    assert keep["a"].tolist() == [2, 3] and keep["b"].tolist() == [1, 3]
    lopsided = {"a": torch.tensor([0.1, 0.2, 0.3, 0.4]), "b": torch.tensor([5.0, 6.0, 7.0, 8.0])}
    assert kept_counts(lopsided, 0.5, Allocation.GLOBAL, min_channels=1) == {"a": 1, "b": 3}


def test_uniform_allocation_and_the_minimum():
    scores = {"a": torch.rand(10), "b": torch.rand(40)}
    assert kept_counts(scores, 0.7, Allocation.UNIFORM) == {"a": 3, "b": 12}
    assert kept_counts(scores, 0.95, Allocation.UNIFORM, min_channels=4) == {"a": 4, "b": 4}


def test_kept_counts_round_to_a_folding_friendly_granularity():
    scores = {"a": torch.rand(64), "b": torch.rand(100)}
    counts = kept_counts(scores, 0.63, Allocation.UNIFORM, granularity=8)
    assert counts == {"a": 24, "b": 40}
    assert all(count % 8 == 0 for count in counts.values())
    with pytest.raises(ValueError, match="rate"):
        kept_counts(scores, 1.0)


@pytest.fixture
def mlp():
    torch.manual_seed(0)
    net = build_model(ModelConfig(arch="mlp", hidden=(8, 8)), QuantConfig(), (1, 8, 8), 10)
    return net, sequential_groups(net)


def test_l1_ranks_a_zero_filter_last(mlp):
    net, groups = mlp
    with torch.no_grad():
        net.body.fc1.weight[5] = 0
    scores = L1Norm()(net, groups)
    assert scores["fc1"].argmin() == 5 and scores["fc1"].mean() == pytest.approx(1.0)


def test_percentile_normalization_is_each_channels_rank_in_its_layer(mlp):
    net, groups = mlp
    raw = L1Norm(L1Criterion(normalization=Normalization.NONE))(net, groups)
    ranked = L1Norm(L1Criterion(normalization=Normalization.PERCENTILE))(net, groups)
    for name, scores in raw.items():
        assert sorted(ranked[name].tolist()) == [(i + 1) / len(scores) for i in range(len(scores))]
        assert torch.equal(scores.argsort(), ranked[name].argsort())


def test_cost_aware_scores_are_importance_per_mac_of_every_layer_a_channel_touches(mlp):
    from hwcompress.prune.scoring import per_mac

    net, groups = mlp  # 64 -> 8 -> 8 -> 10
    ones = {g.name: torch.ones(g.channels) for g in groups}
    scaled = per_mac(ones, net, groups, (1, 8, 8))
    assert torch.allclose(scaled["fc0"], torch.full((8,), 1 / (64 + 8)))  # its filter, and its column of fc1
    assert torch.allclose(scaled["fc1"], torch.full((8,), 1 / (8 + 10)))
    lenet = build_model(ModelConfig(arch="lenet5"), QuantConfig(), (1, 28, 28), 10)
    costs = per_mac(
        {g.name: torch.ones(g.channels) for g in sequential_groups(lenet)}, lenet, sequential_groups(lenet), (1, 28, 28)
    )
    assert costs["conv0"][0] == pytest.approx(1 / (25 * 24 * 24 + 20 * 25 * 8 * 8 * 50 / 20))


@pytest.mark.parametrize(
    ("normalization", "check"),
    [
        (Normalization.MEAN, lambda s: s.mean()),
        (Normalization.MAX, lambda s: s.max()),
        (Normalization.SUM, lambda s: s.sum()),
        (Normalization.L2, lambda s: s.norm()),
    ],
)
def test_normalization_is_a_knob_of_the_criterion(mlp, normalization, check):
    net, groups = mlp
    raw = L1Norm(L1Criterion(normalization=Normalization.NONE))(net, groups)
    scaled = L1Norm(L1Criterion(normalization=normalization))(net, groups)
    for name in raw:
        assert float(check(scaled[name])) == pytest.approx(1.0)
        assert torch.equal(raw[name].argsort(), scaled[name].argsort()), "a layer's order does not change"
    rms = L1Norm(L1Criterion(p=2, normalization=Normalization.NONE))(net, groups)
    weight = net.body.fc0.weight.detach()
    assert torch.allclose(rms["fc0"], weight.pow(2).mean(1).sqrt())
    assert torch.allclose(raw["fc0"], weight.abs().mean(1))


def test_every_criterion_config_has_exactly_one_handler_and_flows_configure_it(tiny_flow):
    import typing

    from hwcompress.config import CriterionConfig, parse_flow
    from hwcompress.prune import scoring  # noqa: F401  (registers the handlers)
    from hwcompress.prune.importance import handler_for, registered
    from hwcompress.prune.pcas import PCAS

    def members(annotation):
        args = typing.get_args(annotation)
        return [m for a in args for m in members(a)] if args else [annotation]

    configs = {m for m in members(CriterionConfig) if isinstance(m, type) and m.__name__.endswith("Criterion")}
    assert registered() == configs - {c for c in configs if c.__name__ == "NoCriterion"}
    flow = parse_flow(tiny_flow(prune={"criterion": {"name": "pcas", "epochs": 5, "spread": 0.1}, "rate": 0.5}))
    handler = handler_for(flow.prune.criterion)
    assert isinstance(handler, PCAS) and handler.config.epochs == 5 and handler.config.spread == 0.1
    assert parse_flow(tiny_flow(prune={"criterion": "taylor"})).prune.criterion == TaylorCriterion()
    assert isinstance(handler_for(BNCriterion()), BNScale)


def test_bn_scale_ranks_a_zero_gamma_last(mlp):
    net, groups = mlp
    with torch.no_grad():
        net.body.bn0.weight.fill_(1.0)
        net.body.bn0.weight[2] = 0.0
    assert BNScale()(net, groups)["fc0"].argmin() == 2


def test_taylor_ranks_a_silenced_channel_last(mlp):
    net, groups = mlp
    rng = np.random.default_rng(0)
    data = TrainingData(rng.integers(0, 256, (256, 1, 8, 8), dtype=np.uint8), rng.integers(0, 10, 256))
    with torch.no_grad():
        net.train()(torch.from_numpy(data.images))  # batch-norm statistics, so activations are not saturated
        net.body.bn0.weight[4] = 0.0  # the channel's activation is 0 for every input: no first-order signal
        net.body.bn0.bias[4] = 0.0
    scores = Taylor(TaylorCriterion(batches=4, batch_size=64))(net, groups, data)
    assert scores["fc0"].argmin() == 4 and scores["fc0"][4] == 0 and scores["fc0"].max() > 0
    assert float(scores["fc0"].norm()) == pytest.approx(1.0)
    assert all(p.grad is None for p in net.parameters()), "no gradients are left behind"


def test_group_taylor_sums_weight_times_gradient_over_the_whole_group(mlp):
    """Torch-Pruning's group Taylor: |w x dL/dw| of the channel's filter, batch-norm entries and consumer
    inputs. A channel nobody reads scores exactly 0; the others match the sums taken here by hand."""
    net, groups = mlp
    rng = np.random.default_rng(0)
    data = TrainingData(rng.integers(0, 256, (256, 1, 8, 8), dtype=np.uint8), rng.integers(0, 10, 256))
    with torch.no_grad():
        net.train()(torch.from_numpy(data.images))
        net.body.out.weight[:, 3] = 0  # fc1's channel 3 is read by nobody
    net.eval()
    scores = {
        r: Taylor(TaylorCriterion(batches=4, batch_size=64, group_reduction=r, normalization="none"))(net, groups, data)
        for r in ("sum", "max")
    }
    assert all(p.grad is None for p in net.parameters()), "no gradients are left behind"
    loss = sum(torch.nn.functional.cross_entropy(net(x), y, reduction="mean") for x, y in data.batches(64, 4))
    body = net.body
    grads = dict(
        zip(
            ("fc1", "gamma", "beta", "out"),
            torch.autograd.grad(loss, [body.fc1.weight, body.bn1.weight, body.bn1.bias, body.out.weight]),
            strict=True,
        )
    )
    parts = torch.stack([
        (body.fc1.weight * grads["fc1"]).abs().sum(1),
        (body.bn1.weight * grads["gamma"]).abs() + (body.bn1.bias * grads["beta"]).abs(),
        (body.out.weight * grads["out"]).abs().sum(0),
    ]).detach()  # fmt: skip
    torch.testing.assert_close(scores["sum"]["fc1"], parts.sum(0))
    torch.testing.assert_close(scores["max"]["fc1"], parts.amax(0))
    assert scores["sum"]["fc1"][3] == 0 and (scores["sum"]["fc1"][torch.arange(8) != 3] > 0).all()


def test_bn_group_reduction_combines_every_norm_on_the_channels():
    net = build_model(ModelConfig(arch="resnet8", width=0.25), QuantConfig(), (3, 16, 16), 10)
    groups = [g for g in coupling_groups(net) if len(g.norms) > 1]
    with torch.no_grad():
        for name in groups[0].norms:
            dict(net.named_modules())[name].weight.uniform_(0.5, 1.5)
    gammas = torch.stack([dict(net.named_modules())[n].weight.detach().abs() for n in groups[0].norms])
    for reduction, expected in (("mean", gammas.mean(0)), ("sum", gammas.sum(0)), ("max", gammas.amax(0))):
        got = BNScale(BNCriterion(group_reduction=reduction, normalization="none"))(net, groups)[groups[0].name]
        torch.testing.assert_close(got, expected)


def test_random_is_reproducible(mlp):
    net, groups = mlp
    first, again = Random(RandomCriterion(seed=3))(net, groups), Random(RandomCriterion(seed=3))(net, groups)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not torch.equal(first["fc0"], Random(RandomCriterion(seed=4))(net, groups)["fc0"])


def test_pcas_gates_off_a_harmful_channel_and_returns_the_network_unchanged(tiny_flow):
    from hwcompress.config import parse_flow
    from hwcompress.data import SearchPath, load_splits
    from hwcompress.prune.pcas import PCAS
    from hwcompress.train import accuracy, fit

    flow = parse_flow(tiny_flow(model={"hidden": [16]}, train={"epochs": 4}))
    data = load_splits(flow.data, SearchPath())
    torch.manual_seed(0)
    net = build_model(flow.model, flow.quant, data.input_shape, data.num_classes)
    with tempfile.TemporaryDirectory() as tmp:
        fit(net, data, flow.train, Path(tmp) / "ckpt.pt", "h")
    with torch.no_grad():  # channel 3 always fires and pushes every image towards class 0
        net.body.bn0.weight[3], net.body.bn0.bias[3] = 0.0, 5.0
        net.body.out.weight[:, 3] = -1.0
        net.body.out.weight[0, 3] = 1.0
    harmed = accuracy(net, data.val_x, data.val_y)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    groups = sequential_groups(net)
    scores = PCAS(PCASCriterion(epochs=3, batch_size=64))(net, groups, TrainingData(data.train_x, data.train_y))
    assert 3 in scores["fc0"].argsort()[:2] and scores["fc0"][3] < 0.3, "gated off (the layer's mean is 1)"
    assert scores["fc0"].mean() == pytest.approx(1.0)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items()), "the network is unchanged"
    assert accuracy(net, data.val_x, data.val_y) == harmed, "no attention module is left behind"
    free = PCAS(PCASCriterion(epochs=3, batch_size=64, spread=0.0))(
        net, groups, TrainingData(data.train_x, data.train_y)
    )
    tied = PCAS(PCASCriterion(epochs=3, batch_size=64, spread=1.0))(
        net, groups, TrainingData(data.train_x, data.train_y)
    )
    assert (tied["fc0"] - 1).abs().max() < (free["fc0"] - 1).abs().max(), "the spread penalty holds gates near 1"
    assert tied["fc0"].argmin() == 3, "and still finds the harmful channel"
    naive = PCAS(PCASCriterion(epochs=3, batch_size=64, gate="sigmoid"))(
        net, groups, TrainingData(data.train_x, data.train_y)
    )
    assert naive["fc0"].argmin() == 3 and naive["fc0"].max() <= 2.0, "the sigmoid gates, each in (0, 2), find it too"
    assert accuracy(net, data.val_x, data.val_y) == harmed
    shifted = PCAS(PCASCriterion(epochs=3, batch_size=64, augment={"shift": 1}))
    moved = shifted(net, groups, TrainingData(data.train_x, data.train_y))
    assert moved["fc0"].argmin() == 3 and not torch.allclose(moved["fc0"], scores["fc0"]), "trained on shifted images"
    assert len(shifted.epoch_losses) == 3 and set(shifted.mean_gates) == {"fc0"}
    sgd = PCAS(PCASCriterion(epochs=3, batch_size=64, optimizer="sgd", lr=0.5))
    stepped = sgd(net, groups, TrainingData(data.train_x, data.train_y))
    assert stepped["fc0"].argmin() == 3, "SGD's steps, in proportion to the gradient, find it too"


def test_folding_granularity_is_the_parallelism_finn_needs_at_the_target():
    from hwcompress.prune.folding import folding_granularity, matrix_layers

    net = build_model(ModelConfig(arch="mlp", hidden=(256, 256)), QuantConfig(), (1, 28, 28), 10)
    layers = matrix_layers(net, (1, 28, 28))
    assert [(layer.fan_in, layer.outputs, layer.weight_bits) for layer in layers.values()] == [
        (784, 256, 2),
        (256, 256, 2),
        (256, 10, 2),
    ]
    groups = sequential_groups(net)
    # 1,000 cycles per image: fc0 (784 x 77) needs 61 MACs a cycle = SIMD 16 x PE 4; fc1 (77 x 77) needs
    # SIMD 6 on fc0's channels, so fc0 keeps a multiple of 8; the classifier needs nothing of fc1.
    assert folding_granularity(layers, groups, {"fc0": 77, "fc1": 77}, 1000) == {"fc0": 8, "fc1": 1}
    # ten times the budget: SIMD alone suffices everywhere
    assert folding_granularity(layers, groups, {"fc0": 77, "fc1": 77}, 10_000) == {"fc0": 1, "fc1": 1}
    # never coarser than the count itself
    assert folding_granularity(layers, groups, {"fc0": 5, "fc1": 256}, 10)["fc0"] == 4


def test_foldable_counts_round_down_where_rounding_up_would_double_the_hardware():
    from hwcompress.prune.folding import finn_folding, foldable_counts, matrix_layers

    net = build_model(ModelConfig(arch="sfc"), QuantConfig(), (1, 28, 28), 10)
    layers = matrix_layers(net, (1, 28, 28))
    # SFC at 100k fps and 100 MHz folds to 784 cycles (BENCHMARKS.md): fc0 at SIMD 16 x PE 16
    assert finn_folding(layers["body.fc0"], 1000) == (16, 16)
    groups = sequential_groups(net)
    # 85 channels round to 88 (a multiple of 8) but 88 need PE 8 where 80 need PE 4
    counts, granularity = foldable_counts(layers, groups, {"fc0": 85, "fc1": 72, "fc2": 71}, 1000, 4)
    assert counts == {"fc0": 80, "fc1": 72, "fc2": 71}
    assert all(counts[name] % granularity[name] == 0 for name in counts)
    # where rounding up costs no more per channel, counts round to the nearest multiple
    assert foldable_counts(layers, groups, {"fc0": 150, "fc1": 130, "fc2": 110}, 1000, 4)[0] == {
        "fc0": 144,
        "fc1": 128,
        "fc2": 110,
    }


def test_l1_ranks_a_zero_stem_filter_last_and_pruning_removes_it_from_the_depthwise_filters():
    from hwcompress.prune.surgery import prune_channels

    torch.manual_seed(0)
    net = build_model(ModelConfig(arch="mobilenet", width=0.25), QuantConfig(), (1, 28, 28), 10)
    groups = sequential_groups(net)
    with torch.no_grad():
        net.features.conv0.weight[3] = 0
    scores = L1Norm()(net, groups)
    assert scores["conv0"].argmin() == 3
    keep = channels_to_keep(scores, kept_counts(scores, 0.1, Allocation.UNIFORM))
    assert 3 not in keep["conv0"].tolist() and len(keep["conv0"]) == 7
    pruned = prune_channels(net, groups, keep)
    kept_depthwise = net.features.conv1.weight[keep["conv0"]]
    torch.testing.assert_close(pruned.features.conv1.weight, kept_depthwise)


def test_a_channel_zeroed_on_every_branch_of_an_addition_ranks_last_and_leaves_every_branch():
    from hwcompress.prune.groups import coupling_groups
    from hwcompress.prune.surgery import prune_channels

    torch.manual_seed(0)
    net = build_model(ModelConfig(arch="resnet8", width=0.5), QuantConfig(), (3, 16, 16), 10)
    groups = coupling_groups(net)
    with torch.no_grad():
        net.conv0.weight[5] = 0  # the stem's channel 5 ...
        net.conv2.weight[5] = 0  # ... and the block's branch: both operands of the addition
        net.bn0.weight[5] = net.bn2.weight[5] = 0
    for criterion in (L1Norm(), BNScale()):
        scores = criterion(net, groups)
        assert scores["stage0"].argmin() == 5, type(criterion).__name__
    kept = channels_to_keep(scores, kept_counts(scores, 0.1, Allocation.UNIFORM))["stage0"]
    pruned = prune_channels(net, groups, {"stage0": kept})
    assert 5 not in kept.tolist()
    for producer in ("conv0", "conv2"):
        torch.testing.assert_close(getattr(pruned, producer).weight, getattr(net, producer).weight[kept])
    for consumer in ("conv1", "conv3", "conv5"):
        torch.testing.assert_close(getattr(pruned, consumer).weight, getattr(net, consumer).weight[:, kept])


def test_group_reduction_sees_a_channel_its_consumer_ignores(mlp):
    net, groups = mlp
    with torch.no_grad():
        net.body.fc1.weight[5] = 0.5  # an average filter ...
        net.body.out.weight[:, 5] = 0  # ... whose output nobody reads
    assert L1Norm()(net, groups)["fc1"].argmin() != 5, "the filter alone looks ordinary"
    for reduction in ("mean", "sum"):
        scores = L1Norm(L1Criterion(group_reduction=reduction))(net, groups)
        assert scores["fc1"].argmin() == 5, reduction
    most = L1Norm(L1Criterion(group_reduction="max"))(net, groups)["fc1"]
    consumer = net.body.out.weight.abs().mean(dim=0)
    producer = net.body.fc1.weight.abs().mean(dim=1)
    widest = torch.maximum(producer, consumer)
    torch.testing.assert_close(most, widest / widest.mean())
