"""FINN's estimate of a network held in memory: the pre-flight check, low-rank LUT budgets and exploration share it."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from hwcompress.boards import Board, get_board
from hwcompress.compile.accelerator import Compiled, compile_qonnx
from hwcompress.config import BitfileMode, CompileConfig, TargetConfig
from hwcompress.export.qonnx_export import export_qonnx_model
from hwcompress.fileio import save_onnx
from hwcompress.progress import Progress, no_progress
from hwcompress.stages.config_reads import whole
from hwcompress.stages.context import StageContext
from hwcompress.tools import Toolchain

MODEL_FILE = "model.onnx"


def estimate_module(
    model: nn.Module,
    input_shape: tuple[int, ...],
    directory: Path,
    board: Board,
    target: TargetConfig,
    options: CompileConfig,
    tools: Toolchain,
    progress: Progress = no_progress,
) -> Compiled:
    """Export ``model`` into ``directory`` and compile it as far as FINN's estimates for ``board`` at ``target``,
    without the fit check, FINN's verify steps or a bitfile."""
    directory.mkdir(parents=True, exist_ok=True)
    save_onnx(export_qonnx_model(model.eval(), input_shape), directory / MODEL_FILE)
    options = options.model_copy(update={"finn_verify_samples": 0, "bitfile": BitfileMode.NEVER})
    target = target.model_copy(update={"enforce_fit": False})
    return compile_qonnx(directory / MODEL_FILE, directory, board, target, options, tools, progress=progress)


def estimate_network(ctx: StageContext, model: nn.Module, input_shape: tuple[int, ...], directory: Path) -> Compiled:
    """``estimate_module`` at the flow's board, target and compile settings."""
    flow = ctx.flow
    board, target, options = get_board(flow.board), whole(flow.target), whole(flow.compile)
    return estimate_module(model, input_shape, directory, board, target, options, ctx.env.tools, ctx.progress)
