"""Torch-Pruning's group importances as a peer of hwcompress's criteria (BENCHMARKS.md, CNNs, c).

A benchmark-only dependency (``requirements/bench.txt``, pinned; it leaves torch as it is): the product and its
tests never import it. ``TorchPruningImportance(kind)`` scores every coupling group of a zoo network with
Torch-Pruning's own dependency graph and importance, with its defaults (the group's parts reduced by their
mean, each layer's scores divided by their mean), so that hwcompress's engine ranks, rounds, removes and
fine-tunes exactly as for its own criteria: only the scores differ.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
import torch_pruning as tp
from brevitas.nn import QuantConv2d

from hwcompress.prune.importance import Scores, TrainingData

#: Torch-Pruning's group L1 and group Taylor importances at their defaults.
IMPORTANCES = {
    "l1": lambda: tp.importance.GroupMagnitudeImportance(p=1, group_reduction="mean", normalizer="mean"),
    "taylor": lambda: tp.importance.GroupTaylorImportance(group_reduction="mean", normalizer="mean"),
}


class TorchPruningImportance:
    """Torch-Pruning's ``kind`` importance of every channel group (Taylor: gradients over ``batches``)."""

    def __init__(self, kind: str, input_shape: tuple[int, ...], batches: int = 20, batch_size: int = 128) -> None:
        self.kind, self.input_shape = kind, input_shape
        self.batches, self.batch_size = batches, batch_size

    def __call__(self, model, groups, data: TrainingData | None) -> Scores:
        was_training = model.training
        model.eval()
        graph = tp.DependencyGraph().build_dependency(model, example_inputs=torch.zeros(1, *self.input_shape))
        model.zero_grad(set_to_none=True)
        try:
            if self.kind == "taylor":
                for images, labels in data.batches(self.batch_size, self.batches):
                    F.cross_entropy(model(images), labels).backward()
            importance = IMPORTANCES[self.kind]()
            modules = dict(model.named_modules())
            scores = {}
            for group in groups:
                producer = modules[group.producer]
                conv = isinstance(producer, QuantConv2d)
                prune = tp.prune_conv_out_channels if conv else tp.prune_linear_out_channels
                coupled = graph.get_pruning_group(producer, prune, idxs=list(range(group.channels)))
                scores[group.name] = importance(coupled).detach().float()
        finally:
            model.zero_grad(set_to_none=True)
            model.train(was_training)
        return scores
