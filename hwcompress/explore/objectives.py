"""What a trial reports to the study: its objective values and its constraint violations (> 0: violated).

Every hardware number is FINN's estimate; accuracy is on the validation split, after the candidate's short
fine-tune from the parent.
"""

from __future__ import annotations

from dataclasses import dataclass

from hwcompress.boards import Board
from hwcompress.config import ExploreConfig, Objective, Utilization
from hwcompress.hw.estimate import Estimate
from hwcompress.hw.fit import usage

#: Optuna's direction of each objective.
DIRECTIONS = {
    Objective.ACCURACY: "maximize",
    Objective.LUT: "minimize",
    Objective.BRAM18: "minimize",
    Objective.FPS: "maximize",
    Objective.LATENCY: "minimize",
}


@dataclass(frozen=True)
class Limits:
    """The constraints a design must meet: the board under the ceilings, the budgets, the accuracy floor."""

    board: Board
    ceiling: Utilization
    lut_budget: int | None = None
    bram18_budget: int | None = None
    accuracy_floor: float = 0.0

    @classmethod
    def of(cls, board: Board, ceiling: Utilization, space: ExploreConfig) -> Limits:
        return cls(board, ceiling, space.lut_budget, space.bram18_budget, space.accuracy_floor)


def hardware_violations(estimate: Estimate, target_fps: float, limits: Limits) -> dict[str, float]:
    """How far the design is over each hardware limit, as a share of the limit (<= 0: met); every limit counts
    what the board-fit check counts (``hw.fit.counted``)."""
    rows = {row.resource: row for row in usage(estimate, limits.board, limits.ceiling)}
    violations = {f"fit.{name}": _over(row.used, row.allowed) for name, row in rows.items()}
    if limits.lut_budget is not None:
        violations["budget.lut"] = _over(rows["lut"].used, limits.lut_budget)
    if limits.bram18_budget is not None:
        violations["budget.bram18"] = _over(rows["bram18"].used, limits.bram18_budget)
    violations["fps"] = _over(target_fps, estimate.fps)
    return violations


def accuracy_violation(accuracy: float, limits: Limits) -> float:
    """How far validation accuracy is under the floor (<= 0: met)."""
    return limits.accuracy_floor - accuracy


def _over(used: float, allowed: float) -> float:
    if allowed <= 0:
        return float(used > 0)
    return used / allowed - 1.0


def objective_values(objectives: list[Objective], accuracy: float, estimate: Estimate) -> list[float]:
    """The values in ``objectives``' order."""
    numbers = {
        Objective.ACCURACY: accuracy,
        Objective.LUT: estimate.lut,
        Objective.BRAM18: estimate.bram18,
        Objective.FPS: estimate.fps,
        Objective.LATENCY: estimate.latency_us,
    }
    return [float(numbers[objective]) for objective in objectives]
