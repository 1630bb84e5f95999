"""Coupling groups: the tensors whose channels must be removed together.

A group is one prunable set of channels: the output channels of its producer layers, the batch norms and the
(per-tensor) activation quantizers on them, and the matching inputs of its consumer layers. A consumer after
a flatten sees each channel as H x W inputs (``stride``). A residual addition is one group with several
producers; a depthwise convolution is a member whose input and output channels are both pruned.

How to add a topology: a function that returns its ``ChannelGroup`` objects, chosen in ``coupling_groups``
(the zoo's chains share ``sequential_groups``, its residual networks ``residual_groups``).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from brevitas.nn import QuantConv2d, QuantIdentity
from torch import nn

from hwcompress.models.quant import COMPUTE_LAYERS
from hwcompress.models.resnet import QuantResNet

NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


@dataclass(frozen=True)
class Slice:
    """``module``'s parameters along ``dim`` (0: outputs, 1: inputs); ``stride`` inputs per channel."""

    module: str
    dim: int
    stride: int = 1


@dataclass(frozen=True)
class ChannelGroup:
    """Channels that live or die together.

    ``depthwise`` convolutions sit between the producers and the consumers: one filter per channel, so a
    removed channel takes its filter (input and output) with it.
    """

    name: str
    channels: int
    producers: tuple[Slice, ...]
    norms: tuple[str, ...]
    consumers: tuple[Slice, ...]
    activations: tuple[str, ...] = ()
    depthwise: tuple[str, ...] = ()

    @property
    def producer(self) -> str:
        return self.producers[0].module

    @property
    def outputs(self) -> tuple[Slice, ...]:
        """Every layer whose outputs are these channels: the producers and the depthwise convolutions."""
        return self.producers + tuple(Slice(name, 0) for name in self.depthwise)

    @property
    def observed(self) -> str:
        """Where the channels' activations are looked at: the activation quantizer, else the norm or producer."""
        return (self.activations or self.norms or (self.producer,))[0]


def is_depthwise(module: nn.Module) -> bool:
    """A convolution with one filter per input channel."""
    return isinstance(module, QuantConv2d) and module.groups > 1 and module.groups == module.in_channels


def sequential_groups(model: nn.Module) -> list[ChannelGroup]:
    """Groups of a chain of compute layers (the zoo's MLPs and CNNs): one per layer but the last and the
    depthwise ones.

    Each layer's output channels couple with the batch norms and activations up to the next compute layer that
    is not depthwise, with the depthwise convolutions on the way, and with that layer's inputs; a convolution
    followed by a linear layer (a flatten between them, NCHW order) gives each channel H x W consecutive inputs.
    """
    order = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, (*COMPUTE_LAYERS, *NORMS, QuantIdentity))
    ]
    compute = [i for i, (_, module) in enumerate(order) if isinstance(module, COMPUTE_LAYERS)]
    dense = [i for i in compute if not is_depthwise(order[i][1])]
    groups = []
    for here, there in pairwise(dense):
        name, module = order[here]
        next_name, next_module = order[there]
        channels = module.out_channels if isinstance(module, QuantConv2d) else module.out_features
        between = order[here + 1 : there]
        depthwise = tuple(n for n, m in between if isinstance(m, COMPUTE_LAYERS))
        norms = tuple(n for n, m in between if isinstance(m, NORMS) and m.num_features == channels)
        activations = tuple(n for n, m in between if isinstance(m, QuantIdentity))
        inputs = next_module.in_channels if isinstance(next_module, QuantConv2d) else next_module.in_features
        if inputs % channels:
            raise ValueError(f"{next_name} has {inputs} inputs, not a multiple of {name}'s {channels} channels")
        groups.append(
            ChannelGroup(
                name=name.rsplit(".", 1)[-1],
                channels=channels,
                producers=(Slice(name, 0),),
                norms=norms,
                consumers=(Slice(next_name, 1, inputs // channels),),
                activations=activations,
                depthwise=depthwise,
            )
        )
    return groups


def coupling_groups(model: nn.Module) -> list[ChannelGroup]:
    """The groups of any zoo network."""
    return residual_groups(model) if isinstance(model, QuantResNet) else sequential_groups(model)


def residual_groups(model: QuantResNet) -> list[ChannelGroup]:
    """Groups of a residual network: each block's inner channels, and each residual stream.

    A stream is every tensor joined by additions: the layers that write it (the stem or a shortcut convolution,
    and each block's second convolution), their batch norms and activations, the additions' quantizers, and
    every layer that reads it (the next block's first convolution and shortcut, or the classifier after the
    global pool). A channel of the stream is removed from all of them at once. Groups come in layer order.
    """
    modules = dict(model.named_modules())

    def layer(i: int, consumer: int) -> ChannelGroup:
        return ChannelGroup(
            f"conv{i}",
            modules[f"conv{i}"].out_channels,
            (Slice(f"conv{i}", 0),),
            (f"bn{i}",),
            (Slice(f"conv{consumer}", 1),),
            (f"act{i}",),
        )

    def stream(stage: int, writers: list[int], adds: list[str], readers: list[str]) -> ChannelGroup:
        return ChannelGroup(
            f"stage{stage}",
            modules[f"conv{writers[0]}"].out_channels,
            tuple(Slice(f"conv{i}", 0) for i in sorted(writers)),
            tuple(f"bn{i}" for i in sorted(writers)),
            tuple(Slice(name, 1) for name in readers),
            (*adds, *(f"act{i}" for i in sorted(writers))),
        )

    groups, writers, adds, readers, stage = [], [0], [], [], 0
    for block in model.blocks:
        groups.append(layer(block.first, block.second))
        readers.append(f"conv{block.first}")
        if block.shortcut is not None:
            groups.append(stream(stage, writers, adds, [*readers, f"conv{block.shortcut}"]))
            writers, adds, readers, stage = [block.shortcut], [], [], stage + 1
        writers.append(block.second)
        adds.append(f"add{block.index}")
    groups.append(stream(stage, writers, adds, [*readers, "out"]))
    return sorted(groups, key=lambda group: min(int(part.module.removeprefix("conv")) for part in group.producers))
