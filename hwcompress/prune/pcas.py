"""PCAS: Pruning Channels with Attention Statistics (Yamamoto & Maeno, OKI; arXiv 1806.05382).

An attention module after each prunable layer's activation (global pooling -> FC -> ReLU -> FC -> softmax)
gates that layer's channels; it sits after the activation quantizer, whose saturation would otherwise stop
the gates' gradients. The network is frozen (batch norm in eval mode) and only the modules are trained, on the
task loss, on training images augmented as ``augment`` says; each channel's mean attention over the
(unaugmented) training data is then its importance. All layers are scored on one scale,
so one global rate ranks every channel. The modules live in forward hooks and are removed afterwards: the
network comes back unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hwcompress.config import PCASCriterion
from hwcompress.data.augment import augment
from hwcompress.prune.groups import ChannelGroup
from hwcompress.prune.importance import Scores, TrainingData, normalize, register_criterion


class ChannelAttention(nn.Module):
    """Per-sample gates, one per channel, from the channels' (spatially pooled) activations.

    The gates are a softmax over the channels times their number: they average 1 in every layer, so a layer
    can only raise a channel by lowering others, and the mean gates of different layers share one scale.
    ``gate="sigmoid"`` is the naive squeeze-and-excitation baseline: 2 x sigmoid, each gate on its own.
    """

    def __init__(self, channels: int, reduction: int = 4, gate: str = "softmax") -> None:
        super().__init__()
        self.gate = gate
        hidden = max(4, channels // reduction)
        self.squeeze = nn.Linear(channels, hidden)
        self.excite = nn.Linear(hidden, channels)
        nn.init.zeros_(self.excite.weight)
        nn.init.zeros_(self.excite.bias)

    def forward(self, activation: torch.Tensor) -> torch.Tensor:
        pooled = activation.flatten(2).mean(2) if activation.dim() > 2 else activation
        logits = self.excite(F.relu(self.squeeze(pooled)))
        if self.gate == "sigmoid":  # each gate on its own, 1 at the start
            return 2 * torch.sigmoid(logits)
        return torch.softmax(logits, dim=1) * logits.shape[1]


@register_criterion(PCASCriterion)
class PCAS:
    """Train attention modules on the frozen network for the config's ``epochs``; score channels by mean attention.

    The config's ``spread`` weighs a penalty on the gates' squared distance from 1: without it the modules learn to
    amplify a handful of channels a hundredfold (a 2-bit network's next layer saturates either way), and
    one global ranking then empties the widest layer (SFC seed 1: 12 of 256 first-layer channels kept at 70 %).
    """

    def __init__(self, config: PCASCriterion | None = None) -> None:
        self.config = config or PCASCriterion()
        #: What the last call learned, for diagnosis: the task loss of each epoch (mean over its batches, the
        #: spread penalty left out) and each layer's mean gate per channel (before normalization).
        self.epoch_losses: list[float] = []
        self.mean_gates: Scores = {}

    def __call__(self, model: nn.Module, groups: list[ChannelGroup], data: TrainingData | None) -> Scores:
        if data is None:
            raise ValueError("the pcas criterion needs training data")
        cfg = self.config
        torch.manual_seed(cfg.seed)
        draws = torch.Generator().manual_seed(cfg.seed)
        modules = dict(model.named_modules())
        attention = {g.name: ChannelAttention(g.channels, cfg.reduction, cfg.gate) for g in groups}
        sums = {g.name: torch.zeros(g.channels) for g in groups}
        state = {"record": False, "count": 0, "penalty": 0.0}

        def gate(name: str):
            def hook(module, inputs, output):
                value = getattr(output, "value", output)  # a QuantTensor after an activation quantizer
                weights = attention[name](value)
                if state["record"]:
                    sums[name] += weights.detach().sum(0)
                else:
                    state["penalty"] = state["penalty"] + ((weights - 1.0) ** 2).mean()
                return value * weights.reshape(*weights.shape, *([1] * (value.dim() - 2)))

            return hook

        hooks = [modules[g.observed].register_forward_hook(gate(g.name)) for g in groups]
        frozen = [(p, p.requires_grad) for p in model.parameters()]
        was_training = model.training
        try:
            for parameter, _ in frozen:
                parameter.requires_grad_(False)
            model.eval()
            params = [p for module in attention.values() for p in module.parameters()]
            if cfg.optimizer == "sgd":
                optimizer = torch.optim.SGD(params, lr=cfg.lr, momentum=0.9)
            else:
                optimizer = torch.optim.Adam(params, lr=cfg.lr)
            self.epoch_losses = []
            for _ in range(cfg.epochs):
                losses = []
                for images, labels in data.batches(cfg.batch_size):
                    state["penalty"] = 0.0
                    task = F.cross_entropy(model(augment(images, cfg.augment, draws)), labels)
                    loss = task + cfg.spread * state["penalty"]
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    losses.append(task.item())
                self.epoch_losses.append(sum(losses) / max(len(losses), 1))
            state["record"] = True
            with torch.no_grad():
                for images, _ in data.batches(cfg.batch_size):
                    model(images)
                    state["count"] += len(images)
        finally:
            for hook in hooks:
                hook.remove()
            for parameter, requires_grad in frozen:
                parameter.requires_grad_(requires_grad)
            model.train(was_training)
        self.mean_gates = {name: total / max(state["count"], 1) for name, total in sums.items()}
        return {name: normalize(gates, cfg.normalization) for name, gates in self.mean_gates.items()}
