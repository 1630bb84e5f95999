"""The export stage: the network to QONNX, checked bit for bit against PyTorch."""

from __future__ import annotations

import numpy as np

from hwcompress.export.check import compare_outputs, op_counts
from hwcompress.export.qonnx_export import export_qonnx_model
from hwcompress.fileio import save_onnx, write_json, write_npy
from hwcompress.stages.artifacts import TRAINING
from hwcompress.stages.context import StageContext, StageOutput
from hwcompress.stages.finn.artifacts import EXPORT_CHECK, GOLDEN_INPUT, GOLDEN_OUTPUT, QONNX_MODEL
from hwcompress.stages.networks import final_network, flow_data
from hwcompress.train.loop import predict
from hwcompress.verify.qonnx_exec import execute_qonnx

#: Test images (and PyTorch outputs) kept for FINN's own verify steps.
GOLDEN_SAMPLES = 32


def export_stage(ctx: StageContext) -> StageOutput:
    model = final_network(ctx)
    qonnx_model = export_qonnx_model(model, ctx.read(TRAINING).input_shape)
    save_onnx(qonnx_model, ctx.output(QONNX_MODEL))

    data = flow_data(ctx)
    count = ctx.flow.verify.export_samples or len(data.test_x)
    images, labels = data.test_x[:count], data.test_y[:count]
    torch_out = predict(model, images).numpy()
    check = compare_outputs(execute_qonnx(qonnx_model, images), torch_out, labels, op_counts(qonnx_model))
    write_json(ctx.output(EXPORT_CHECK), check.to_json())
    write_npy(ctx.output(GOLDEN_INPUT), images[:GOLDEN_SAMPLES].astype(np.float32))
    write_npy(ctx.output(GOLDEN_OUTPUT), torch_out[:GOLDEN_SAMPLES])
    if check.same_predictions < check.samples:
        ctx.log(
            f"warning: QONNX predicts differently from PyTorch on {check.samples - check.same_predictions} of "
            f"{check.samples} test images (max |diff| {check.max_abs_diff:.3g})"
        )
    return StageOutput(
        artifacts=(QONNX_MODEL, EXPORT_CHECK, GOLDEN_INPUT, GOLDEN_OUTPUT),
        summary={"export.bit_exact": f"{check.identical}/{check.samples}"},
    )
