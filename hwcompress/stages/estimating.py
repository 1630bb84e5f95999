"""FINN's estimate of a network held in memory: the pre-flight check and low-rank LUT budgets share it."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from hwcompress.boards import get_board
from hwcompress.compile.accelerator import Compiled, compile_qonnx
from hwcompress.config import BitfileMode
from hwcompress.export.qonnx_export import export_qonnx_model
from hwcompress.fileio import save_onnx
from hwcompress.stages.config_reads import whole
from hwcompress.stages.context import StageContext

MODEL_FILE = "model.onnx"


def estimate_network(ctx: StageContext, model: nn.Module, input_shape: tuple[int, ...], directory: Path) -> Compiled:
    """Export ``model`` into ``directory`` and compile it as far as FINN's estimates, at the flow's board and
    target, without the fit check, FINN's verify steps or a bitfile."""
    directory.mkdir(parents=True, exist_ok=True)
    save_onnx(export_qonnx_model(model.eval(), input_shape), directory / MODEL_FILE)
    options = whole(ctx.flow.compile).model_copy(update={"finn_verify_samples": 0, "bitfile": BitfileMode.NEVER})
    return compile_qonnx(
        directory / MODEL_FILE,
        directory,
        get_board(ctx.flow.board),
        whole(ctx.flow.target).model_copy(update={"enforce_fit": False}),
        options,
        ctx.env.tools,
        progress=ctx.progress,
    )
