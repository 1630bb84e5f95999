"""Verify a compiled design: its dataflow graph on every given input, compared exactly with a reference."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from hwcompress.compile.accelerator import ACCELERATOR_FILE, FINN_DIR, PARENT_FILE, TAIL_FILE
from hwcompress.driver.host_tail import predictions
from hwcompress.errors import HwcompressError
from hwcompress.progress import Progress, no_progress
from hwcompress.verify.compare import compare
from hwcompress.verify.dataflow_exec import Accelerator
from hwcompress.verify.divergence import first_divergence

#: Samples also run one at a time through FINN's unchanged executor, to guard the batched execution.
GUARD_SAMPLES = 8


@dataclass(frozen=True)
class Verification:
    """Simulated results: the accelerator's dataflow graph executed here, bit-exactly."""

    samples: int
    mismatches: int
    first_mismatch: int | None
    max_abs_int_diff: float
    accuracy_dataflow: float | None
    accuracy_reference: float | None
    seconds: float
    #: Where the outputs first part from the reference among FINN's steps (``divergence``); None without mismatches.
    divergence: dict | None = None
    #: The accelerator's integer outputs (not stored in verify.json).
    outputs: np.ndarray | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "outputs"}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Verification:
        return cls(**data)


def verify_compiled(
    directory: Path,
    inputs: np.ndarray,
    reference: np.ndarray,
    labels: np.ndarray | None = None,
    progress: Progress = no_progress,
) -> Verification:
    """Run the design in ``directory`` on ``inputs``; compare with ``reference`` outputs; score ``labels``.

    Raises:
        HwcompressError: the batched execution disagrees with FINN's per-sample execution (a bug here).
    """
    began = time.perf_counter()
    accelerator = Accelerator.load(directory / PARENT_FILE, directory / ACCELERATOR_FILE)
    tail = json.loads((directory / TAIL_FILE).read_text())
    outputs = accelerator.execute(inputs, progress=progress)
    guard = accelerator.execute_per_sample(inputs[:GUARD_SAMPLES])
    if not np.array_equal(guard, outputs[:GUARD_SAMPLES]):
        raise HwcompressError(
            "batched dataflow execution disagrees with FINN's per-sample execution; "
            "please report this with the flow (verify.samples can be lowered to run per sample)"
        )
    result = compare(outputs, reference, tail)
    divergence = None
    if result.mismatches:
        wrong = result.differing
        found = first_divergence(directory / FINN_DIR, accelerator, inputs[wrong], reference[wrong], tail)
        divergence = found.to_json() if found else None
    accuracy = None if labels is None else float((predictions(outputs, tail) == labels).mean())
    ref_accuracy = None if labels is None else float((reference.reshape(len(reference), -1).argmax(1) == labels).mean())
    return Verification(
        samples=result.samples,
        mismatches=result.mismatches,
        first_mismatch=result.first_mismatch,
        max_abs_int_diff=result.max_abs_int_diff,
        accuracy_dataflow=accuracy,
        accuracy_reference=ref_accuracy,
        seconds=time.perf_counter() - began,
        divergence=divergence,
        outputs=outputs,
    )
