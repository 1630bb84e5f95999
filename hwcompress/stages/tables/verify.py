"""The verify stage: the Verilog in Verilator on the whole test set, against the truth tables."""

from __future__ import annotations

import shutil

from hwcompress.fileio import write_json
from hwcompress.stages.context import StageContext, StageOutput
from hwcompress.stages.networks import flow_data
from hwcompress.stages.tables.artifacts import RTL, RTL_DESIGN, RTL_VERIFICATION, TABLES
from hwcompress.tables.verification import verify_rtl

#: Where the testbenches are built (removed afterwards: the Verilog and the result are what count).
WORK = "sim"


def verify_stage(ctx: StageContext) -> StageOutput:
    data = flow_data(ctx)
    count = ctx.flow.verify.samples or len(data.test_x)
    work = ctx.stage_dir / WORK
    result = verify_rtl(
        ctx.path(RTL), ctx.read(RTL_DESIGN), ctx.read(TABLES), data.test_x[:count], data.test_y[:count], work,
        ctx.progress,
    )  # fmt: skip
    shutil.rmtree(work, ignore_errors=True)
    write_json(ctx.output(RTL_VERIFICATION), result.to_json())
    return StageOutput(
        artifacts=(RTL_VERIFICATION,),
        summary={
            "verify.samples": result.samples,
            "verify.mismatches": result.total_mismatches,
            "accuracy.rtl": result.accuracy_rtl,
        },
    )
