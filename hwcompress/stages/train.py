"""The train stage: QAT from the flow's config; writes the trained weights and the training history."""

from __future__ import annotations

import torch

from hwcompress.fileio import write_json, write_torch
from hwcompress.models import describe_layers
from hwcompress.stages.artifacts import TRAINED_WEIGHTS, TRAINING
from hwcompress.stages.config_reads import whole
from hwcompress.stages.context import StageContext, StageOutput
from hwcompress.stages.networks import flow_data, train_config, untrained_network
from hwcompress.train.loop import accuracy, fit, training_device
from hwcompress.train.result import TrainingResult

CHECKPOINT = "checkpoint.pt"


def train_stage(ctx: StageContext) -> StageOutput:
    data = flow_data(ctx)
    train = train_config(ctx)
    torch.manual_seed(train.seed)
    model = untrained_network(ctx, data.input_shape, data.num_classes)
    calibrate = getattr(model, "calibrate", None)  # an input encoder fitted to the training images
    if calibrate is not None:
        calibrate(data.train_x)
    ctx.log(
        f"{ctx.flow.model.arch} on {data.name}: {len(data.train_x)} train / {len(data.val_x)} val / "
        f"{len(data.test_x)} test images, {sum(p.numel() for p in model.parameters()):,} parameters"
    )
    ctx.log("layers: " + ", ".join(describe_layers(model, whole(ctx.flow.model), whole(ctx.flow.quant))))
    history = fit(model, data, train, ctx.stage_dir / CHECKPOINT, ctx.fingerprint(), ctx.reporter)
    test_acc = accuracy(model, data.test_x, data.test_y)
    write_torch(ctx.output(TRAINED_WEIGHTS), model.state_dict())
    result = TrainingResult(
        dataset=data.name,
        input_shape=tuple(data.input_shape),
        num_classes=data.num_classes,
        samples={"train": len(data.train_x), "val": len(data.val_x), "test": len(data.test_x)},
        val_accuracy=history[-1].val_acc,
        test_accuracy=test_acc,
        history=tuple(history),
        device=str(training_device(train.device)),
    )
    write_json(ctx.output(TRAINING), result.to_json())
    return StageOutput(
        artifacts=(TRAINED_WEIGHTS, TRAINING),
        summary={
            "accuracy.torch": test_acc,
            "accuracy.val": result.val_accuracy,
            "seconds_per_epoch": result.seconds_per_epoch,
            "device": result.device,
        },
    )
