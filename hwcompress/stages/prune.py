"""The prune stage: ``prune_model`` on the trained network, fine-tuning with the unpruned network as teacher.

The stage always writes the network the later stages use: with ``criterion: none`` (or rate 0) it is the
trained network unchanged. The board and target are read only for ``granularity: auto``, so only then does
a new target fps prune again.
"""

from __future__ import annotations

import copy

from torch import nn

from hwcompress.boards import cycles_per_image, get_board
from hwcompress.config import PruneConfig
from hwcompress.data import Splits
from hwcompress.fileio import write_json, write_torch
from hwcompress.prune.engine import prune_model, unpruned
from hwcompress.prune.result import PruneSummary
from hwcompress.stages.artifacts import PRUNED_WEIGHTS, PRUNING, TRAINING
from hwcompress.stages.config_reads import whole
from hwcompress.stages.context import StageContext, StageOutput
from hwcompress.stages.networks import flow_data, train_config, trained_network
from hwcompress.train.distill import Distillation
from hwcompress.train.loop import accuracy, fit


def prune_stage(ctx: StageContext) -> StageOutput:
    cfg: PruneConfig = whole(ctx.flow.prune)
    teacher = trained_network(ctx)
    accuracy_unpruned = ctx.read(TRAINING).test_accuracy
    if not cfg.enabled:
        return _write(ctx, teacher, PruneSummary.of(unpruned(teacher), cfg, accuracy_unpruned, accuracy_unpruned))
    data = flow_data(ctx)
    cycles = None
    if cfg.granularity == "auto":
        target = whole(ctx.flow.target)
        cycles = cycles_per_image(get_board(ctx.flow.board), target)

    def fine_tune(model: nn.Module, step: int) -> None:
        _fine_tune(ctx, cfg, model, teacher, data, step)

    result = prune_model(copy.deepcopy(teacher), data, cfg, cycles, fine_tune, ctx.log)
    test_acc = accuracy(result.model, data.test_x, data.test_y)
    return _write(ctx, result.model, PruneSummary.of(result, cfg, accuracy_unpruned, test_acc))


def _write(ctx: StageContext, model: nn.Module, summary: PruneSummary) -> StageOutput:
    write_torch(ctx.output(PRUNED_WEIGHTS), model.state_dict())
    write_json(ctx.output(PRUNING), summary.to_json())
    before = sum(layer.before for layer in summary.layers)
    after = sum(layer.after for layer in summary.layers)
    return StageOutput(
        artifacts=(PRUNED_WEIGHTS, PRUNING),
        summary={"prune.channels": f"{before} -> {after}", "accuracy.pruned": summary.accuracy},
    )


def _fine_tune(
    ctx: StageContext, cfg: PruneConfig, model: nn.Module, teacher: nn.Module, data: Splits, step: int
) -> None:
    if cfg.finetune_epochs == 0:
        return
    base = train_config(ctx)
    train = base.model_copy(update={"epochs": cfg.finetune_epochs, "lr": cfg.finetune_lr or base.lr / 10, "seed": step})
    distill = Distillation(teacher, cfg.distill.alpha, cfg.distill.temperature) if cfg.distill.enabled else None
    key = ctx.fingerprint(step)
    fit(model, data, train, ctx.stage_dir / f"finetune-{step}.pt", key, ctx.reporter, distill)
