"""The compile stage: the truth tables written as Verilog, synthesized by Yosys, and checked against the board."""

from __future__ import annotations

from hwcompress.boards import get_board
from hwcompress.fileio import write_json
from hwcompress.stages.config_reads import whole
from hwcompress.stages.context import StageContext, StageOutput
from hwcompress.stages.tables.artifacts import RTL, RTL_DESIGN, SYNTHESIS, TABLES
from hwcompress.tables.fit import check_table_fit
from hwcompress.tables.rtl import write_rtl
from hwcompress.tables.yosys import synthesize_design


def compile_stage(ctx: StageContext) -> StageOutput:
    design = write_rtl(ctx.read(TABLES), ctx.stage_dir, ctx.flow.name)
    write_json(ctx.output(RTL_DESIGN), design.to_json())
    synthesis = synthesize_design(ctx.stage_dir, design, ctx.progress)
    write_json(ctx.output(SYNTHESIS), synthesis.to_json())
    total, target = synthesis.total, whole(ctx.flow.target)
    if target.enforce_fit:
        used = {"lut": total.lut, "ff": total.ff}
        check_table_fit(used, get_board(ctx.flow.board), target.max_utilization, "synthesized (Yosys)")
    return StageOutput(
        artifacts=(RTL, RTL_DESIGN, SYNTHESIS),
        summary={"lut": total.lut, "ff": total.ff, "logic_levels": total.logic_levels, "latency": design.latency},
    )
