"""Compile a QONNX file into a FINN dataflow design: the result the compile stage and the API share."""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hwcompress.boards import Board, clock_mhz
from hwcompress.compile.build import run_finn
from hwcompress.compile.overhead import stream_overhead
from hwcompress.compile.steps import HOST_TAIL_FILE
from hwcompress.config import CompileConfig, TargetConfig
from hwcompress.fileio import write_json
from hwcompress.hw.estimate import Estimate, parse_estimates
from hwcompress.hw.fit import check_fit
from hwcompress.progress import Progress, no_progress
from hwcompress.tools import Toolchain

ESTIMATE_FILE = "estimate.json"
ACCELERATOR_FILE = "accelerator.onnx"
PARENT_FILE = "parent.onnx"
TAIL_FILE = HOST_TAIL_FILE
FINN_DIR = "finn"
#: What a compiled design directory holds for verification and reports (FINN's own build is in ``finn/``).
DESIGN_FILES = (ESTIMATE_FILE, ACCELERATOR_FILE, PARENT_FILE, TAIL_FILE)


@dataclass(frozen=True)
class Compiled:
    """A compiled design: FINN's estimate, FINN's own verify steps, the board, whether a bitfile was built.

    ``directory`` (not stored in ``estimate.json``) holds the graphs verification runs.
    """

    estimate: Estimate
    finn_verify: dict[str, bool]
    board: str
    bitfile: bool
    directory: Path | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "estimate": self.estimate.to_json(),
            "finn_verify": self.finn_verify,
            "board": self.board,
            "bitfile": self.bitfile,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], directory: Path | None = None) -> Compiled:
        return cls(Estimate.from_json(data["estimate"]), data["finn_verify"], data["board"], data["bitfile"], directory)

    @classmethod
    def load(cls, directory: Path) -> Compiled:
        """The design ``compile_qonnx`` wrote into ``directory``."""
        return cls.from_json(json.loads((directory / ESTIMATE_FILE).read_text()), directory)


def compile_qonnx(
    model_path: Path,
    directory: Path,
    board: Board,
    target: TargetConfig,
    options: CompileConfig,
    tools: Toolchain,
    golden: tuple[np.ndarray, np.ndarray] | None = None,
    progress: Progress = no_progress,
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
    build = run_finn(model_path, finn_dir, board, target, options, tools, golden, progress)
    estimate = parse_estimates(build.reports, clock_mhz(board, target))
    estimate = dataclasses.replace(estimate, overhead=stream_overhead(build.accelerator_model, board.part))
    compiled = Compiled(estimate, build.finn_verify_results(), board.name, build.bitfile, directory)
    write_json(directory / ESTIMATE_FILE, compiled.to_json())
    shutil.copyfile(build.accelerator_model, directory / ACCELERATOR_FILE)
    shutil.copyfile(build.parent_model, directory / PARENT_FILE)
    shutil.copyfile(build.host_tail, directory / TAIL_FILE)
    if target.enforce_fit:
        check_fit(estimate, board, target.max_utilization)
    return compiled
