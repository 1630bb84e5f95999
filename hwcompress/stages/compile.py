"""The compile stage: FINN turns the exported QONNX into a dataflow design for the flow's board."""

from __future__ import annotations

from hwcompress.boards import get_board
from hwcompress.compile.accelerator import compile_qonnx
from hwcompress.stages.artifacts import (
    ACCELERATOR,
    ACCELERATOR_PARENT,
    DESIGN,
    GOLDEN_INPUT,
    GOLDEN_OUTPUT,
    HOST_TAIL,
    QONNX_MODEL,
)
from hwcompress.stages.config_reads import whole
from hwcompress.stages.context import StageContext, StageOutput


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
    return StageOutput(
        artifacts=(DESIGN, ACCELERATOR, ACCELERATOR_PARENT, HOST_TAIL), summary=compiled.estimate.headline()
    )
