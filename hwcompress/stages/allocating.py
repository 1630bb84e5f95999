"""The allocator's proposals: per-layer costs from FINN estimates of uniform designs, per-layer losses from the
parent, and one design per LUT budget from the integer program; they enter the study as queued trials."""

from __future__ import annotations

import time
from collections.abc import Callable

from hwcompress.config import FlowConfig
from hwcompress.explore.allocator import Option, allocate, budgets_between, layer_costs
from hwcompress.explore.front import PROPOSED_BY_ATTR
from hwcompress.explore.inherit import inherit
from hwcompress.explore.space import Design, design_flow, width_keys
from hwcompress.models import layer_plan
from hwcompress.stages.exploring import JOURNAL, TrialObjective, explore_dir, study_name
from hwcompress.tools import Environment
from hwcompress.train.loop import accuracy


def allocator_designs(objective: TrialObjective, count: int, log: Callable[[str], None]) -> list[Design]:
    """Up to ``count`` designs, one per LUT budget from the cheapest allocation to the most the limits allow.

    Costs: FINN's estimate of the design with every layer at one (weight, activation) pair, split per layer.
    Losses: the parent's validation accuracy minus its accuracy with one layer at that pair (no fine-tune).
    Widths and crop are the widest the space offers; the fps is its first.
    """
    began = time.perf_counter()
    flow, space = objective.flow, objective.space
    layers = flow.model.layer_names
    widths = {key: max(space.widths) for key in width_keys(flow.model)}
    crop, fps = (max(space.crop) if space.crop else None), float((space.fps or [flow.target.fps])[0])
    parent_bits = {spec.name: (spec.weight_bits, spec.act_bits) for spec in layer_plan(flow.model, flow.quant)}

    def design(bits: dict[str, tuple[int, int | None]], widths=widths, crop=crop) -> Design:
        acts = {layer: a for layer, (_, a) in bits.items() if a is not None}
        return Design({layer: w for layer, (w, _) in bits.items()}, acts, widths, crop, fps)

    full = {key: 1.0 for key in widths}
    parent_data = objective.data(flow)
    base = _val_accuracy(objective, design(parent_bits, full, None), parent_data)
    options: dict[str, list[Option]] = {layer: [] for layer in layers}
    for w in space.weight_bits:
        for a in space.act_bits:
            uniform = design({layer: (w, a if layer != "out" else None) for layer in layers})
            child = design_flow(flow, uniform, "allocator")
            costs = layer_costs(objective.estimate(child, objective.data(child).input_shape).layers, layers)
            for layer in layers:
                bits = (w, a if layer != "out" else None)
                if any(option.bits == bits for option in options[layer]):
                    continue
                probe = design({**parent_bits, layer: bits}, full, None)
                loss = base - _val_accuracy(objective, probe, parent_data)
                options[layer].append(Option(layer, bits, *costs[layer], loss))
    ceiling = objective.board.resources.lut * flow.target.max_utilization.lut
    high = min(space.lut_budget or ceiling, ceiling, sum(max(o.lut for o in opts) for opts in options.values()))
    low = sum(min(o.lut for o in opts) for opts in options.values())
    designs: list[Design] = []
    for budget in budgets_between(low, high, count):
        chosen = allocate(options, budget, space.bram18_budget)
        if chosen is None:
            continue
        proposal = design({layer: option.bits for layer, option in chosen.items()})
        if proposal not in designs:
            designs.append(proposal)
    log(f"explore: the allocator proposes {len(designs)} design(s) in {time.perf_counter() - began:.0f} s")
    return designs


def _val_accuracy(objective: TrialObjective, design: Design, data) -> float:
    """Validation accuracy of the parent's weights at ``design``'s bits (full width, no fine-tune)."""
    child = design_flow(objective.flow, design, "probe")
    model = inherit(objective.parent_state, objective.flow.model, child.model, child.quant, objective.parent_shape,
                    data.input_shape, objective.classes)  # fmt: skip
    return accuracy(model, data.val_x, data.val_y)


def queue_allocator_designs(flow: FlowConfig, env: Environment, storage_url: str | None, log) -> int:
    """Queue the allocator's designs as the study's first trials (a new study only); how many were queued."""
    from hwcompress.explore.study import load_study, open_storage

    study = load_study(open_storage(storage_url, explore_dir(flow) / JOURNAL), study_name(flow), flow.explore)
    if not flow.explore.allocator or study.get_trials(deepcopy=False):
        return 0
    designs = allocator_designs(TrialObjective(flow, env), flow.explore.allocator, log)
    for design in designs:
        study.enqueue_trial(design.params(), user_attrs={PROPOSED_BY_ATTR: "allocator"}, skip_if_exists=True)
    return len(designs)
