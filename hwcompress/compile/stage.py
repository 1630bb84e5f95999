"""The compile stage: FINN turns the exported QONNX into a dataflow design for the flow's board."""

from __future__ import annotations

import numpy as np

from hwcompress.boards import get_board
from hwcompress.compile.accelerator import Compiled, compile_qonnx
from hwcompress.export.stage import GOLDEN_INPUT, GOLDEN_OUTPUT, MODEL_FILE
from hwcompress.flow import StageContext, StageOutput


def compile_stage(ctx: StageContext) -> StageOutput:
    flow = ctx.flow
    export_dir = ctx.stage_dir_of("export")
    n = flow.compile.finn_verify_samples
    golden = (np.load(export_dir / GOLDEN_INPUT)[:n], np.load(export_dir / GOLDEN_OUTPUT)[:n]) if n else None
    result = compile_qonnx(
        export_dir / MODEL_FILE, ctx.stage_dir, get_board(flow.board), flow.target, flow.compile, ctx.env.tools, golden
    )
    e = result.estimate
    return StageOutput(
        files=Compiled.files,
        summary={
            "estimate.lut": e.lut,
            "estimate.bram18": e.bram18,
            "estimate.dsp": e.dsp,
            "estimate.fps": e.fps,
            "estimate.latency_us": e.latency_us,
        },
    )
