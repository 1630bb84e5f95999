"""The allocator's integer program and its cost bookkeeping, on cases whose answer is known."""

from __future__ import annotations

import pytest

from hwcompress.explore.allocator import Option, allocate, budgets_between, layer_costs
from hwcompress.hw.estimate import LayerEstimate


def _options() -> dict[str, list[Option]]:
    table = {  # layer: [((weight bits, act bits), LUT, BRAM18, loss)]
        "fc0": [((1, 1), 100, 1, 0.10), ((2, 2), 250, 2, 0.02), ((4, 4), 600, 4, 0.0)],
        "fc1": [((1, 1), 50, 1, 0.05), ((2, 2), 120, 1, 0.01), ((4, 4), 300, 2, 0.0)],
        "out": [((2, None), 20, 1, 0.0)],
    }
    return {layer: [Option(layer, *row) for row in rows] for layer, rows in table.items()}


@pytest.mark.parametrize(
    ("budget", "expected"),
    [
        (170, {"fc0": (1, 1), "fc1": (1, 1)}),  # the cheapest is the only fit
        (400, {"fc0": (2, 2), "fc1": (2, 2)}),  # 0.03 lost; (4,4)+(1,1) would cost 670
        (700, {"fc0": (2, 2), "fc1": (4, 4)}),  # 570 LUT lose 0.02; 600 + 50 + 20 = 670 would lose 0.05
        (10_000, {"fc0": (4, 4), "fc1": (4, 4)}),
    ],
)
def test_the_least_loss_that_fits_the_budget(budget, expected):
    chosen = allocate(_options(), budget)
    assert {layer: option.choice for layer, option in chosen.items() if layer != "out"} == expected
    assert sum(option.lut for option in chosen.values()) <= budget


def test_a_budget_below_the_cheapest_design_has_no_allocation_and_bram_binds_too():
    assert allocate(_options(), 100) is None
    chosen = allocate(_options(), 10_000, bram18_budget=5)
    assert sum(option.bram18 for option in chosen.values()) <= 5


def test_each_matrix_unit_carries_the_nodes_before_it_and_the_last_the_ones_after():
    nodes = [
        LayerEstimate("FMPadding_0", "FMPadding", None, None, 0, 10, 0, 0, 0),
        LayerEstimate("MVAU_hls_0", "MVAU_hls", 1, 1, 0, 100, 2, 0, 0),
        LayerEstimate("Thresholding_0", "Thresholding", 1, None, 0, 5, 1, 0, 0),
        LayerEstimate("VVAU_hls_0", "VVAU_hls", 1, 1, 0, 50, 0, 0, 0),
        LayerEstimate("LabelSelect_0", "LabelSelect", 1, None, 0, 7, 0, 0, 0),
    ]
    assert layer_costs(nodes, ["conv0", "conv1"]) == {"conv0": (110, 2), "conv1": (62, 1)}


def test_budgets_spread_geometrically_between_the_ends():
    assert budgets_between(100, 400, 3) == pytest.approx([100, 200, 400])
    assert budgets_between(100, 400, 1) == [400]
