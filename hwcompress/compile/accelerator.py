"""Compile a QONNX file into a FINN dataflow design: the result the compile stage and the API share."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwcompress.boards import Board, clock_mhz
from hwcompress.compile.build import run_finn
from hwcompress.compile.steps import HOST_TAIL_FILE
from hwcompress.config import CompileConfig, TargetConfig
from hwcompress.fileio import write_json
from hwcompress.hw.estimate import Estimate, parse_estimates
from hwcompress.hw.fit import Usage, check_fit
from hwcompress.hw.fit import usage as usage_of
from hwcompress.tools import Toolchain

ESTIMATE_FILE = "estimate.json"
ACCELERATOR_FILE = "accelerator.onnx"
PARENT_FILE = "parent.onnx"
TAIL_FILE = HOST_TAIL_FILE
FINN_DIR = "finn"


@dataclass(frozen=True)
class Compiled:
    """A compiled design in ``directory``: FINN's estimate, its fit, the graphs verification runs."""

    directory: Path
    estimate: Estimate
    usage: list[Usage]
    finn_verify: dict[str, bool]
    bitfile: bool

    files = (ESTIMATE_FILE, ACCELERATOR_FILE, PARENT_FILE, TAIL_FILE)


def compile_qonnx(
    model_path: Path,
    directory: Path,
    board: Board,
    target: TargetConfig,
    options: CompileConfig,
    tools: Toolchain,
    golden: tuple[np.ndarray, np.ndarray] | None = None,
) -> Compiled:
    """FINN build, estimates, board-fit check; the accelerator graphs are copied next to ``estimate.json``.

    Raises:
        BoardFitError: the estimate exceeds ``target.max_utilization`` and ``target.enforce_fit`` is set
            (raised after the estimate is written).
        HwcompressError: FINN failed.
    """
    finn_dir = directory / FINN_DIR
    shutil.rmtree(finn_dir, ignore_errors=True)
    finn_dir.mkdir(parents=True)
    build = run_finn(model_path, finn_dir, board, target, options, tools, golden)
    estimate = parse_estimates(build.reports, clock_mhz(board, target))
    finn_verify = build.finn_verify_results()
    write_json(
        directory / ESTIMATE_FILE,
        {"estimate": estimate.to_json(), "finn_verify": finn_verify, "board": board.name, "bitfile": build.bitfile},
    )
    shutil.copyfile(build.accelerator_model, directory / ACCELERATOR_FILE)
    shutil.copyfile(build.parent_model, directory / PARENT_FILE)
    shutil.copyfile(build.host_tail, directory / TAIL_FILE)
    fit = check_fit if target.enforce_fit else usage_of
    usage = fit(estimate, board, target.max_utilization)
    return Compiled(directory, estimate, usage, finn_verify, build.bitfile)
