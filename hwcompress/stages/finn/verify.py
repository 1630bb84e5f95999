"""The verify stage: the accelerator's dataflow graph on the whole test set, against the PyTorch model in float64."""

from __future__ import annotations

from hwcompress.fileio import write_json, write_npy
from hwcompress.stages.context import StageContext, StageOutput
from hwcompress.stages.finn.artifacts import DATAFLOW_OUTPUTS, DESIGN, VERIFICATION
from hwcompress.stages.networks import final_network, flow_data
from hwcompress.train.reference import predict_exact
from hwcompress.verify.accelerator import verify_compiled


def verify_stage(ctx: StageContext) -> StageOutput:
    data = flow_data(ctx)
    count = ctx.flow.verify.samples or len(data.test_x)
    images, labels = data.test_x[:count], data.test_y[:count]
    reference = predict_exact(final_network(ctx), images).numpy()
    design = ctx.read(DESIGN)
    result = verify_compiled(design.directory, images, reference, labels, ctx.progress)
    write_json(ctx.output(VERIFICATION), result.to_json())
    write_npy(ctx.output(DATAFLOW_OUTPUTS), result.outputs)
    return StageOutput(
        artifacts=(VERIFICATION, DATAFLOW_OUTPUTS),
        summary={
            "verify.samples": result.samples,
            "verify.mismatches": result.mismatches,
            "accuracy.dataflow": result.accuracy_dataflow,
        },
    )
