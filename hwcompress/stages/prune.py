"""The prune stage: channel pruning (``prune_model``) and low-rank factorization of the trained network, each
fine-tuned with the unpruned network as teacher.

The stage always writes the network the later stages use: with neither method on, it is the trained network
unchanged. The board and target are read only for ``granularity: auto`` (and a LUT budget), so only then does
a new target fps prune again.
"""

from __future__ import annotations

import copy
import dataclasses
import tempfile
from pathlib import Path

import torch
from torch import nn

from hwcompress.boards import cycles_per_image, get_board
from hwcompress.config import LowRankConfig, PruneConfig
from hwcompress.data import Splits
from hwcompress.fileio import write_json, write_torch
from hwcompress.prune.engine import prune_model, unpruned
from hwcompress.prune.lowrank import LowRankSummary, plan_factors
from hwcompress.prune.lowrank_fit import factorize
from hwcompress.prune.result import PruneSummary
from hwcompress.stages.artifacts import PRUNED_WEIGHTS, PRUNING, TRAINING
from hwcompress.stages.config_reads import whole
from hwcompress.stages.context import StageContext, StageOutput
from hwcompress.stages.estimating import estimate_network
from hwcompress.stages.networks import flow_data, train_config, trained_network
from hwcompress.train.distill import Distillation
from hwcompress.train.loop import accuracy, fit


def prune_stage(ctx: StageContext) -> StageOutput:
    cfg: PruneConfig = whole(ctx.flow.prune)
    lowrank: LowRankConfig = whole(ctx.flow.lowrank)
    teacher = trained_network(ctx)
    accuracy_unpruned = ctx.read(TRAINING).test_accuracy
    model, summary = teacher, PruneSummary.of(unpruned(teacher), cfg, accuracy_unpruned, accuracy_unpruned)
    if not cfg.enabled and not lowrank.enabled:
        return _write(ctx, model, summary)
    data = flow_data(ctx)
    if cfg.enabled:
        cycles = _cycles(ctx) if cfg.granularity == "auto" else None

        def fine_tune(model: nn.Module, step: int) -> None:
            _fine_tune(ctx, cfg, model, teacher, data, step)

        result = prune_model(copy.deepcopy(teacher), data, cfg, cycles, fine_tune, ctx.log)
        model = result.model
        summary = PruneSummary.of(result, cfg, accuracy_unpruned, accuracy(model, data.test_x, data.test_y))
    if lowrank.enabled:
        model, factorized = _factorize(ctx, lowrank, model, teacher, data, summary.accuracy)
        summary = dataclasses.replace(summary, lowrank=factorized, accuracy=factorized.accuracy)
    return _write(ctx, model, summary)


def _cycles(ctx: StageContext) -> float:
    return cycles_per_image(get_board(ctx.flow.board), whole(ctx.flow.target))


def _factorize(
    ctx: StageContext, cfg: LowRankConfig, model: nn.Module, teacher: nn.Module, data: Splits, accuracy_before: float
) -> tuple[nn.Module, LowRankSummary]:
    """``model`` with ``cfg.layers`` factorized, fitted on training images and fine-tuned."""
    cycles = _cycles(ctx) if cfg.granularity == "auto" or cfg.lut_budget is not None else None

    def lut_of(candidate: nn.Module) -> float:
        with tempfile.TemporaryDirectory(dir=ctx.stage_dir) as tmp:
            return estimate_network(ctx, candidate, data.input_shape, Path(tmp)).estimate.lut

    factors = plan_factors(model, cfg, data.input_shape, cycles, lut_of, ctx.log)
    ctx.log("lowrank: " + ", ".join(f"{f.layer} rank {f.rank}/{f.full_rank} ({f.energy:.1%} energy)" for f in factors))
    torch.manual_seed(0)
    model = factorize(model, factors, torch.from_numpy(data.train_x[: cfg.calibration_images]))
    initial = accuracy(model, data.test_x, data.test_y)
    ctx.log(f"lowrank: test {accuracy_before:.2%} before, {initial:.2%} factorized; fine-tuning")
    _fine_tune(ctx, cfg, model, teacher, data, "lowrank")
    final = accuracy(model.eval(), data.test_x, data.test_y)
    ctx.log(f"lowrank: test {final:.2%} fine-tuned")
    return model, LowRankSummary(factors, accuracy_before, initial, final, cfg.lut_budget)


def _write(ctx: StageContext, model: nn.Module, summary: PruneSummary) -> StageOutput:
    write_torch(ctx.output(PRUNED_WEIGHTS), model.state_dict())
    write_json(ctx.output(PRUNING), summary.to_json())
    before = sum(layer.before for layer in summary.layers)
    after = sum(layer.after for layer in summary.layers)
    result = {"prune.channels": f"{before} -> {after}", "accuracy.pruned": summary.accuracy}
    if summary.lowrank:
        result |= {
            "lowrank.ranks": ", ".join(f"{f.layer} {f.rank}" for f in summary.lowrank.factors),
            "accuracy.factorized": summary.lowrank.accuracy,
        }
    return StageOutput(artifacts=(PRUNED_WEIGHTS, PRUNING), summary=result)


def _fine_tune(
    ctx: StageContext,
    cfg: PruneConfig | LowRankConfig,
    model: nn.Module,
    teacher: nn.Module,
    data: Splits,
    step: int | str,
) -> None:
    if cfg.finetune_epochs == 0:
        return
    base = train_config(ctx)
    seed = step if isinstance(step, int) else 0
    train = base.model_copy(update={"epochs": cfg.finetune_epochs, "lr": cfg.finetune_lr or base.lr / 10, "seed": seed})
    distill = Distillation(teacher, cfg.distill.alpha, cfg.distill.temperature) if cfg.distill.enabled else None
    key = ctx.fingerprint(step)
    fit(model, data, train, ctx.stage_dir / f"finetune-{step}.pt", key, ctx.reporter, distill)
