"""The exploration's results as rows: every finished trial, the Pareto front, as CSV and as a markdown table.

Labels: LUT, BRAM18, DSP, fps and latency are estimates (FINN's; the cost model's for table networks); accuracy is
validation accuracy after the candidate's short fine-tune or training (``simulated`` numbers come only from the full
flow a front design is run through).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from hwcompress.explore.space import Design, TableDesign, design_of

#: The user attributes a trial records (set by the objective, read here).
ESTIMATE_ATTR = "estimate"
ACCURACY_ATTR = "val_accuracy"
SECONDS_ATTR = "seconds"
PROPOSED_BY_ATTR = "proposed_by"
SAME_AS_ATTR = "same_as"


@dataclass(frozen=True)
class TrialRow:
    """One finished trial: its design, its estimate, and its validation accuracy (None: never trained)."""

    number: int
    design: Design | TableDesign
    feasible: bool
    val_accuracy: float | None
    lut: float
    bram18: float
    dsp: float
    fps: float
    latency_us: float
    seconds: float
    proposed_by: str = "sampler"

    @property
    def trained(self) -> bool:
        return self.val_accuracy is not None


def row_of(trial: Any) -> TrialRow:
    """A row from an Optuna ``FrozenTrial`` that the exploration's objective finished."""
    estimate = trial.user_attrs[ESTIMATE_ATTR]
    return TrialRow(
        number=trial.number,
        design=design_of(trial.params),
        feasible=all(value <= 0 for value in trial.constraints.values()),
        val_accuracy=trial.user_attrs.get(ACCURACY_ATTR),
        lut=estimate["lut"],
        bram18=estimate["bram18"],
        dsp=estimate["dsp"],
        fps=estimate["fps"],
        latency_us=estimate["latency_us"],
        seconds=trial.user_attrs.get(SECONDS_ATTR, 0.0),
        proposed_by=trial.user_attrs.get(PROPOSED_BY_ATTR, "sampler"),
    )


COLUMNS = ("trial", "feasible", "val_accuracy", "lut", "bram18", "dsp", "fps", "latency_us", "design", "seconds",
           "proposed_by")  # fmt: skip


def to_csv(rows: list[TrialRow]) -> str:
    """``rows`` as CSV with a header; accuracy empty for a design that was never trained."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        accuracy = "" if row.val_accuracy is None else f"{row.val_accuracy:.4f}"
        writer.writerow(
            (row.number, int(row.feasible), accuracy, round(row.lut), round(row.bram18), round(row.dsp),
             round(row.fps), f"{row.latency_us:.2f}", row.design.describe(), f"{row.seconds:.1f}", row.proposed_by)
        )  # fmt: skip
    return out.getvalue()


def front_markdown(front: list[TrialRow], flows: dict[int, str]) -> str:
    """The front as a markdown table, most accurate first, with the flow file that reproduces each design."""
    lines = [
        "| trial | val. accuracy | LUT (estimate) | BRAM18 (estimate) | fps (estimate) | design | flow |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in sorted(front, key=lambda r: -(r.val_accuracy or 0.0)):
        lines.append(
            f"| {row.number} | {row.val_accuracy:.2%} | {row.lut:,.0f} | {row.bram18:,.0f} | {row.fps:,.0f} "
            f"| {row.design.describe()} | `{flows.get(row.number, '')}` |"
        )
    return "\n".join(lines) + "\n"


def fronts_by_fps(rows: list[TrialRow]) -> dict[float, list[TrialRow]]:
    """For each target fps of ``rows``, its feasible, trained designs that no other at that target beats on
    validation accuracy, LUT and BRAM18 together (sorted by LUT)."""
    fronts = {}
    for fps in sorted({row.design.fps for row in rows}):
        rivals = [row for row in rows if row.design.fps == fps and row.feasible and row.trained]
        fronts[fps] = sorted((row for row in rivals if not any(_dominates(o, row) for o in rivals)),
                             key=lambda row: row.lut)  # fmt: skip
    return fronts


def _dominates(a: TrialRow, b: TrialRow) -> bool:
    at_least = a.val_accuracy >= b.val_accuracy and a.lut <= b.lut and a.bram18 <= b.bram18
    return at_least and (a.val_accuracy, a.lut, a.bram18) != (b.val_accuracy, b.lut, b.bram18)


def smallest(rows: list[TrialRow]) -> TrialRow | None:
    """The design with the fewest LUT (then BRAM18) of ``rows``."""
    return min(rows, key=lambda r: (r.lut, r.bram18), default=None)
