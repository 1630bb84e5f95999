"""The fast allocator: per-layer bits and widths chosen under a LUT (and BRAM18) budget by an integer program.

Each layer offers options (its weight bits, activation bits, width share, and for the first layer of an MLP the
input crop) with a cost (its share of FINN's estimate of a design with every layer at that choice) and a loss
(the validation accuracy the parent loses when only that layer takes it). Picking one option per layer to
minimize the summed loss under the budget is a multiple-choice knapsack, which CBC (through ``mip``) solves
exactly in milliseconds. The additive model is an approximation: each proposed design is then estimated
exactly and fine-tuned like any other trial.

Example:
    >>> options = {"fc0": [Option("fc0", (1, 1), lut=100, bram18=1, loss=0.05), Option("fc0", (2, 2), 300, 1, 0.0)],
    ...            "out": [Option("out", (2, None), lut=50, bram18=1, loss=0.0)]}
    >>> {layer: option.choice for layer, option in allocate(options, lut_budget=200).items()}
    {'fc0': (1, 1), 'out': (2, None)}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hwcompress.hw.estimate import LayerEstimate


@dataclass(frozen=True)
class Option:
    """One choice for one layer (e.g. weight bits, activation bits, width share, crop), its cost and its loss."""

    layer: str
    choice: tuple
    lut: float
    bram18: float
    loss: float


def allocate(
    options: dict[str, list[Option]], lut_budget: float, bram18_budget: float | None = None
) -> dict[str, Option] | None:
    """The option per layer with the least summed loss whose summed LUT (and BRAM18) fit; None when none fit."""
    import mip

    model = mip.Model(sense=mip.MINIMIZE, solver_name=mip.CBC)
    model.verbose = 0
    keys = [(layer, i) for layer, opts in options.items() for i in range(len(opts))]
    chosen = {key: model.add_var(var_type=mip.BINARY) for key in keys}
    for layer, opts in options.items():
        model += mip.xsum(chosen[layer, i] for i in range(len(opts))) == 1
    every = [(chosen[layer, i], option) for layer, opts in options.items() for i, option in enumerate(opts)]
    model += mip.xsum(option.lut * var for var, option in every) <= lut_budget
    if bram18_budget is not None:
        model += mip.xsum(option.bram18 * var for var, option in every) <= bram18_budget
    model.objective = mip.xsum(option.loss * var for var, option in every)
    status = model.optimize()
    if status not in (mip.OptimizationStatus.OPTIMAL, mip.OptimizationStatus.FEASIBLE):
        return None
    return {
        layer: next(option for i, option in enumerate(opts) if chosen[layer, i].x >= 0.5)
        for layer, opts in options.items()
    }


def layer_costs(layers: Sequence[LayerEstimate], names: Sequence[str]) -> dict[str, tuple[float, float]]:
    """(LUT, BRAM18) per compute layer from a design's node estimates: each matrix unit (MVAU, VVAU) in graph
    order is the next of ``names``, and carries the nodes before it (its sliding window, padding, thresholds);
    nodes after the last unit go to the last layer."""
    costs = {name: [0.0, 0.0] for name in names}
    pending = [0.0, 0.0]
    units = iter(names)
    current = None
    for node in layers:
        pending[0] += node.lut
        pending[1] += node.bram18
        if node.op_type.startswith(("MVAU", "VVAU")):
            current = next(units)
            costs[current][0] += pending[0]
            costs[current][1] += pending[1]
            pending = [0.0, 0.0]
    if current is not None:
        costs[current][0] += pending[0]
        costs[current][1] += pending[1]
    return {name: (lut, bram) for name, (lut, bram) in costs.items()}


def budgets_between(low: float, high: float, count: int) -> list[float]:
    """``count`` budgets spread geometrically from ``low`` to ``high`` (both included when ``count`` > 1)."""
    if count == 1 or high <= low:
        return [high]
    ratio = (high / low) ** (1 / (count - 1))
    return [low * ratio**i for i in range(count)]
