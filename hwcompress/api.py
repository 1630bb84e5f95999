"""The public Python API; the CLI is a thin layer over it.

Example:
    >>> import hwcompress
    >>> report = hwcompress.run("flows/quickstart.yaml")
    >>> report["verify"]["mismatches"]
    0
    >>> report = hwcompress.compile_model("my_model.onnx", board="pynq-z2", target_fps=10_000,
    ...                             inputs=x, labels=y)
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hwcompress.boards import get_board
from hwcompress.config import CompileConfig, FlowConfig, OutputsConfig, TargetConfig, load_flow
from hwcompress.errors import HwcompressError
from hwcompress.fileio import save_onnx, write_json, write_text
from hwcompress.flow import Environment, run_dir_of


def run(
    flow: str | Path | FlowConfig,
    *,
    runs_dir: str | Path | None = None,
    force: Sequence[str] = (),
    environment: Environment | None = None,
) -> dict[str, Any]:
    """Run every stage of ``flow`` (a path or a ``FlowConfig``) and return its report.json as a dict."""
    import json

    from hwcompress.flow import run_stages
    from hwcompress.pipeline import STAGES

    config = flow if isinstance(flow, FlowConfig) else load_flow(flow)
    if runs_dir is not None:
        config = config.model_copy(update={"outputs": OutputsConfig(dir=Path(runs_dir))})
    run_stages(config, STAGES, environment or Environment(), force=force)
    return json.loads((run_dir_of(config) / "report.json").read_text())


def compile_model(
    model: str | Path | Any,
    *,
    board: str = "pynq-z2",
    target_fps: float = 100_000,
    clock_mhz: float | None = None,
    inputs: np.ndarray | None = None,
    expected: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    input_shape: Sequence[int] | None = None,
    input_datatype: str | None = None,
    out_dir: str | Path | None = None,
    environment: Environment | None = None,
) -> dict[str, Any]:
    """Compile a QONNX file or a Brevitas module for ``board``, verify it on ``inputs``, write a report.

    Args:
        model: a QONNX ``.onnx`` path, or a Brevitas ``nn.Module`` (then ``input_shape`` is needed).
        inputs: what the model eats, shape (N, ...); the accelerator runs on every row.
        expected: reference outputs for ``inputs``; default: the model itself (qonnx's executor or PyTorch).
        labels: class labels for ``inputs``; gives accuracies.
        input_datatype: FINN datatype of the input (``UINT8`` for pixels); default: left as the model says.
        out_dir: where the design and report go; default ``runs/compile-<model name>``.

    Returns:
        report.json as a dict.
    """
    from hwcompress.compile.accelerator import compile_qonnx
    from hwcompress.report.build import ReportInputs, build_report
    from hwcompress.report.markdown import render_markdown
    from hwcompress.verify.accelerator import verify_compiled

    env = environment or Environment()
    if inputs is None:
        raise HwcompressError("compile needs inputs to verify the design on (a dataset or an inputs .npy file)")
    name = Path(model).stem if isinstance(model, str | Path) else type(model).__name__
    directory = Path(out_dir) if out_dir else Path("runs") / f"compile-{name}"
    directory.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    qonnx_model, reference = _prepare(model, inputs, input_shape, input_datatype)
    shape = _input_shape(qonnx_model)
    if inputs[0].size != np.prod(shape):
        raise HwcompressError(
            f"inputs of shape {tuple(inputs.shape[1:])} do not fit the model's input {shape}; "
            "give one row per sample with the model's input size"
        )
    inputs = inputs.reshape(len(inputs), *shape).astype(np.float32)
    if expected is not None:
        if len(expected) != len(inputs):
            raise HwcompressError(f"expected outputs hold {len(expected)} rows for {len(inputs)} inputs")
        reference = expected
    elif reference is None:
        from hwcompress.verify.qonnx_exec import execute_qonnx

        reference = execute_qonnx(qonnx_model, inputs)
    model_path = directory / "model.onnx"
    save_onnx(qonnx_model, model_path)
    target = TargetConfig(fps=target_fps, clock_mhz=clock_mhz)
    board_spec = get_board(board)
    options = CompileConfig()
    golden = (inputs[: options.finn_verify_samples], reference[: options.finn_verify_samples])
    compiled = compile_qonnx(model_path, directory, board_spec, target, options, env.tools, golden)
    compile_seconds = time.perf_counter() - began
    verification = verify_compiled(directory, inputs, reference, labels)
    report = build_report(
        ReportInputs(
            name=name,
            board=board_spec,
            estimate=compiled.estimate,
            ceiling=target.max_utilization,
            verify=verification.to_json(),
            finn_verify=compiled.finn_verify,
            accuracy_torch=verification.accuracy_reference,
            timings={"compile": compile_seconds, "verify": verification.seconds},
        )
    )
    write_json(directory / "report.json", report)
    write_text(directory / "report.md", render_markdown(report))
    return report


def _prepare(model, inputs, input_shape, input_datatype):
    """The cleaned QONNX graph, and reference outputs when the model is a PyTorch module."""
    from qonnx.core.datatype import DataType
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.cleanup import cleanup_model

    from hwcompress.export.rewrites import RemoveIdentityQuant

    if isinstance(model, str | Path):
        path = Path(model)
        if not path.is_file():
            raise HwcompressError(f"{path}: no such model file")
        try:
            qonnx_model = cleanup_model(ModelWrapper(str(path)))
        except Exception as err:  # onnx raises several types for a damaged file
            raise HwcompressError(f"{path}: not a readable ONNX model ({type(err).__name__}: {err})") from None
        reference = None
    else:
        import torch

        from hwcompress.export.qonnx_export import export_qonnx_model
        from hwcompress.train.loop import predict

        if input_shape is None:
            raise HwcompressError("compiling a PyTorch module needs input_shape, e.g. (1, 28, 28)")
        qonnx_model = export_qonnx_model(model, tuple(input_shape), input_datatype or "FLOAT32")
        with torch.no_grad():
            reference = predict(model, np.ascontiguousarray(inputs.reshape(len(inputs), *input_shape))).numpy()
    if input_datatype:
        try:
            qonnx_model.set_tensor_datatype(qonnx_model.graph.input[0].name, DataType[input_datatype])
        except KeyError:
            raise HwcompressError(f"unknown input datatype '{input_datatype}'; e.g. UINT8, INT8, FLOAT32") from None
        qonnx_model = cleanup_model(qonnx_model.transform(RemoveIdentityQuant()))
    return qonnx_model, reference


def _input_shape(model) -> tuple[int, ...]:
    shape = model.get_tensor_shape(model.graph.input[0].name)
    return tuple(shape[1:])
