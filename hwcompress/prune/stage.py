"""The prune stage: ``prune_model`` on the trained network, fine-tuning with the unpruned network as teacher.

The stage always writes the network the later stages use: with ``criterion: none`` (or rate 0) it is the
trained network unchanged.
"""

from __future__ import annotations

import copy
import io
import json

import torch
from torch import nn

from hwcompress.boards import clock_mhz, get_board
from hwcompress.data import Splits, load_splits
from hwcompress.fileio import write_bytes, write_json
from hwcompress.flow import StageContext, StageOutput
from hwcompress.models import build_model
from hwcompress.prune.engine import prune_model
from hwcompress.prune.groups import sequential_groups
from hwcompress.prune.surgery import prune_channels
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
    cycles = clock_mhz(get_board(ctx.flow.board), ctx.flow.target) * 1e6 / ctx.flow.target.fps

    def fine_tune(model: nn.Module, step: int) -> None:
        _fine_tune(ctx, model, teacher, data, step)

    result = prune_model(copy.deepcopy(teacher), data, cfg, cycles, fine_tune, ctx.log)
    test_acc = accuracy(result.model, data.test_x, data.test_y)
    buffer = io.BytesIO()
    torch.save(result.model.state_dict(), buffer)
    write_bytes(ctx.stage_dir / MODEL_FILE, buffer.getvalue())
    write_json(
        ctx.stage_dir / PRUNE_FILE,
        {
            "criterion": cfg.criterion.value,
            "rate": cfg.rate,
            "achieved_rate": result.achieved_rate,
            "allocation": cfg.allocation.value,
            "granularity": cfg.granularity,
            "layers": [
                {
                    "name": name,
                    "before": count,
                    "after": result.after[name],
                    "granularity": result.granularity.get(name, 1),
                }
                for name, count in result.before.items()
            ],
            "schedule": cfg.schedule.value,
            "keep": {name: index.tolist() for name, index in result.keep.items()},
            "accuracy": {"unpruned_test": train_info["accuracy"]["test"], "test": test_acc},
            "steps": result.steps,
        },
    )
    return StageOutput(
        files=(MODEL_FILE, PRUNE_FILE),
        summary={
            "prune.channels": f"{sum(result.before.values())} -> {sum(result.after.values())}",
            "accuracy.pruned": test_acc,
        },
    )


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
