"""Constraint values: <= 0 when met, the share over the limit when not."""

from __future__ import annotations

import pytest

from hwcompress.boards import get_board
from hwcompress.config import Objective, Utilization
from hwcompress.explore.objectives import Limits, accuracy_violation, hardware_violations, objective_values
from hwcompress.hw.estimate import Estimate


def _estimate(lut: float, bram18: float, fps: float) -> Estimate:
    return Estimate((), lut, bram18, 0.0, 0.0, fps, 10.0, 1000, "MVAU_0", 100.0, {})


def test_violations_are_shares_over_each_limit():
    limits = Limits(get_board("pynq-z2"), Utilization(lut=0.5), lut_budget=2_000, bram18_budget=10)
    violations = hardware_violations(_estimate(3_000, 5, 50_000), 100_000, limits)
    assert violations["budget.lut"] == pytest.approx(0.5)
    assert violations["budget.bram18"] == pytest.approx(-0.5)
    assert violations["fit.lut"] == pytest.approx(3_000 / 26_600 - 1)
    assert violations["fps"] == pytest.approx(1.0)  # half the target fps
    assert accuracy_violation(0.9, Limits(get_board("pynq-z2"), Utilization(), accuracy_floor=0.95)) > 0


def test_objective_values_follow_the_configured_order():
    values = objective_values([Objective.LUT, Objective.ACCURACY, Objective.FPS], 0.97, _estimate(1_234, 3, 5e4))
    assert values == [1_234, 0.97, 5e4]
