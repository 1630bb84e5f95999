"""The networks and data stages share: rebuilt from the flow and earlier stages' artifacts."""

from __future__ import annotations

from torch import nn

from hwcompress.config import DataConfig
from hwcompress.data import Splits, load_dataset, load_splits
from hwcompress.models import build_model
from hwcompress.prune.groups import coupling_groups
from hwcompress.prune.lowrank import split_layers
from hwcompress.prune.surgery import prune_channels
from hwcompress.stages.artifacts import PRUNED_WEIGHTS, PRUNING, TRAINED_WEIGHTS, TRAINING
from hwcompress.stages.config_reads import whole
from hwcompress.stages.context import StageContext

#: Train settings that say where and how fast, not what: they change no result a stage is keyed on.
EXECUTION_ONLY = ("threads", "device")


def train_config(ctx: StageContext):
    """The flow's ``train`` section, recorded without its execution-only settings."""
    return whole(ctx.flow.train, ignore=EXECUTION_ONLY)


def flow_data(ctx: StageContext) -> Splits:
    """The flow's dataset with its validation split."""
    return load_splits(whole(ctx.flow.data), ctx.env.search)


def input_shape_and_classes(ctx: StageContext) -> tuple[tuple[int, ...], int]:
    """The network's input shape and the number of classes: what a pre-flight needs of the dataset (the split
    settings are not read, so changing them does not rerun it)."""
    flow = ctx.flow
    data_cfg = DataConfig(
        name=flow.data.name,
        path=flow.data.path,
        download=flow.data.download,
        crop_to=flow.data.crop_to,
        pad_to=flow.data.pad_to,
    )
    data = load_dataset(data_cfg, ctx.env.search)
    return data_cfg.image_shape(data.input_shape), data.num_classes


def untrained_network(ctx: StageContext, input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """A fresh network of the flow's architecture and bits."""
    return build_model(whole(ctx.flow.model), whole(ctx.flow.quant), input_shape, num_classes)


def trained_network(ctx: StageContext) -> nn.Module:
    """The network the train stage produced, in eval mode."""
    trained = ctx.read(TRAINING)
    model = untrained_network(ctx, trained.input_shape, trained.num_classes)
    model.load_state_dict(ctx.read(TRAINED_WEIGHTS))
    return model.eval()


def final_network(ctx: StageContext) -> nn.Module:
    """The network the prune stage wrote (pruned, factorized or neither): what is exported, compiled and verified."""
    trained = ctx.read(TRAINING)
    model = untrained_network(ctx, trained.input_shape, trained.num_classes)
    pruning = ctx.read(PRUNING)
    model = prune_channels(model, coupling_groups(model), pruning.keep_indices())
    if pruning.lowrank:
        model = split_layers(model, {factor.layer: factor.split for factor in pruning.lowrank.factors})
    model.load_state_dict(ctx.read(PRUNED_WEIGHTS))
    return model.eval()
