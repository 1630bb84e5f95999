"""Training-time augmentation on uint8 image batches: random horizontal flips and random shifts, for training and
for the data-driven pruning criteria (PCAS's attention modules).

Draws come from the caller's seeded generator; the trainer's checkpoint keeps its state, so a resumed run
augments exactly as an uninterrupted one. Shifted-in pixels are zeros, as ``data.pad_to`` pads.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hwcompress.config import AugmentConfig


def augment(images: torch.Tensor, cfg: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """A randomly flipped and shifted copy of ``images`` (N, C, H, W), or ``images`` itself when ``cfg`` is off.

    Example:
        >>> x = torch.arange(4, dtype=torch.uint8).reshape(1, 1, 2, 2)
        >>> augment(x, AugmentConfig(), torch.Generator()) is x
        True
    """
    n, channels, height, width = images.shape
    if cfg.flip:
        flip = (torch.rand(n, generator=generator) < 0.5).to(images.device)
        images = torch.where(flip[:, None, None, None], images.flip(-1), images)
    if cfg.shift:
        s = cfg.shift
        padded = F.pad(images, (s, s, s, s))
        dy, dx = (torch.randint(0, 2 * s + 1, (2, n), generator=generator).to(images.device)).unbind(0)
        rows = (dy[:, None] + torch.arange(height, device=images.device))[:, None, :, None]
        cols = (dx[:, None] + torch.arange(width, device=images.device))[:, None, None, :]
        samples = torch.arange(n, device=images.device)[:, None, None, None]
        planes = torch.arange(channels, device=images.device)[None, :, None, None]
        images = padded[samples, planes, rows, cols]
    return images
