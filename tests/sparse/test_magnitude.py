from collections import Counter

import pytest
import torch

from hwcompress.config import parse_flow
from hwcompress.data import SearchPath, load_splits
from hwcompress.models import build_model
from hwcompress.sparse.deep_compression import SharedWeights, huffman_bits, kmeans_1d, sparse_entries, storage
from hwcompress.sparse.magnitude import WeightMasks, dynamic_threshold, fixed_schedule
from hwcompress.train.loop import accuracy, fit


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_flow):
    """A trained 4-bit MLP on digits (64-64-10), its flow and its data."""
    flow = parse_flow(tiny_flow(model={"hidden": [64]}, quant={"weight_bits": 4, "act_bits": 4}, train={"epochs": 6}))
    data = load_splits(flow.data, SearchPath())
    torch.manual_seed(0)
    model = build_model(flow.model, flow.quant, data.input_shape, data.num_classes)
    fit(model, data, flow.train, tmp_path_factory.mktemp("m") / "c.pt", "base")
    return flow, data, model.state_dict()


def fresh(trained):
    flow, data, state = trained
    model = build_model(flow.model, flow.quant, data.input_shape, data.num_classes)
    model.load_state_dict(state)
    return model


def tuner(trained, tmp_path):
    flow, data, _ = trained
    one_epoch = flow.train.model_copy(update={"epochs": 1, "lr": 0.002})
    return lambda model: fit(model, data, one_epoch, tmp_path / f"{id(model)}-{torch.rand(1).item()}.pt", "ft")


@pytest.mark.parametrize("scoring", ["std", "lamp"])
def test_masks_remove_the_lowest_scores_across_layers_whatever_a_layers_scale(trained, scoring):
    plain, scaled = fresh(trained), fresh(trained)
    with torch.no_grad():
        scaled.body.fc0.weight.mul_(10.0)  # scale alone must not change which weights a layer loses
    plain_masks, masks = WeightMasks(plain, scoring=scoring), WeightMasks(scaled, scoring=scoring)
    scores = {name: plain_masks._score(name, m.weight.detach()) for name, m in plain_masks.layers.items()}
    plain_masks.prune_to(0.6)
    masks.prune_to(0.6)
    assert masks.sparsity == pytest.approx(0.6, abs=1e-4)
    assert all(torch.equal(masks.masks[name], plain_masks.masks[name]) for name in masks.masks)
    pruned = torch.cat([scores[name][~mask] for name, mask in plain_masks.masks.items()])
    kept = torch.cat([scores[name][mask] for name, mask in plain_masks.masks.items()])
    assert pruned.max() <= kept.min()
    for name, module in masks.layers.items():
        assert torch.all(module.weight[~masks.masks[name]] == 0)
    masks.prune_to(0.3)  # masks only shrink
    assert masks.sparsity == pytest.approx(0.6, abs=1e-4)


def test_every_layer_keeps_its_floor_and_the_target_is_exact(trained):
    model = fresh(trained)
    with torch.no_grad():
        # equal magnitudes sit at 1 std, under the threshold at 85 %: the classifier would go entirely
        model.body.out.weight.copy_(model.body.out.weight.sign())
    masks = WeightMasks(model, min_density=0.1, scoring="std")
    masks.prune_to(0.85)
    assert masks.sparsity == pytest.approx(0.85, abs=1e-4)
    assert masks.masks["body.out"].float().mean() == pytest.approx(0.1, abs=0.002)
    with pytest.raises(ValueError, match="min_density"):
        masks.prune_to(0.95)


def test_pruned_weights_stay_zero_through_training(trained, tmp_path):
    model = fresh(trained)
    masks = WeightMasks(model)
    masks.prune_to(0.8)
    tuner(trained, tmp_path)(model)
    masks.apply()
    for name, module in masks.layers.items():
        assert torch.all(module.weight[~masks.masks[name]] == 0)
        assert torch.any(module.weight[masks.masks[name]] != 0)
    masks.remove()
    assert masks.sparsity == pytest.approx(0.8, abs=1e-4)


