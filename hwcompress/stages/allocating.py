"""The allocator's proposals: per-layer costs from FINN estimates of uniform designs, per-layer losses from the
parent, and one design per LUT budget from the integer program; they enter the study as queued trials."""

from __future__ import annotations

import time
from collections.abc import Callable

from hwcompress.config import FlowConfig
from hwcompress.explore.allocator import Option, allocate, budgets_between, layer_costs
from hwcompress.explore.front import PROPOSED_BY_ATTR
from hwcompress.explore.inherit import inherit
from hwcompress.explore.space import ALL, Design, design_flow, width_keys
from hwcompress.models import layer_plan
from hwcompress.stages.exploring import JOURNAL, TrialObjective, explore_dir, study_name
from hwcompress.stages.keys import FileContents
from hwcompress.tools import Environment
from hwcompress.train.loop import accuracy


def allocator_designs(objective: TrialObjective, count: int, log: Callable[[str], None]) -> list[Design]:
    """Up to ``count`` designs, one per LUT budget from the cheapest allocation to the most the limits allow.

    A layer's option is its (weight bits, activation bits, width share) and, for an MLP's first layer, the crop.
    Costs: FINN's estimate of the design with every layer at one (bits, share), at the largest crop, split per
    layer; a smaller crop scales the first layer's cost by its share of the pixels. Losses, added per option:
    the parent's validation accuracy minus its accuracy with only that layer at those bits, at that width, or
    the input at that crop (inherited weights, no fine-tune). A CNN's width stays at the widest share.
    """
    began = time.perf_counter()
    flow, space = objective.flow, objective.space
    layers = flow.model.layer_names
    keys = width_keys(flow.model)
    shares = sorted(space.widths) if ALL not in keys else [max(space.widths)]
    crops = sorted(space.crop) or [None]
    fps = float((space.fps or [flow.target.fps])[0])
    parent_bits = {spec.name: (spec.weight_bits, spec.act_bits) for spec in layer_plan(flow.model, flow.quant)}
    full = {key: 1.0 for key in keys}

    def design(bits: dict[str, tuple[int, int | None]], widths: dict[str, float], crop: int | None) -> Design:
        acts = {layer: a for layer, (_, a) in bits.items() if a is not None}
        return Design({layer: w for layer, (w, _) in bits.items()}, acts, widths, crop, fps)

    base = _val_accuracy(objective, design(parent_bits, full, None))

    def loss(bits=parent_bits, widths=full, crop=None) -> float:
        return base - _val_accuracy(objective, design(bits, widths, crop))

    bit_pairs = [(w, a) for w in space.weight_bits for a in space.act_bits]
    layer_bits = dict.fromkeys((layer, (w, a if layer != "out" else None)) for layer in layers for w, a in bit_pairs)
    bits_loss = {(layer, bits): loss(bits={**parent_bits, layer: bits}) for layer, bits in layer_bits}
    width_loss = {(key, share): loss(widths={**full, key: share}) if share != 1.0 else 0.0 for key in keys
                  for share in shares}  # fmt: skip
    crop_loss = {crop: loss(crop=crop) if crop else 0.0 for crop in crops}

    options: dict[str, dict[tuple, Option]] = {layer: {} for layer in layers}
    for (w, a), share in ((pair, share) for pair in bit_pairs for share in shares):
        bits = {layer: (w, a if layer != "out" else None) for layer in layers}
        widths = {key: share for key in keys}
        child = design_flow(flow, design(bits, widths, crops[-1]), "allocator")
        costs = layer_costs(objective.estimate(child, objective.data(child)).layers, layers)
        for index, layer in enumerate(layers):
            own_share = share if layer in keys or ALL in keys else 1.0
            for crop in crops if index == 0 and space.crop else [crops[-1]]:
                choice = (*bits[layer], own_share, crop)
                pixels = (crop / crops[-1]) ** 2 if crop else 1.0
                lut, bram18 = costs[layer]
                cost = (lut * pixels, bram18 * pixels) if index == 0 else (lut, bram18)
                penalty = bits_loss[layer, bits[layer]] + width_loss.get((layer, own_share), 0.0)
                penalty += crop_loss[crop] if index == 0 else 0.0
                options[layer].setdefault(choice, Option(layer, choice, *cost, penalty))
    table = {layer: list(choices.values()) for layer, choices in options.items()}
    ceiling = objective.board.resources.lut * flow.target.max_utilization.lut
    high = min(space.lut_budget or ceiling, ceiling, sum(max(o.lut for o in opts) for opts in table.values()))
    low = sum(min(o.lut for o in opts) for opts in table.values())
    designs: list[Design] = []
    for budget in budgets_between(low, high, count):
        chosen = allocate(table, budget, space.bram18_budget)
        if chosen is None:
            continue
        bits = {layer: option.choice[:2] for layer, option in chosen.items()}
        widths = {key: chosen[key].choice[2] if key in chosen else shares[-1] for key in keys}
        proposal = design(bits, widths, chosen[layers[0]].choice[3])
        if proposal not in designs:
            designs.append(proposal)
    log(f"explore: the allocator proposes {len(designs)} design(s) in {time.perf_counter() - began:.0f} s")
    return designs


def _val_accuracy(objective: TrialObjective, design: Design) -> float:
    """Validation accuracy of the parent's weights inherited by ``design`` (its bits, widths and crop; no
    fine-tune)."""
    child = design_flow(objective.flow, design, "probe")
    data = objective.data(child)
    model = inherit(objective.parent_state, objective.flow.model, child.model, child.quant, objective.parent_shape,
                    data.input_shape, objective.classes)  # fmt: skip
    return accuracy(model, data.val_x, data.val_y)


def queue_allocator_designs(flow: FlowConfig, env: Environment, storage_url: str | None, log) -> int:
    """Queue the allocator's designs as the study's first trials (a new study only); how many were queued."""
    from hwcompress.explore.study import load_study, open_storage

    name = study_name(flow, FileContents(env.search))
    study = load_study(open_storage(storage_url, explore_dir(flow) / JOURNAL), name, flow.explore)
    if not flow.explore.allocator or study.get_trials(deepcopy=False):
        return 0
    designs = allocator_designs(TrialObjective(flow, env), flow.explore.allocator, log)
    for design in designs:
        study.enqueue_trial(design.params(), user_attrs={PROPOSED_BY_ATTR: "allocator"}, skip_if_exists=True)
    return len(designs)
