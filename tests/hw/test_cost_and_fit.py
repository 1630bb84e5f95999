"""The cost model and the board-fit check are pure functions: no training, no FINN build."""

import dataclasses

import pytest
import torch

from hwcompress.boards import Shell, get_board
from hwcompress.config import ModelConfig, QuantConfig, Utilization, parse_flow
from hwcompress.errors import ConfigError
from hwcompress.hw.cost import layer_costs, totals
from hwcompress.hw.estimate import Estimate, Overhead
from hwcompress.hw.fit import BoardFitError, check_fit, counted, usage
from hwcompress.models import build_model


def estimate(**resources) -> Estimate:
    values = {"lut": 1000.0, "bram18": 4.0, "uram": 0.0, "dsp": 0.0, **resources}
    return Estimate(
        layers=(), fps=1e5, latency_us=10.0, max_cycles=1000, bottleneck="MVAU_hls_0", clock_mhz=100.0, op_counts={},
        **values,
    )  # fmt: skip


def test_cost_model_counts_a_known_mlp():
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch="mlp", hidden=(32,)), QuantConfig(weight_bits=2, act_bits=2), (1, 8, 8), 10)
    costs = layer_costs(model, (1, 8, 8))
    assert [(c.name, c.params, c.weight_bits, c.input_bits) for c in costs] == [
        ("fc0", 64 * 32, 2, 8),
        ("out", 32 * 10, 2, 2),
    ]
    assert totals(costs)["bops"] == 64 * 32 * 2 * 8 + 32 * 10 * 2 * 2
    assert totals(costs)["weight_memory_bits"] == (64 * 32 + 32 * 10) * 2


def test_fit_error_gives_the_numbers_and_where_they_come_from():
    with pytest.raises(BoardFitError) as err:
        check_fit(estimate(lut=61_200.0), get_board("pynq-z2"), Utilization(lut=0.85))
    assert str(err.value) == (
        "design does not fit pynq-z2: needs 61,200 LUT of 45,220 allowed (85% of 53,200) (FINN estimate: the "
        "layers, 0 data-width converters and 0 FIFOs; not the DMAs and the shell (no figure for pynq-z2: the ceiling "
        "leaves them the rest)); lower target.fps, use fewer bits, or prune"
    )
    with pytest.raises(BoardFitError, match=r"needs 300 BRAM18 of 280 allowed .* \(before training: the layers"):
        check_fit(estimate(bram18=300.0), get_board("pynq-z2"), Utilization(), "before training")


def test_usage_rows_fit_exactly_at_the_ceiling():
    board = get_board("pynq-z2")
    rows = {row.resource: row for row in check_fit(estimate(lut=45_220.0), board, Utilization(lut=0.85))}
    assert set(rows) == {"lut", "bram18", "uram", "dsp"} and rows["lut"].fits
    assert rows["lut"].share == pytest.approx(0.85)
    over = {row.resource: row for row in usage(estimate(lut=45_221.0), board, Utilization(lut=0.85))}
    assert not over["lut"].fits


def test_fit_counts_the_converters_and_fifos_between_layers_and_a_measured_shell():
    board = get_board("pynq-z2")
    streams = Overhead(lut=300.0, bram18=2.0, converters=3, fifos=8)
    design = dataclasses.replace(estimate(lut=44_000.0), overhead=streams)
    rows = {row.resource: row for row in usage(design, board, Utilization())}
    assert rows["lut"].used == 44_300 and rows["bram18"].used == 6
    assert counted(design, board).startswith("the layers, 3 data-width converters and 8 FIFOs; not the DMAs")
    shell = Shell(lut=1_000, bram18=4, source="a post-implementation report")
    measured = board.model_copy(update={"shell": shell})
    with pytest.raises(BoardFitError, match=r"needs 45,300 LUT of 45,220 allowed .* and the shell \(a post-impl"):
        check_fit(design, measured, Utilization())
    assert {row.resource: row.used for row in usage(design, measured, Utilization())}["bram18"] == 10


def test_a_compiled_design_counts_what_finn_inserts_between_its_layers(tiny_design):
    """FINN's own estimates of the FIFOs (and converters) its full build inserts, which its reports leave out."""
    overhead = tiny_design["compiled"].estimate.overhead
    assert overhead.fifos >= 3 and overhead.lut > 0
    rows = {row.resource: row for row in usage(tiny_design["compiled"].estimate, get_board("pynq-z2"), Utilization())}
    assert rows["lut"].used == tiny_design["compiled"].estimate.lut + overhead.lut


def test_a_flip_flop_ceiling_is_refused_where_it_is_read(tiny_flow):
    with pytest.raises(ConfigError, match=r"target\.max_utilization\.ff: FINN estimates no flip-flops"):
        parse_flow(tiny_flow(target={"max_utilization": {"ff": 0.5}}))
