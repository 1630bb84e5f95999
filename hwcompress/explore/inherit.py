"""Weight inheritance: a candidate starts from the trained parent instead of from scratch.

A narrower layer keeps the parent's channels with the largest L1 norm (the same surgery as channel pruning);
a cropped input keeps the first layer's weights on the pixels that remain; bits only change the quantizers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hwcompress.config import L1Criterion, ModelConfig, QuantConfig
from hwcompress.models import build_model
from hwcompress.prune.allocate import channels_to_keep
from hwcompress.prune.groups import coupling_groups
from hwcompress.prune.scoring import channel_scores
from hwcompress.prune.surgery import channel_counts, prune_channels


def inherit(
    parent_state: dict[str, torch.Tensor],
    parent_model: ModelConfig,
    child_model: ModelConfig,
    child_quant: QuantConfig,
    parent_shape: tuple[int, ...],
    child_shape: tuple[int, ...],
    num_classes: int,
) -> nn.Module:
    """The child network (``child_model`` with ``child_quant``'s bits, eating ``child_shape`` images) holding the
    parent's trained weights where it has them."""
    torch.manual_seed(0)
    child = build_model(child_model, child_quant, child_shape, num_classes)
    wide = build_model(parent_model, child_quant, parent_shape, num_classes)
    wide.load_state_dict(parent_state)
    groups = coupling_groups(wide)
    counts = channel_counts(child, coupling_groups(child))
    scores = channel_scores(L1Criterion(), wide, groups, None)
    narrow = prune_channels(wide, groups, channels_to_keep(scores, counts))
    state = narrow.state_dict()
    if child_shape != parent_shape:
        first = _first_layer_weight(child)
        state[first] = crop_columns(state[first], parent_shape, child_shape)
    child.load_state_dict(state)
    return child


def _first_layer_weight(model: nn.Module) -> str:
    """The state-dict key of the first compute layer's weight (the one that reads the pixels)."""
    return next(name for name, p in model.named_parameters() if name.endswith(".weight") and p.dim() >= 2)


def crop_columns(weight: torch.Tensor, parent_shape: tuple[int, ...], child_shape: tuple[int, ...]) -> torch.Tensor:
    """A fully connected first layer's weight (out, C*H*W) kept on the centre ``child_shape`` of the input."""
    channels, height, width = parent_shape
    _, new_height, new_width = child_shape
    top, left = (height - new_height) // 2, (width - new_width) // 2
    grid = weight.reshape(len(weight), channels, height, width)
    return grid[:, :, top : top + new_height, left : left + new_width].reshape(len(weight), -1).clone()


class PaddedTeacher(nn.Module):
    """The parent as a teacher for a child on cropped images: each image is padded back with zeros, centred, to
    the size the parent was trained on (a crop removes borders that are almost all zero)."""

    def __init__(self, parent: nn.Module, parent_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.parent = parent
        self.height, self.width = parent_shape[1:]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        height, width = images.shape[2:]
        top, left = (self.height - height) // 2, (self.width - width) // 2
        padding = (left, self.width - width - left, top, self.height - height - top)
        return self.parent(F.pad(images, padding))
