"""The QAT loop: epochs over in-memory uint8 data, a checkpoint after each, exact resume."""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hwcompress.config import TrainConfig
from hwcompress.data import Splits
from hwcompress.data.augment import augment
from hwcompress.errors import HwcompressError
from hwcompress.train.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from hwcompress.train.distill import Distillation
from hwcompress.train.optim import build_optimizer, build_scheduler

EVAL_BATCH = 1024


@dataclass(frozen=True)
class EpochStats:
    epoch: int
    loss: float
    train_acc: float
    val_acc: float
    lr: float
    seconds: float


class Reporter(Protocol):
    """What the loop tells its caller; the CLI draws a progress bar from it."""

    def start(self, epochs: int, batches: int, first_epoch: int) -> None: ...
    def batch(self, epoch: int, done: int, loss: float, acc: float) -> None: ...
    def epoch(self, stats: EpochStats) -> None: ...


class SilentReporter:
    def start(self, epochs: int, batches: int, first_epoch: int) -> None:
        pass

    def batch(self, epoch: int, done: int, loss: float, acc: float) -> None:
        pass

    def epoch(self, stats: EpochStats) -> None:
        pass


def set_threads(threads: int | None) -> None:
    """Use ``threads`` CPU threads (default: every core)."""
    torch.set_num_threads(threads or os.cpu_count() or 1)


def training_device(name: str) -> torch.device:
    """``auto``: the first CUDA device when there is one, else the CPU; otherwise the device named."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise HwcompressError(f"train.device is '{name}' but PyTorch sees no CUDA device; use auto or cpu")
    return device


@torch.no_grad()
def predict(model: nn.Module, images: np.ndarray, batch_size: int = EVAL_BATCH) -> torch.Tensor:
    """Logits of ``model`` in eval mode for uint8 ``images`` (N, C, H, W)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    try:
        pixels = torch.from_numpy(images)
        return torch.cat(
            [model(pixels[i : i + batch_size].to(device)).cpu() for i in range(0, len(pixels), batch_size)]
        )
    finally:
        model.train(was_training)


def accuracy(model: nn.Module, images: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 accuracy as a fraction; NaN for no images."""
    if len(images) == 0:
        return float("nan")
    predicted = predict(model, images).argmax(dim=1).numpy()
    return float((predicted == labels).mean())


def fit(
    model: nn.Module,
    data: Splits,
    cfg: TrainConfig,
    checkpoint_path: Path,
    config_hash: str,
    reporter: Reporter | None = None,
    distillation: Distillation | None = None,
) -> list[EpochStats]:
    """Train ``model`` in place for ``cfg.epochs``, resuming from ``checkpoint_path`` when it matches.

    A checkpoint is written atomically after every epoch; a run killed at any point and started again
    ends with the same weights as one that was never interrupted (same seed, same thread count).
    The caller seeds torch before building ``model``, so that initial weights follow ``cfg.seed``.
    With ``distillation`` the loss also pulls the model towards a teacher's softened outputs.
    """
    reporter = reporter or SilentReporter()
    set_threads(cfg.threads)
    device = training_device(cfg.device)
    model.to(device)
    if distillation is not None:
        distillation.teacher.to(device)
    optimizer = build_optimizer(model.parameters(), cfg)
    scheduler = build_scheduler(optimizer, cfg)
    shuffle = torch.Generator().manual_seed(cfg.seed)
    history: list[EpochStats] = []
    start = 0
    if checkpoint_path.exists():
        ckpt = load_checkpoint(checkpoint_path)
        if ckpt.config_hash == config_hash:
            model.load_state_dict(ckpt.model)
            optimizer.load_state_dict(ckpt.optimizer)
            scheduler.load_state_dict(ckpt.scheduler)
            torch.set_rng_state(ckpt.torch_rng)
            if ckpt.cuda_rng is not None and device.type == "cuda":
                torch.cuda.set_rng_state_all(ckpt.cuda_rng)
            shuffle.set_state(ckpt.shuffle_rng)
            history = [EpochStats(**row) for row in ckpt.history]
            start = ckpt.epoch

    images, labels = torch.from_numpy(data.train_x).to(device), torch.from_numpy(data.train_y).to(device)
    batches = max(1, -(-len(images) // cfg.batch_size))
    reporter.start(cfg.epochs, batches, start)
    constrain = getattr(model, "constrain_weights_", None)
    for epoch in range(start, cfg.epochs):
        began = time.perf_counter()
        model.train()
        order = torch.randperm(len(images), generator=shuffle)
        total_loss, correct, seen = 0.0, 0, 0
        for done, first in enumerate(range(0, len(images), cfg.batch_size), start=1):
            index = order[first : first + cfg.batch_size]
            batch = augment(images[index], cfg.augment, shuffle)
            logits = model(batch)
            target = labels[index]
            plain = distillation is None
            loss = F.cross_entropy(logits, target) if plain else distillation.loss(logits, batch, target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if constrain is not None:
                constrain()
            total_loss += loss.item() * len(index)
            correct += int((logits.argmax(dim=1) == target).sum())
            seen += len(index)
            reporter.batch(epoch + 1, done, total_loss / seen, correct / seen)
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step()
        stats = EpochStats(
            epoch=epoch + 1,
            loss=total_loss / seen,
            train_acc=correct / seen,
            val_acc=accuracy(model, data.val_x, data.val_y),
            lr=lr,
            seconds=time.perf_counter() - began,
        )
        history.append(stats)
        save_checkpoint(
            checkpoint_path,
            Checkpoint(
                epoch=epoch + 1,
                config_hash=config_hash,
                model=model.state_dict(),
                optimizer=optimizer.state_dict(),
                scheduler=scheduler.state_dict(),
                torch_rng=torch.get_rng_state(),
                cuda_rng=torch.cuda.get_rng_state_all() if device.type == "cuda" else None,
                shuffle_rng=shuffle.get_state(),
                history=[asdict(row) for row in history],
            ),
        )
        reporter.epoch(stats)
    model.cpu()
    if distillation is not None:
        distillation.teacher.cpu()
    return history
