"""The RTL on the whole test set in Verilator, against the truth tables: three runs of every image.

- the stream under random gaps on the input and back-pressure on the output (``STALL_IN``, ``STALL_OUT``): every
  image's {counts, class} must equal the tables'; latency and interval are measured with the stalls;
- the stream at full rate: its initiation interval (the beats of an image) and latency;
- the core fed one image per clock: its latency and initiation interval (one clock), and the same answers.

Numbers from here are *simulated-rtl*.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from hwcompress.progress import Progress, no_progress
from hwcompress.tables.rtl import RtlDesign
from hwcompress.tables.tables import TableModel
from hwcompress.tables.verilator import Simulation, simulate

#: Chance that the input has no beat, and that the output is not taken, on a clock of the stalled run.
STALL_IN, STALL_OUT = 0.2, 0.3


@dataclass(frozen=True)
class Timing:
    """Clocks from an image's last input beat (the core: its only one) to its output, and between outputs."""

    latency_min: int
    latency_median: float
    latency_max: int
    interval_median: float
    clocks: int
    seconds: float  # the simulation alone

    @classmethod
    def of(cls, run: Simulation) -> Timing:
        return cls(
            latency_min=min(run.latency),
            latency_median=float(np.median(run.latency)),
            latency_max=max(run.latency),
            interval_median=run.median_interval,
            clocks=run.cycles,
            seconds=run.seconds,
        )


@dataclass(frozen=True)
class RtlVerification:
    """Mismatches of each run against the tables (an image mismatches when its class or any count differs)."""

    samples: int
    mismatches: dict[str, int]
    first_mismatch: int | None
    accuracy_rtl: float
    stalled: Timing
    stream: Timing
    core: Timing
    stall_in: float
    stall_out: float
    seconds: float  # building the testbenches and the three runs
    simulated_clocks_per_second: float  # the runs alone

    @property
    def total_mismatches(self) -> int:
        return max(self.mismatches.values())

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> RtlVerification:
        timings = {key: Timing(**data[key]) for key in ("stalled", "stream", "core")}
        return cls(**{**data, **timings})


def verify_rtl(
    rtl: Path,
    design: RtlDesign,
    model: TableModel,
    images: np.ndarray,
    labels: np.ndarray,
    work: Path,
    progress: Progress = no_progress,
) -> RtlVerification:
    """Simulate ``rtl`` on ``images`` three ways (building the testbenches in ``work``) and compare with ``model``."""
    counts, classes = model.counts(images), model.predict(images)
    began = time.perf_counter()
    runs = {}
    plan = (("stalled", True, STALL_IN, STALL_OUT), ("stream", True, 0.0, 0.0), ("core", False, 0.0, 0.0))
    for done, (name, stream, stall_in, stall_out) in enumerate(plan):
        progress("Verilator", done, len(plan), f"{name} run on {len(images):,} images")
        runs[name] = simulate(rtl, design, images, work, stream=stream, stall_in=stall_in, stall_out=stall_out)
    progress("Verilator", len(plan), len(plan))
    differ = {name: (run.classes != classes) | (run.counts != counts).any(axis=1) for name, run in runs.items()}
    wrong = np.flatnonzero(np.logical_or.reduce(list(differ.values())))
    return RtlVerification(
        samples=len(images),
        mismatches={name: int(d.sum()) for name, d in differ.items()},
        first_mismatch=int(wrong[0]) if len(wrong) else None,
        accuracy_rtl=float((runs["stalled"].classes == labels).mean()),
        stalled=Timing.of(runs["stalled"]),
        stream=Timing.of(runs["stream"]),
        core=Timing.of(runs["core"]),
        stall_in=STALL_IN,
        stall_out=STALL_OUT,
        seconds=time.perf_counter() - began,
        simulated_clocks_per_second=sum(r.cycles for r in runs.values()) / sum(r.seconds for r in runs.values()),
    )
