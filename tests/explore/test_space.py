"""The search space: what a trial draws, and the flow that rebuilds a design."""

from __future__ import annotations

import itertools

import optuna
import pytest

from hwcompress.config import ExploreConfig, parse_flow
from hwcompress.errors import ConfigError
from hwcompress.explore.space import (
    ALL,
    Design,
    TableDesign,
    check_space,
    design_flow,
    design_of,
    space_size,
    suggest_design,
)
from hwcompress.models import layer_plan


def _flow(tiny_flow, **overrides):
    return parse_flow(tiny_flow(model={"hidden": [32, 16]}, **overrides))


def test_a_drawn_design_becomes_a_flow_with_its_bits_widths_crop_and_fps(tiny_flow):
    flow = _flow(tiny_flow)
    space = ExploreConfig(weight_bits=[1, 2, 4], act_bits=[1, 3], widths=[0.5], crop=[6], fps=[250_000])
    params = {"w.fc0": 1, "w.fc1": 4, "w.out": 2, "a.fc0": 3, "a.fc1": 1,
              "width.fc0": 0.5, "width.fc1": 0.5, "crop": 6, "fps": 250_000}  # fmt: skip
    design = suggest_design(optuna.trial.FixedTrial(params), flow, space)
    assert Design.from_params(design.params()) == design
    child = design_flow(flow, design, "tiny-d3")
    assert child.name == "tiny-d3" and child.explore is None
    assert child.model.hidden_widths == (16, 8)
    bits = {layer.name: (layer.weight_bits, layer.act_bits) for layer in layer_plan(child.model, child.quant)}
    assert bits == {"fc0": (1, 3), "fc1": (4, 1), "out": (2, None)}
    assert child.data.crop_to == 6 and child.target.fps == 250_000
    assert design.describe() == "fc0 w1a3 x0.5, fc1 w4a1 x0.5, out w2; crop 6"


def test_a_convolutional_network_narrows_all_at_once_and_cannot_crop(tiny_flow):
    flow = parse_flow(tiny_flow(model={"arch": "lenet5", "hidden": None}, data={"pad_to": 28}))
    design = suggest_design(optuna.trial.FixedTrial(_first_choices(flow) | {"width.all": 0.5}), flow,
                            ExploreConfig(widths=[0.5]))  # fmt: skip
    assert design.widths == {ALL: 0.5}
    assert design_flow(flow, design, "cnn").model.conv_channels == (10, 25)
    with pytest.raises(ConfigError, match=r"explore\.crop works on MLPs only"):
        check_space(flow, ExploreConfig(crop=[20]))


def _first_choices(flow) -> dict:
    layers = flow.model.layer_names
    return {f"w.{n}": 1 for n in layers} | {f"a.{n}": 1 for n in layers[:-1]} | {"crop": 0, "fps": flow.target.fps}


def test_the_space_size_counts_every_distinct_design(tiny_flow):
    flow = _flow(tiny_flow)  # weight bits for fc0, fc1 and out; activation bits and widths for fc0 and fc1
    space = ExploreConfig(weight_bits=[1, 2], act_bits=[1, 2, 2], widths=[0.5, 1.0], crop=[6, 8])
    names = ["w.fc0", "w.fc1", "w.out", "a.fc0", "a.fc1", "width.fc0", "width.fc1", "crop"]
    choices = [space.weight_bits] * 3 + [space.act_bits] * 2 + [space.widths] * 2 + [space.crop]
    designs = {
        tuple(suggest_design(optuna.trial.FixedTrial(dict(zip(names, values, strict=True)) | {"fps": flow.target.fps}),
                             flow, space).params().items())
        for values in itertools.product(*choices)
    }  # fmt: skip
    assert space_size(flow, space) == len(designs) == 2**3 * 2**2 * 2**2 * 2


def test_a_table_network_design_sets_its_layers_fan_in_and_thermometer_bits():
    space = {"tables": {"nodes": [[500], [400, 200], [400, 200]], "fan_in": [4, 6]}}
    flow = parse_flow({"name": "tn", "data": {"name": "digits"}, "model": {"arch": "tables"}, "explore": space})
    design = suggest_design(optuna.trial.FixedTrial({"nodes": "400-200", "fan_in": 4, "thermometer": 2}), flow,
                            flow.explore)  # fmt: skip
    assert design == TableDesign((400, 200), 4, 2) and design_of(design.params()) == design
    child = design_flow(flow, design, "tn-d1")
    assert (child.model.tables.nodes, child.model.tables.fan_in, child.model.tables.thermometer) == ((400, 200), 4, 2)
    assert child.explore is None and child.model.tables.wiring == flow.model.tables.wiring
    assert design.describe() == "nodes 400-200, 4 inputs, thermometer 2"
    assert space_size(flow, flow.explore) == 2 * 2 * 2, "the repeated layer list counts once"
