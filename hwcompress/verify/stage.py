"""The verify stage: the accelerator's dataflow graph on the whole test set, against the PyTorch model."""

from __future__ import annotations

from hwcompress.data import load_splits
from hwcompress.fileio import write_json
from hwcompress.flow import StageContext, StageOutput
from hwcompress.prune.stage import load_final_model
from hwcompress.train.loop import predict
from hwcompress.verify.accelerator import verify_compiled

RESULT_FILE = "verify.json"


def verify_stage(ctx: StageContext) -> StageOutput:
    data = load_splits(ctx.flow.data, ctx.env.search)
    count = ctx.flow.verify.samples or len(data.test_x)
    images, labels = data.test_x[:count], data.test_y[:count]
    model = load_final_model(ctx)
    reference = predict(model, images).numpy()
    result = verify_compiled(ctx.stage_dir_of("compile"), images, reference, labels)
    write_json(ctx.stage_dir / RESULT_FILE, result.to_json())
    return StageOutput(
        files=(RESULT_FILE,),
        summary={
            "verify.samples": result.samples,
            "verify.mismatches": result.mismatches,
            "accuracy.dataflow": result.accuracy_dataflow,
        },
    )
