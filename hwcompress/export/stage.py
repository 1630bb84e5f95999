"""The export stage: the trained network to QONNX, checked bit for bit against PyTorch."""

from __future__ import annotations

import json

import numpy as np

from hwcompress.data import load_splits
from hwcompress.export.check import compare_outputs
from hwcompress.export.qonnx_export import export_qonnx_model
from hwcompress.fileio import save_onnx, write_json, write_npy
from hwcompress.flow import StageContext, StageOutput
from hwcompress.prune.stage import load_final_model
from hwcompress.train.loop import predict
from hwcompress.train.stage import INFO_FILE
from hwcompress.verify.qonnx_exec import execute_qonnx

MODEL_FILE = "model.onnx"
CHECK_FILE = "export.json"
GOLDEN_INPUT = "golden_input.npy"
GOLDEN_OUTPUT = "golden_output.npy"
#: Test images (and PyTorch outputs) kept for FINN's own verify steps.
GOLDEN_SAMPLES = 32


def export_stage(ctx: StageContext) -> StageOutput:
    train_dir = ctx.stage_dir_of("train")
    info = json.loads((train_dir / INFO_FILE).read_text())
    model = load_final_model(ctx)
    qonnx_model = export_qonnx_model(model, tuple(info["input_shape"]))
    save_onnx(qonnx_model, ctx.stage_dir / MODEL_FILE)

    data = load_splits(ctx.flow.data, ctx.env.search)
    count = ctx.flow.verify.export_samples or len(data.test_x)
    images, labels = data.test_x[:count], data.test_y[:count]
    torch_out = predict(model, images).numpy()
    check = compare_outputs(execute_qonnx(qonnx_model, images), torch_out, labels)
    write_json(ctx.stage_dir / CHECK_FILE, {**check.to_json(), "nodes": _op_counts(qonnx_model)})
    write_npy(ctx.stage_dir / GOLDEN_INPUT, images[:GOLDEN_SAMPLES].astype(np.float32))
    write_npy(ctx.stage_dir / GOLDEN_OUTPUT, torch_out[:GOLDEN_SAMPLES])
    if check.same_predictions < check.samples:
        ctx.log(
            f"warning: QONNX predicts differently from PyTorch on {check.samples - check.same_predictions} of "
            f"{check.samples} test images (max |diff| {check.max_abs_diff:.3g})"
        )
    return StageOutput(
        files=(MODEL_FILE, CHECK_FILE, GOLDEN_INPUT, GOLDEN_OUTPUT),
        summary={"export.bit_exact": f"{check.identical}/{check.samples}"},
    )


def _op_counts(model) -> dict[str, int]:
    counts: dict[str, int] = {}
    for node in model.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts
