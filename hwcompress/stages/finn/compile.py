"""The compile stage: FINN turns the exported QONNX into a dataflow design for the flow's board."""

from __future__ import annotations

from hwcompress.boards import get_board
from hwcompress.compile.accelerator import compile_qonnx
from hwcompress.hw.estimate import Estimate
from hwcompress.stages.config_reads import whole
from hwcompress.stages.context import StageContext, StageOutput
from hwcompress.stages.finn.artifacts import (
    ACCELERATOR,
    ACCELERATOR_PARENT,
    DESIGN,
    GOLDEN_INPUT,
    GOLDEN_OUTPUT,
    HOST_TAIL,
    QONNX_MODEL,
)


def compile_stage(ctx: StageContext) -> StageOutput:
    options = whole(ctx.flow.compile)
    n = options.finn_verify_samples
    golden = (ctx.read(GOLDEN_INPUT)[:n], ctx.read(GOLDEN_OUTPUT)[:n]) if n else None
    compiled = compile_qonnx(
        ctx.read(QONNX_MODEL),
        ctx.stage_dir,
        get_board(ctx.flow.board),
        whole(ctx.flow.target),
        options,
        ctx.env.tools,
        golden,
        ctx.progress,
    )
    shortfall = fps_shortfall(compiled.estimate, ctx.flow.target.fps, options.mvau_wwidth_max)
    if shortfall:
        ctx.log(f"compile: {shortfall}")
    return StageOutput(
        artifacts=(DESIGN, ACCELERATOR, ACCELERATOR_PARENT, HOST_TAIL), summary=compiled.estimate.headline()
    )


def fps_shortfall(estimate: Estimate, target_fps: float, mvau_wwidth_max: int) -> str | None:
    """A line saying that FINN folded for fewer fps than the target, which layer limits it and what would help;
    None when the target is met (within 1 %)."""
    if estimate.fps >= 0.99 * target_fps:
        return None
    layer = next((layer for layer in estimate.layers if layer.name == estimate.bottleneck), None)
    folding = [
        f"{name} {value}" for name, value in (("PE", layer and layer.pe), ("SIMD", layer and layer.simd)) if value
    ]
    where = estimate.bottleneck + (f" ({', '.join(folding)})" if folding else "")
    if estimate.bottleneck.startswith("MVAU"):
        hint = f"raise compile.mvau_wwidth_max ({mvau_wwidth_max} bits now) so its SIMD can grow, or narrow it"
    elif folding:
        hint = "narrow the layers around it"
    else:
        hint = "FINN does not fold it"
    return (
        f"FINN folded for {estimate.fps:,.0f} fps, short of target.fps {target_fps:,.0f} (estimate): {where} "
        f"limits it; {hint}, or lower target.fps"
    )
