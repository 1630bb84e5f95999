"""Training checkpoints: everything needed to continue a run as if it had never stopped."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from hwcompress.errors import HwcompressError
from hwcompress.fileio import write_bytes


@dataclass(frozen=True)
class Checkpoint:
    """The state after ``epoch`` finished epochs."""

    epoch: int
    config_hash: str
    model: dict[str, Any]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    torch_rng: torch.Tensor
    shuffle_rng: torch.Tensor
    history: list[dict[str, float]]
    #: The CUDA generators' states when training ran on a GPU (dropout there draws from them).
    cuda_rng: list[torch.Tensor] | None = None


def save_checkpoint(path: Path, ckpt: Checkpoint) -> None:
    """Write ``ckpt`` atomically: a kill mid-write leaves the previous checkpoint intact."""
    buffer = io.BytesIO()
    torch.save(ckpt.__dict__, buffer)
    write_bytes(path, buffer.getvalue())


def load_checkpoint(path: Path) -> Checkpoint:
    """Read a checkpoint written by ``save_checkpoint`` (weights only: no code runs)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        return Checkpoint(**state)
    except (RuntimeError, TypeError, EOFError, OSError) as err:
        raise HwcompressError(f"{path}: unreadable checkpoint ({err}); delete it to start the stage afresh") from None
