"""The prune stage: score channels, remove them, fine-tune (with the unpruned network as teacher).

One-shot removes ``prune.rate`` of all prunable channels at once; iterative reaches it in ``prune.steps``
equal steps, fine-tuning after each. The stage always writes the network the later stages use: with
``criterion: none`` (or rate 0) it is the trained network unchanged.
"""

from __future__ import annotations

import copy
import io
import json

import torch
from torch import nn

from hwcompress.boards import clock_mhz, get_board
from hwcompress.config import Criterion, PruneSchedule
from hwcompress.data import Splits, load_splits
from hwcompress.fileio import write_bytes, write_json
from hwcompress.flow import StageContext, StageOutput
from hwcompress.models import build_model
from hwcompress.prune.allocate import channels_to_keep, kept_counts, round_counts
from hwcompress.prune.criteria import CRITERIA, TrainingData
from hwcompress.prune.folding import folding_granularity, matrix_layers
from hwcompress.prune.groups import sequential_groups
from hwcompress.prune.surgery import channel_counts, prune_channels
from hwcompress.train.distill import Distillation
from hwcompress.train.loop import accuracy, fit
from hwcompress.train.stage import INFO_FILE, load_trained_model

MODEL_FILE = "model.pt"
PRUNE_FILE = "prune.json"


def prune_stage(ctx: StageContext) -> StageOutput:
    cfg = ctx.flow.prune
    train_info = json.loads((ctx.stage_dir_of("train") / INFO_FILE).read_text())
    teacher = load_trained_model(ctx, ctx.stage_dir_of("train"))
    data = load_splits(ctx.flow.data, ctx.env.search)
    model = copy.deepcopy(teacher)
    groups = sequential_groups(model)
    before = channel_counts(model, groups)
    keep = {g.name: torch.arange(g.channels) for g in groups}
    steps = []
    granularity = {}
    if cfg.criterion is not Criterion.NONE and cfg.rate > 0:
        rounds = cfg.steps if cfg.schedule is PruneSchedule.ITERATIVE else 1
        for step in range(1, rounds + 1):
            model, keep, granularity = _prune_step(
                ctx, model, keep, sum(before.values()), cfg.rate * step / rounds, data
            )
            _fine_tune(ctx, model, teacher, data, step)
            steps.append(
                {"step": step, "rate": cfg.rate * step / rounds, "val": accuracy(model, data.val_x, data.val_y)}
            )
            ctx.log(
                f"prune step {step}/{rounds}: {sum(len(k) for k in keep.values())} channels kept, "
                f"val {steps[-1]['val']:.2%}"
            )
    after = channel_counts(model, sequential_groups(model))
    test_acc = accuracy(model, data.test_x, data.test_y)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    write_bytes(ctx.stage_dir / MODEL_FILE, buffer.getvalue())
    total_before, total_after = sum(before.values()), sum(after.values())
    write_json(
        ctx.stage_dir / PRUNE_FILE,
        {
            "criterion": cfg.criterion.value,
            "rate": cfg.rate,
            "achieved_rate": 1.0 - total_after / total_before if total_before else 0.0,
            "allocation": cfg.allocation.value,
            "granularity": cfg.granularity,
            "layers": [
                {"name": name, "before": before[name], "after": after[name], "granularity": granularity.get(name, 1)}
                for name in before
            ],
            "schedule": cfg.schedule.value,
            "keep": {name: index.tolist() for name, index in keep.items()},
            "accuracy": {"unpruned_test": train_info["accuracy"]["test"], "test": test_acc},
            "steps": steps,
        },
    )
    return StageOutput(
        files=(MODEL_FILE, PRUNE_FILE),
        summary={
            "prune.channels": f"{total_before} -> {total_after}",
            "accuracy.pruned": test_acc,
        },
    )


def _prune_step(ctx, model, keep, total, rate, data: Splits):
    """Remove channels until ``rate`` of the original ``total`` are gone; ``keep`` maps to original indices."""
    cfg = ctx.flow.prune
    groups = sequential_groups(model)
    current = sum(channel_counts(model, groups).values())
    relative = max(0.0, 1.0 - round(total * (1.0 - rate)) / current)
    scores = CRITERIA[cfg.criterion.value]()(model, groups, TrainingData(data.train_x, data.train_y))
    counts = kept_counts(scores, relative, cfg.allocation, cfg.min_channels)
    granularity = _granularity(ctx, model, groups, counts, data.input_shape)
    counts = round_counts(counts, {g.name: g.channels for g in groups}, granularity, cfg.min_channels)
    chosen = channels_to_keep(scores, counts)
    return prune_channels(model, groups, chosen), {name: keep[name][chosen[name]] for name in keep}, granularity


def _granularity(ctx, model, groups, counts, input_shape) -> dict[str, int]:
    """``prune.granularity`` per group; 'auto' asks what FINN's folding for target.fps needs."""
    if ctx.flow.prune.granularity != "auto":
        return {group.name: ctx.flow.prune.granularity for group in groups}
    cycles = clock_mhz(get_board(ctx.flow.board), ctx.flow.target) * 1e6 / ctx.flow.target.fps
    return folding_granularity(matrix_layers(model, input_shape), groups, counts, cycles)


def _fine_tune(ctx, model, teacher, data: Splits, step: int) -> None:
    cfg = ctx.flow.prune
    if cfg.finetune_epochs == 0:
        return
    train = ctx.flow.train.model_copy(
        update={"epochs": cfg.finetune_epochs, "lr": cfg.finetune_lr or ctx.flow.train.lr / 10, "seed": step}
    )
    distill = Distillation(teacher, cfg.distill.alpha, cfg.distill.temperature) if cfg.distill.enabled else None
    fit(model, data, train, ctx.stage_dir / f"finetune-{step}.pt", f"{ctx.config_hash}-{step}", ctx.reporter, distill)


def load_final_model(ctx: StageContext) -> nn.Module:
    """The network the prune stage wrote (pruned or not), rebuilt from the flow and its kept channels."""
    train_info = json.loads((ctx.stage_dir_of("train") / INFO_FILE).read_text())
    prune_dir = ctx.stage_dir_of("prune")
    info = json.loads((prune_dir / PRUNE_FILE).read_text())
    model = build_model(ctx.flow.model, ctx.flow.quant, tuple(train_info["input_shape"]), train_info["num_classes"])
    keep = {name: torch.tensor(index) for name, index in info["keep"].items()}
    model = prune_channels(model, sequential_groups(model), keep)
    model.load_state_dict(torch.load(prune_dir / MODEL_FILE, map_location="cpu", weights_only=True))
    return model.eval()
