"""The train stage: QAT from the flow's config; writes the trained weights and the training history."""

from __future__ import annotations

import io
import json
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from hwcompress.data import load_splits
from hwcompress.fileio import write_bytes, write_json
from hwcompress.flow import StageContext, StageOutput
from hwcompress.models import build_model, describe_layers
from hwcompress.train.loop import accuracy, fit

MODEL_FILE = "model.pt"
INFO_FILE = "train.json"
CHECKPOINT_FILE = "checkpoint.pt"


def train_stage(ctx: StageContext) -> StageOutput:
    flow = ctx.flow
    data = load_splits(flow.data, ctx.env.search)
    torch.manual_seed(flow.train.seed)
    model = build_model(flow.model, flow.quant, data.input_shape, data.num_classes)
    ctx.log(
        f"{flow.model.arch} on {data.name}: {len(data.train_x)} train / {len(data.val_x)} val / "
        f"{len(data.test_x)} test images, {sum(p.numel() for p in model.parameters()):,} parameters"
    )
    ctx.log("layers: " + ", ".join(describe_layers(model, flow.model, flow.quant)))
    history = fit(model, data, flow.train, ctx.stage_dir / CHECKPOINT_FILE, ctx.config_hash, ctx.reporter)
    test_acc = accuracy(model, data.test_x, data.test_y)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    write_bytes(ctx.stage_dir / MODEL_FILE, buffer.getvalue())
    info = {
        "dataset": data.name,
        "input_shape": list(data.input_shape),
        "num_classes": data.num_classes,
        "samples": {"train": len(data.train_x), "val": len(data.val_x), "test": len(data.test_x)},
        "accuracy": {"val": history[-1].val_acc, "test": test_acc},
        "history": [asdict(row) for row in history],
    }
    write_json(ctx.stage_dir / INFO_FILE, info)
    return StageOutput(
        files=(MODEL_FILE, INFO_FILE),
        summary={
            "accuracy.torch": test_acc,
            "accuracy.val": history[-1].val_acc,
            "seconds_per_epoch": sum(r.seconds for r in history) / len(history),
        },
    )


def load_trained_model(ctx: StageContext, stage_dir: Path) -> nn.Module:
    """The network the train stage in ``stage_dir`` produced, in eval mode."""
    info = json.loads((stage_dir / INFO_FILE).read_text())
    model = build_model(ctx.flow.model, ctx.flow.quant, tuple(info["input_shape"]), info["num_classes"])
    model.load_state_dict(torch.load(stage_dir / MODEL_FILE, map_location="cpu", weights_only=True))
    return model.eval()
