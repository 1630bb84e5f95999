"""Exploration of table networks: each candidate counted by the cost model (before it is trained) and trained from
scratch, briefly, to rank it (``explore.tables``)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from hwcompress.boards import clock_mhz, get_board
from hwcompress.config import FlowConfig
from hwcompress.data import Splits
from hwcompress.hw.estimate import Estimate
from hwcompress.models import build_model
from hwcompress.stages.keys import code_identity
from hwcompress.tables.cost import estimate_cost, stream_clocks, untrained_shape
from hwcompress.train.loop import fit

#: What an exploration's trial reads of the flow besides its ``explore`` section.
READS = ("data", "model", "train", "board", "target")


def table_estimate(flow: FlowConfig, input_shape: tuple[int, ...], classes: int) -> Estimate:
    """The cost model's count of ``flow``'s untrained table network, as an estimate: LUT from the model, one image
    per ``beats`` clocks of the stream at the flow's clock (the core takes one per clock), no block RAM or DSP."""
    shape = untrained_shape(flow.model.tables, input_shape, classes)
    cost = estimate_cost(shape)
    clock = clock_mhz(get_board(flow.board), flow.target)
    interval, latency = stream_clocks(shape)
    return Estimate(
        layers=(),
        lut=cost.lut,
        bram18=0,
        uram=0,
        dsp=0,
        fps=clock * 1e6 / interval,
        latency_us=latency / clock,
        max_cycles=interval,
        bottleneck="stream",
        clock_mhz=clock,
        op_counts={},
    )


def train_candidate(flow: FlowConfig, data: Splits, epochs: int, threads: int | None, directory: Path) -> float:
    """Validation accuracy of ``flow``'s table network after ``epochs`` epochs from scratch (the flow's seed)."""
    train = flow.train.model_copy(update={"epochs": epochs, "threads": threads or flow.train.threads})
    torch.manual_seed(train.seed)
    model = build_model(flow.model, flow.quant, data.input_shape, data.num_classes)
    model.calibrate(data.train_x)
    with tempfile.TemporaryDirectory(prefix=".train-", dir=directory) as building:
        history = fit(model, data, train, Path(building) / "checkpoint.pt", "explore")
    return history[-1].val_acc


def study_inputs(flow: FlowConfig) -> list:
    """What decides a trial's result besides the space: the flow's data, model, training, board and target, and
    the code that builds, trains and counts a candidate."""
    values = {key: getattr(flow, key) for key in READS}
    values = {key: value if isinstance(value, str) else value.model_dump(mode="json") for key, value in values.items()}
    return [values, code_identity(__name__)]
