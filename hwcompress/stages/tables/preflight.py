"""The pre-flight stage: the cost model's count of the untrained table network against the board, and the tools
the compile and verify stages need, so that neither fails after training."""

from __future__ import annotations

from hwcompress.boards import get_board
from hwcompress.errors import HwcompressError
from hwcompress.fileio import write_json
from hwcompress.stages.config_reads import whole
from hwcompress.stages.context import StageContext, StageOutput
from hwcompress.stages.networks import input_shape_and_classes
from hwcompress.stages.tables.artifacts import PREFLIGHT_COST
from hwcompress.tables.cost import estimate_cost, untrained_shape
from hwcompress.tables.fit import check_table_fit
from hwcompress.tables.verilator import VERILATOR, verilator_version
from hwcompress.tables.yosys import YOSYS, yosys_version


def preflight_stage(ctx: StageContext) -> StageOutput:
    for tool, version in ((YOSYS, yosys_version), (VERILATOR, verilator_version)):
        if version() is None:
            raise HwcompressError(f"{tool} not found: a table network needs it; run make install")
    input_shape, classes = input_shape_and_classes(ctx)
    shape = untrained_shape(whole(ctx.flow.model.tables), input_shape, classes)
    cost = estimate_cost(shape)
    target = whole(ctx.flow.target)
    check_table_fit(
        {"lut": cost.lut, "ff": cost.ff},
        get_board(ctx.flow.board),
        target.max_utilization,
        "cost model of the untrained network",
    )
    write_json(ctx.output(PREFLIGHT_COST), cost.to_json())
    return StageOutput(artifacts=(PREFLIGHT_COST,), summary={"cost_model.lut": cost.lut, "cost_model.ff": cost.ff})
