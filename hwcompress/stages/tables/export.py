"""The export stage: the trained table network enumerated into truth tables, checked against the network on the
test set (the same counts and classes)."""

from __future__ import annotations

from hwcompress.fileio import write_json
from hwcompress.stages.context import StageContext, StageOutput
from hwcompress.stages.networks import final_network, flow_data
from hwcompress.stages.tables.artifacts import TABLE_ARRAYS, TABLES, TABLES_CHECK
from hwcompress.tables.check import check_tables
from hwcompress.tables.tables import TableModel


def export_stage(ctx: StageContext) -> StageOutput:
    net = final_network(ctx)
    model = TableModel.of(net)
    model.save(ctx.stage_dir)
    data = flow_data(ctx)
    count = ctx.flow.verify.export_samples or len(data.test_x)
    check = check_tables(net, model, data.test_x[:count], data.test_y[:count])
    write_json(ctx.output(TABLES_CHECK), check.to_json())
    if check.mismatches:
        ctx.log(f"export: the tables answer {check.mismatches:,} of {check.samples:,} test images differently")
    return StageOutput(
        artifacts=(TABLES, TABLE_ARRAYS, TABLES_CHECK),
        summary={"export.mismatches": check.mismatches, "accuracy.tables": check.accuracy_tables},
    )