def test_dynamic_threshold_reaches_the_target_within_tolerance_growing_free_steps(trained, tmp_path):
    _, data, _ = trained
    evaluate = lambda model: accuracy(model, data.val_x, data.val_y)  # noqa: E731
    dynamic_model, fixed_model = fresh(trained), fresh(trained)
    start = evaluate(dynamic_model)
    dynamic = dynamic_threshold(
        dynamic_model, WeightMasks(dynamic_model), 0.7, tuner(trained, tmp_path), evaluate, tolerance=0.01
    )
    fixed = fixed_schedule(fixed_model, WeightMasks(fixed_model), 0.7, 7, tuner(trained, tmp_path), evaluate)
    assert dynamic.sparsity == pytest.approx(0.7, abs=1e-3) and fixed.sparsity == pytest.approx(0.7, abs=1e-3)
    assert dynamic.steps[-1].val_acc >= start - 0.01
    assert not dynamic.steps[0].fine_tuned  # 20 % of a trained network's smallest weights go for free
    assert fixed.fine_tunes == 7
    sparsities = [step.sparsity for step in dynamic.steps]
    assert sparsities == sorted(sparsities) and sparsities[1] - sparsities[0] > sparsities[0] - 0  # step grew


def test_dynamic_threshold_stops_when_the_fine_tune_budget_runs_out(trained, tmp_path):
    _, data, _ = trained
    model = fresh(trained)
    evaluate = lambda m: accuracy(m, data.val_x, data.val_y)  # noqa: E731
    run = dynamic_threshold(model, WeightMasks(model), 0.999, tuner(trained, tmp_path), evaluate, 0.0, 0.5, 1)
    assert run.fine_tunes == 1 and run.sparsity < 0.999 and run.steps[-1].val_acc < evaluate(fresh(trained))


def test_kmeans_finds_three_clear_clusters():
    values = torch.cat([torch.full((50,), -0.5), torch.full((30,), 0.1), torch.full((20,), 0.7)])
    values += torch.linspace(-0.01, 0.01, 100)
    centroids, index = kmeans_1d(values, 3)
    assert centroids.tolist() == pytest.approx([-0.5, 0.1, 0.7], abs=0.01)
    assert Counter(index.tolist()) == {0: 50, 1: 30, 2: 20}


def test_huffman_bits_of_known_codes():
    assert huffman_bits(Counter({"a": 1, "b": 1, "c": 2})) == 6  # codes 10, 11, 0
    assert huffman_bits(Counter({"a": 5, "b": 5, "c": 5, "d": 5})) == 40  # uniform: 2 bits each
    assert huffman_bits(Counter({"a": 7})) == 7


def test_relative_indices_bridge_long_gaps_with_fillers():
    codes = torch.tensor([2] + [-1] * 20 + [3, 1])
    assert sparse_entries(codes, 3) == ([0, 7, 7, 4, 0], [2, -1, -1, 3, 1])  # 8 positions per filler


def test_shared_weights_keep_their_clusters_and_zeros_while_training(trained, tmp_path):
    model = fresh(trained)
    masks = WeightMasks(model)
    masks.prune_to(0.3)
    masks.remove()
    shared = SharedWeights(model, bits=2)
    values = {name: set(m.weight.detach().flatten().tolist()) - {0.0} for name, m in shared.layers.items()}
    assert all(2 < len(v) <= 4 for v in values.values())
    tuner(trained, tmp_path)(model)
    shared.apply()
    for name, module in shared.layers.items():
        after = set(module.weight.detach().flatten().tolist()) - {0.0}
        assert len(after) <= 4 and after != values[name]  # the shared values moved, and stayed shared
        assert torch.all(module.weight[shared.index[name] < 0] == 0)


def test_storage_counts_dense_and_compressed_bits(trained):
    model = fresh(trained)
    masks = WeightMasks(model)
    masks.prune_to(0.9)
    masks.remove()
    report = storage(model, SharedWeights(model, bits=3), index_bits=4)
    fc0 = report.layers[0]
    assert (fc0.name, fc0.weights, fc0.weight_bits) == ("body.fc0", 64 * 64, 4)
    assert fc0.dense_float_bits == 32 * fc0.weights and fc0.dense_int_bits == 4 * fc0.weights
    assert sum(layer.nonzero for layer in report.layers) == pytest.approx(
        0.1 * sum(lr.weights for lr in report.layers), abs=2
    )
    assert all(layer.huffman_bits < layer.dense_int_bits for layer in report.layers if layer.weights > 1000)
    assert report.ratio_vs_float > 8 and report.ratio_vs_int > 1
    assert 32 * 2 * 64 <= report.other_bits < 32 * 4 * 64  # BatchNorm(64) stored folded: a scale and a shift
