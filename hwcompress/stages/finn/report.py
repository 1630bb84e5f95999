"""The report stage: report.json and report.md from every earlier stage's results."""

from __future__ import annotations

from hwcompress.boards import get_board
from hwcompress.hw.cost import layer_costs
from hwcompress.report.build import ReportInputs, build_report
from hwcompress.report.markdown import render_markdown
from hwcompress.stages.artifacts import MEASURED, PRUNING, SPARSIFIED, TRAINING
from hwcompress.stages.config_reads import whole
from hwcompress.stages.context import StageContext, StageOutput
from hwcompress.stages.finn.artifacts import DESIGN, EXPORT_CHECK, VERIFICATION
from hwcompress.stages.networks import final_network
from hwcompress.stages.reporting import publish_report


def report_stage(ctx: StageContext) -> StageOutput:
    trained, pruned, design = ctx.read(TRAINING), ctx.read(PRUNING), ctx.read(DESIGN)
    report = build_report(
        ReportInputs(
            name=ctx.flow.name,
            board=get_board(ctx.flow.board),
            estimate=design.estimate,
            ceiling=whole(ctx.flow.target.max_utilization),
            verify=ctx.read(VERIFICATION),
            finn_verify=design.finn_verify,
            dataset=trained.dataset,
            accuracy_torch=pruned.accuracy,
            accuracy_val=trained.val_accuracy,
            export=ctx.read(EXPORT_CHECK),
            costs=layer_costs(final_network(ctx), trained.input_shape),
            prune=pruned,
            sparsify=ctx.read(SPARSIFIED) if ctx.flow.sparsify.enabled else None,
            measured=ctx.read(MEASURED) if ctx.flow.deploy.host else None,
            timings=ctx.timings(),
        )
    )
    return publish_report(ctx, report, render_markdown(report))
