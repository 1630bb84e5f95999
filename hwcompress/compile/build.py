"""Run the FINN builder (finn-plus) on a QONNX model for a board and a target."""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwcompress.boards import Board, clock_mhz
from hwcompress.compile.finn_compat import prepare_finn
from hwcompress.compile.steps import HOST_TAIL_FILE, host_nodes_refusal, plan_steps
from hwcompress.config import CompileConfig, TargetConfig
from hwcompress.errors import HwcompressError
from hwcompress.progress import Progress, no_progress
from hwcompress.tools import Toolchain

#: The model FINN's estimates describe: the dataflow partition after folding and bit-width minimization.
ACCELERATOR_STEP = "step_minimize_bit_width"


@dataclass(frozen=True)
class FinnBuild:
    """Where a finished FINN build put things."""

    output_dir: Path
    bitfile: bool

    @property
    def reports(self) -> Path:
        return self.output_dir / "report"

    @property
    def accelerator_model(self) -> Path:
        return self.output_dir / "intermediate_models" / f"{ACCELERATOR_STEP}.onnx"

    @property
    def parent_model(self) -> Path:
        return self.output_dir / "intermediate_models" / "dataflow_parent.onnx"

    @property
    def host_tail(self) -> Path:
        return self.output_dir / HOST_TAIL_FILE

    def finn_verify_results(self) -> dict[str, bool]:
        """FINN's own verify steps, in the order the build runs them: step name -> every golden sample passed."""
        from finn.builder.build_dataflow_config import VerificationStepType

        results: dict[str, bool] = {}
        for path in sorted((self.output_dir / "verification_output").glob("verify_*_*.npy")):
            match = re.fullmatch(r"verify_(.+)_\d+_(SUCCESS|FAIL)", path.stem)
            if match:
                step, verdict = match.groups()
                results[step] = results.get(step, True) and verdict == "SUCCESS"
        order = [step.value for step in VerificationStepType]
        return dict(sorted(results.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order)))


def run_finn(
    model_path: Path,
    output_dir: Path,
    board: Board,
    target: TargetConfig,
    options: CompileConfig,
    tools: Toolchain,
    golden: tuple[np.ndarray, np.ndarray] | None = None,
    progress: Progress = no_progress,
) -> FinnBuild:
    """Build ``model_path`` for ``board`` at ``target``; FINN's verify steps use ``golden`` (inputs, outputs).

    ``progress`` hears ``("FINN", i, n, step name)`` as each of FINN's steps starts.

    Raises:
        HwcompressError: FINN stopped; the message carries FINN's own error line and the log's path.
    """
    build = prepare_finn(output_dir / "tmp", vivado_present=tools.can_build_bitfile)
    from finn.builder import build_dataflow_config as bc

    plan = plan_steps(options.bitfile, tools)
    outputs = [bc.DataflowOutputType.ESTIMATE_REPORTS]
    if plan.bitfile:
        outputs += [bc.DataflowOutputType.BITFILE, bc.DataflowOutputType.PYNQ_DRIVER]
        outputs += [bc.DataflowOutputType.DEPLOYMENT_PACKAGE]
    verify = {}
    if golden is not None and len(golden[0]):
        np.save(output_dir / "golden_input.npy", golden[0].astype(np.float32))
        np.save(output_dir / "golden_output.npy", golden[1].astype(np.float32))
        verify = {
            "verify_steps": [
                bc.VerificationStepType.QONNX_TO_FINN_PYTHON,
                bc.VerificationStepType.TIDY_UP_PYTHON,
                bc.VerificationStepType.STREAMLINED_PYTHON,
            ],
            "verify_input_npy": str(output_dir / "golden_input.npy"),
            "verify_expected_output_npy": str(output_dir / "golden_output.npy"),
        }
    cfg = bc.DataflowBuildConfig(
        output_dir=str(output_dir),
        synth_clk_period_ns=1000.0 / clock_mhz(board, target),
        target_fps=max(1, round(target.fps)),
        board=board.finn_board,
        shell_flow_type=bc.ShellFlowType(board.shell_flow.value),
        folding_config_file=str(options.folding_config) if options.folding_config else None,
        mvau_wwidth_max=options.mvau_wwidth_max,
        generate_outputs=outputs,
        steps=plan.steps,
        save_intermediate_models=True,
        **verify,
    )
    log = _StepTap(progress)
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        try:
            status = build.build_dataflow_cfg(str(model_path), cfg)
        except Exception:  # FINN raises a step's error itself (instead of returning -1) under pytest
            _raise_refusal(output_dir)
            raise
    log.finish()
    if status != 0:
        _raise_refusal(output_dir)
        raise HwcompressError(
            f"FINN failed in {_finn_error(output_dir, log.getvalue())} (log: {output_dir / 'build_dataflow.log'})"
        )
    return FinnBuild(output_dir=output_dir, bitfile=plan.bitfile)


def _raise_refusal(output_dir: Path) -> None:
    """Raise the host-nodes step's one line when it is what stopped the build."""
    problem = host_nodes_refusal(output_dir)
    if problem:
        raise HwcompressError(problem)


class _StepTap(io.StringIO):
    """FINN's console output, kept for the error message; each "Running step" line goes to ``progress``."""

    STEP = re.compile(r"Running step: (\w+) \[(\d+)/(\d+)\]")

    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress
        self.total = 0

    def write(self, text: str) -> int:
        for name, done, total in self.STEP.findall(text):
            self.total = int(total)
            self.progress("FINN", int(done) - 1, self.total, name)
        return super().write(text)

    def finish(self) -> None:
        if self.total:
            self.progress("FINN", self.total, self.total, "done")


def _finn_error(output_dir: Path, console: str) -> str:
    """Which step failed and FINN's exception, from its log file (or its console output)."""
    logfile = output_dir / "build_dataflow.log"
    text = (logfile.read_text(errors="replace") if logfile.exists() else "") + "\n" + console
    steps = re.findall(r"Running step: (\w+)", text)
    reasons = [r.strip() for r in re.findall(r"FINN (?:INTERNAL COMPILER )?ERROR:(.*)", text) if r.strip()]
    exceptions = re.findall(r"^(\w+(?:Error|Exception)\b.*)$", text, flags=re.MULTILINE)
    reason = (reasons or exceptions or ["see the log"])[-1].strip()
    return f"{steps[-1] if steps else 'an unknown step'}: {reason}"
