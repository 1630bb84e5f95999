"""The report stage of a table network: report.json and report.md from every earlier stage's results."""

from __future__ import annotations

from hwcompress.boards import get_board
from hwcompress.stages.artifacts import MEASURED, TRAINING
from hwcompress.stages.config_reads import whole
from hwcompress.stages.context import StageContext, StageOutput
from hwcompress.stages.reporting import publish_report
from hwcompress.stages.tables.artifacts import RTL_DESIGN, RTL_VERIFICATION, SYNTHESIS, TABLES, TABLES_CHECK
from hwcompress.tables.cost import TableShape, estimate_cost
from hwcompress.tables.report import TableReportInputs, build_table_report, render_table_markdown


def report_stage(ctx: StageContext) -> StageOutput:
    trained, model, design = ctx.read(TRAINING), ctx.read(TABLES), ctx.read(RTL_DESIGN)
    board, target = get_board(ctx.flow.board), whole(ctx.flow.target)
    shape = TableShape(design.pixels, len(model.thresholds), design.layers, model.layers[0].fan_in,
                       design.classes, design.encoder_bits, design.input_bits)  # fmt: skip
    report = build_table_report(
        TableReportInputs(
            name=ctx.flow.name,
            board=board,
            clock_mhz=target.clock_mhz or board.clock_mhz,
            ceiling=target.max_utilization,
            model=model,
            design=design,
            synthesis=ctx.read(SYNTHESIS),
            cost=estimate_cost(shape),
            check=ctx.read(TABLES_CHECK),
            verify=ctx.read(RTL_VERIFICATION),
            dataset=trained.dataset,
            accuracy_val=trained.val_accuracy,
            measured=ctx.read(MEASURED).to_json() if ctx.flow.deploy.host else None,
            timings=ctx.timings(),
        )
    )
    return publish_report(ctx, report, render_table_markdown(report))
