"""The pre-flight stage: FINN's estimate of the untrained network, so that a design that can never fit the
board fails in seconds instead of after training.

Bit widths, layer sizes and folding do not depend on trained weights (FINN's estimate of untrained TFC, SFC
and LeNet-5 is within 0.1 % of the trained one: BENCHMARKS.md). With pruning, the layer sizes are known
before training only for uniform allocation. With global allocation at a rate, the trained scores decide which
layers lose channels; the check takes the cheapest allocation of that rate instead (the channels that cost the
most MACs go first): when even that does not fit, no training can make it fit. A MAC target (``keep_macs``)
is left to the compile stage.
"""

from __future__ import annotations

import torch

from hwcompress.boards import cycles_per_image, get_board
from hwcompress.compile.steps import plan_steps
from hwcompress.config import Allocation
from hwcompress.hw.fit import check_fit
from hwcompress.prune.engine import channel_counts_for
from hwcompress.prune.groups import coupling_groups
from hwcompress.prune.lowrank import bottleneck_bits, split_layers, splits_for
from hwcompress.prune.scoring import per_mac
from hwcompress.prune.surgery import prune_channels
from hwcompress.stages.config_reads import whole
from hwcompress.stages.context import StageContext, StageOutput
from hwcompress.stages.estimating import estimate_network
from hwcompress.stages.finn.artifacts import PREFLIGHT_DESIGN
from hwcompress.stages.networks import input_shape_and_classes, untrained_network


def preflight_stage(ctx: StageContext) -> StageOutput:
    flow = ctx.flow
    input_shape, num_classes = input_shape_and_classes(ctx)
    board, target = get_board(flow.board), whole(flow.target)
    torch.manual_seed(0)
    model = untrained_network(ctx, input_shape, num_classes)
    label = "FINN estimate of the untrained network"
    if flow.prune.enabled:
        prune = whole(flow.prune)
        if prune.keep_macs is not None:
            ctx.log("preflight: this pruning sizes the layers after training; the fit is checked after compiling")
            return StageOutput(artifacts=(), summary={"preflight": "skipped (pruning sized after training)"})
        groups = coupling_groups(model)
        scores = {group.name: torch.ones(group.channels) for group in groups}
        if prune.allocation is Allocation.GLOBAL:
            scores = per_mac(scores, model, groups, input_shape)
            label = f"FINN estimate of the cheapest allocation of prune.rate {prune.rate:g}, costliest channels first"
        cycles = cycles_per_image(board, target)
        counts, _ = channel_counts_for(model, input_shape, scores, prune.rate, prune, cycles)
        model = prune_channels(model, groups, {name: torch.arange(count) for name, count in counts.items()})
    if flow.lowrank.enabled:
        lowrank = whole(flow.lowrank)
        if set(lowrank.ranks) != set(lowrank.layers) or lowrank.lut_budget is not None:
            ctx.log("preflight: low-rank ranks are chosen after training; the fit is checked after compiling")
            return StageOutput(artifacts=(), summary={"preflight": "skipped (ranks chosen after training)"})
        bits = bottleneck_bits(model, lowrank.layers, lowrank.act_bits)
        model = split_layers(model, splits_for(lowrank.ranks, bits, lowrank.weight_bits))
    plan_steps(whole(flow.compile).bitfile, ctx.env.tools)  # 'always' without Vivado fails now, not after training
    design = estimate_network(ctx, model, input_shape, ctx.stage_dir)
    check_fit(design.estimate, board, target.max_utilization, label)
    return StageOutput(artifacts=(PREFLIGHT_DESIGN,), summary=design.estimate.headline())
