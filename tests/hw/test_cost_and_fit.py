import dataclasses

import pytest

from hwcompress.boards import get_board
from hwcompress.config import Utilization
from hwcompress.hw.cost import layer_costs, totals
from hwcompress.hw.fit import BoardFitError, check_fit


def test_cost_model_counts_a_known_mlp(tiny_design):
    costs = layer_costs(tiny_design["model"], (1, 8, 8))
    assert [(c.name, c.params, c.weight_bits, c.input_bits) for c in costs] == [
        ("fc0", 64 * 32, 2, 8),
        ("out", 32 * 10, 2, 2),
    ]
    assert totals(costs)["bops"] == 64 * 32 * 2 * 8 + 32 * 10 * 2 * 2
    assert totals(costs)["weight_memory_bits"] == (64 * 32 + 32 * 10) * 2


def test_cost_model_agrees_with_finns_op_and_param_counts(tiny_design):
    counts = tiny_design["compiled"].estimate.op_counts
    costs = layer_costs(tiny_design["model"], (1, 8, 8))
    finn_macs = sum(v for k, v in counts.items() if k.startswith("op_mac_"))
    finn_weights = sum(v for k, v in counts.items() if k.startswith("param_weight_"))
    assert finn_macs == totals(costs)["macs"]
    assert finn_weights == totals(costs)["params"]
    for cost in costs:
        assert (
            f"op_mac_{cost.weight_bits}bx{cost.input_bits}b" in counts
            or f"op_mac_{cost.input_bits}bx{cost.weight_bits}b" in counts
        )


def test_fit_error_gives_the_numbers(tiny_design):
    estimate = dataclasses.replace(tiny_design["compiled"].estimate, lut=61_200.0)
    with pytest.raises(BoardFitError) as err:
        check_fit(estimate, get_board("pynq-z2"), Utilization(lut=0.85))
    assert str(err.value) == (
        "design does not fit pynq-z2: needs 61,200 LUT of 45,220 allowed (85% of 53,200) (FINN estimate); "
        "lower target.fps, use fewer bits, or prune"
    )
    rows = check_fit(tiny_design["compiled"].estimate, get_board("pynq-z2"), Utilization())
    assert all(row.fits for row in rows) and {row.resource for row in rows} == {"lut", "bram18", "uram", "dsp"}
