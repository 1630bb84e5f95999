"""The pruning engine with an importance handed in: its scores, not the config's criterion, decide."""

import torch

from hwcompress.config import DataConfig, ModelConfig, PruneConfig, QuantConfig
from hwcompress.data import load_splits
from hwcompress.models import build_model
from hwcompress.prune.engine import prune_model


def test_an_importance_given_to_prune_model_replaces_the_criterion():
    data = load_splits(DataConfig(name="digits"), [])
    net = build_model(ModelConfig(arch="mlp", hidden=(16, 16)), QuantConfig(), data.input_shape, data.num_classes)
    cfg = PruneConfig(criterion="l1", rate=0.25, allocation="uniform", granularity=1, min_channels=1)
    seen = []

    def by_index(model, groups, training):  # keeps the highest-numbered channels
        seen.append(len(training.images))
        return {group.name: torch.arange(group.channels, dtype=torch.float32) for group in groups}

    result = prune_model(net, data, cfg, None, lambda model, step: None, importance=by_index)
    assert {name: index.tolist() for name, index in result.keep.items()} == {
        "fc0": list(range(4, 16)),
        "fc1": list(range(4, 16)),
    }
    assert seen == [len(data.train_x)] and result.model.body.fc0.out_features == 12
