"""FINN's estimate of a network held in memory: the pre-flight check, low-rank LUT budgets and exploration share it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import nn

from hwcompress.boards import Board, get_board
from hwcompress.compile.accelerator import Compiled, compile_qonnx
from hwcompress.config import BitfileMode, CompileConfig, FlowConfig, TargetConfig
from hwcompress.export.qonnx_export import export_qonnx_model
from hwcompress.fileio import save_onnx
from hwcompress.progress import Progress, no_progress
from hwcompress.stages.config_reads import ConfigView, whole
from hwcompress.stages.context import StageContext
from hwcompress.tools import Toolchain

MODEL_FILE = "model.onnx"


#: Compile settings an estimate does not depend on (it builds no bitfile and runs no FINN verify step).
ESTIMATE_IGNORES = ("bitfile", "finn_verify_samples")


@dataclass(frozen=True)
class EstimateSettings:
    """What an estimate of a flow's network reads of the flow besides the network itself."""

    board: Board
    target: TargetConfig
    options: CompileConfig


def estimate_settings(flow: ConfigView | FlowConfig) -> EstimateSettings:
    """The board, target and compile settings of ``flow`` an estimate uses (read through a recording view, they are
    exactly what a cached estimate is keyed on)."""
    target = TargetConfig(fps=flow.target.fps, clock_mhz=flow.target.clock_mhz, enforce_fit=False)
    options = whole(flow.compile, ignore=ESTIMATE_IGNORES)
    options = options.model_copy(update={"finn_verify_samples": 0, "bitfile": BitfileMode.NEVER})
    return EstimateSettings(get_board(flow.board), target, options)


def estimate_module(
    model: nn.Module,
    input_shape: tuple[int, ...],
    directory: Path,
    settings: EstimateSettings,
    tools: Toolchain,
    progress: Progress = no_progress,
) -> Compiled:
    """Export ``model`` into ``directory`` and compile it as far as FINN's estimates, without the fit check,
    FINN's verify steps or a bitfile."""
    directory.mkdir(parents=True, exist_ok=True)
    save_onnx(export_qonnx_model(model.eval(), input_shape), directory / MODEL_FILE)
    board, target, options = settings.board, settings.target, settings.options
    return compile_qonnx(directory / MODEL_FILE, directory, board, target, options, tools, progress=progress)


def estimate_network(ctx: StageContext, model: nn.Module, input_shape: tuple[int, ...], directory: Path) -> Compiled:
    """``estimate_module`` at the flow's board, target and compile settings."""
    return estimate_module(model, input_shape, directory, estimate_settings(ctx.flow), ctx.env.tools, ctx.progress)
