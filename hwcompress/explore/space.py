"""The search space: what a candidate design sets, and the flow that builds it. A FINN design sets per-layer
bits, widths, input crop and target fps (``Design``); a table network sets its layers, fan-in and thermometer bits
(``TableDesign``).

Example:
    >>> flow = load_flow("flows/quickstart.yaml")
    >>> design = Design({"fc0": 2, "out": 2}, {"fc0": 1}, {"fc0": 0.5}, None, 100_000.0)
    >>> design_flow(flow, design, "quickstart-d7").model.hidden
    (32,)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from hwcompress.config import Arch, ExploreConfig, FlowConfig, LayerBits, ModelConfig, QuantConfig, TablesSpace
from hwcompress.errors import ConfigError

#: An MLP's hidden layers each get their own width; other networks share one width share (key ``ALL``).
ALL = "all"
#: Presets whose hidden widths a flow can write as ``arch: mlp, hidden: [...]``.
MLP_ARCHS = (Arch.MLP, Arch.TFC, Arch.SFC, Arch.LFC, Arch.LENET_300_100)


class Suggests(Protocol):
    """What the space asks of a trial (Optuna's ``Trial``)."""

    def suggest_categorical(self, name: str, choices: Any) -> Any: ...


@dataclass(frozen=True)
class Design:
    """One candidate: weight bits per compute layer, activation bits per hidden layer, width shares (per hidden
    layer of an MLP, else one under ``ALL``), the crop size (None: none) and the target fps."""

    weight_bits: dict[str, int]
    act_bits: dict[str, int]
    widths: dict[str, float]
    crop: int | None
    fps: float

    def params(self) -> dict[str, Any]:
        """The design as Optuna parameters (what ``suggest_design`` reads back)."""
        params: dict[str, Any] = {f"w.{k}": v for k, v in self.weight_bits.items()}
        params |= {f"a.{k}": v for k, v in self.act_bits.items()}
        params |= {f"width.{k}": v for k, v in self.widths.items()}
        return params | {"crop": self.crop or 0, "fps": self.fps}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Design:
        def part(prefix: str) -> dict[str, Any]:
            return {k.removeprefix(prefix): v for k, v in params.items() if k.startswith(prefix)}

        return cls(part("w."), part("a."), part("width."), params["crop"] or None, float(params["fps"]))

    def describe(self) -> str:
        """A short line: bits per layer (w/a), widths and crop, e.g. ``fc0 w2a1 x0.5, out w2; crop 20``."""
        layers = []
        for name, bits in self.weight_bits.items():
            text = f"{name} w{bits}" + (f"a{self.act_bits[name]}" if name in self.act_bits else "")
            share = self.widths.get(name, 1.0)
            layers.append(text + (f" x{share:g}" if share != 1.0 else ""))
        extra = [f"width x{self.widths[ALL]:g}"] if self.widths.get(ALL, 1.0) != 1.0 else []
        extra += [f"crop {self.crop}"] if self.crop else []
        return ", ".join(layers) + ("; " + ", ".join(extra) if extra else "")


@dataclass(frozen=True)
class TableDesign:
    """One candidate table network: nodes per layer, inputs per node, thermometer bits per pixel."""

    nodes: tuple[int, ...]
    fan_in: int
    thermometer: int

    def params(self) -> dict[str, Any]:
        return {"nodes": _layers_text(self.nodes), "fan_in": self.fan_in, "thermometer": self.thermometer}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> TableDesign:
        nodes = tuple(int(n) for n in params["nodes"].split("-"))
        return cls(nodes, int(params["fan_in"]), int(params["thermometer"]))

    def describe(self) -> str:
        """E.g. ``nodes 2000-1000, 6 inputs, thermometer 3``."""
        return f"nodes {_layers_text(self.nodes)}, {self.fan_in} inputs, thermometer {self.thermometer}"


def _layers_text(nodes: tuple[int, ...]) -> str:
    return "-".join(map(str, nodes))  # Optuna's choices are scalars


def design_of(params: dict[str, Any]) -> Design | TableDesign:
    """The design a trial's parameters spell (a table network's have ``nodes``)."""
    return TableDesign.from_params(params) if "nodes" in params else Design.from_params(params)


def check_space(flow: FlowConfig, space: ExploreConfig) -> None:
    """Refuse a space the flow's network cannot take.

    Raises:
        ConfigError: cropping a convolutional network's input, or widths on a network without hidden layers.
    """
    if flow.model.arch is Arch.TABLES:
        return  # the flow's validation refuses FINN's settings in a table network's space
    if space.crop and flow.model.arch not in MLP_ARCHS:
        raise ConfigError(f"explore.crop works on MLPs only; {flow.model.arch} would need a new topology; remove it")
    if space.widths != [1.0] and not width_keys(flow.model):
        raise ConfigError("explore.widths: this network has no hidden layers to narrow; remove it")


def width_keys(model: ModelConfig) -> list[str]:
    """The width parameters of ``model``: each hidden layer of an MLP, else one for the whole network."""
    if model.arch in MLP_ARCHS:
        return [f"fc{i}" for i in range(len(model.hidden_widths))]
    return [ALL] if model.hidden_widths or model.conv_channels else []


def space_size(flow: FlowConfig, space: ExploreConfig) -> int:
    """How many distinct designs ``space`` holds for ``flow``'s network."""
    if flow.model.arch is Arch.TABLES:
        tables = space.tables
        return len({tuple(n) for n in tables.nodes}) * len(set(tables.fan_in)) * len(set(tables.thermometer))
    layers = len(flow.model.layer_names)
    return (
        len(set(space.weight_bits)) ** layers
        * len(set(space.act_bits)) ** max(0, layers - 1)
        * len(set(space.widths)) ** len(width_keys(flow.model))
        * max(1, len(set(space.crop)))
        * max(1, len(set(space.fps)))
    )


def suggest_design(trial: Suggests, flow: FlowConfig, space: ExploreConfig) -> Design | TableDesign:
    """A design drawn from ``space`` by ``trial`` (parameters ``w.<layer>``, ``a.<layer>``, ``width.<layer>``,
    ``crop`` and ``fps``; for a table network ``nodes``, ``fan_in`` and ``thermometer``)."""
    if flow.model.arch is Arch.TABLES:
        return _suggest_table_design(trial, space.tables)
    layers = flow.model.layer_names
    return Design(
        weight_bits={name: trial.suggest_categorical(f"w.{name}", space.weight_bits) for name in layers},
        act_bits={name: trial.suggest_categorical(f"a.{name}", space.act_bits) for name in layers[:-1]},
        widths={key: trial.suggest_categorical(f"width.{key}", space.widths) for key in width_keys(flow.model)},
        crop=trial.suggest_categorical("crop", space.crop or [0]) or None,
        fps=float(trial.suggest_categorical("fps", space.fps or [flow.target.fps])),
    )


def _suggest_table_design(trial: Suggests, space: TablesSpace) -> TableDesign:
    return TableDesign.from_params(
        {
            "nodes": trial.suggest_categorical("nodes", [_layers_text(tuple(n)) for n in space.nodes]),
            "fan_in": trial.suggest_categorical("fan_in", space.fan_in),
            "thermometer": trial.suggest_categorical("thermometer", space.thermometer),
        }
    )


def design_flow(flow: FlowConfig, design: Design | TableDesign, name: str) -> FlowConfig:
    """The flow that trains and compiles ``design`` from scratch: ``flow`` without its ``explore`` section,
    with the design's bits, widths, crop and target fps (a table network's layers, fan-in and thermometer)."""
    if isinstance(design, TableDesign):
        tables = flow.model.tables.model_copy(
            update={"nodes": design.nodes, "fan_in": design.fan_in, "thermometer": design.thermometer}
        )
        model = flow.model.model_copy(update={"tables": tables})
        return flow.model_copy(update={"name": name, "model": model, "explore": None})
    model = flow.model
    if model.arch in MLP_ARCHS:
        hidden = tuple(
            max(1, round(width * design.widths.get(f"fc{i}", 1.0))) for i, width in enumerate(model.hidden_widths)
        )
        model = ModelConfig(arch=Arch.MLP, hidden=hidden, dropout=model.dropout) if hidden else model
    elif ALL in design.widths:
        model = model.model_copy(update={"width": model.width * design.widths[ALL]})
    layers = {
        layer: LayerBits(weight_bits=bits, act_bits=design.act_bits.get(layer))
        for layer, bits in design.weight_bits.items()
    }
    first = next(iter(layers), None)
    quant = QuantConfig(
        weight_bits=design.weight_bits.get(first, flow.quant.weight_bits),
        act_bits=design.act_bits.get(first, flow.quant.act_bits),
        layers=layers,
    )
    return flow.model_copy(
        update={
            "name": name,
            "model": model,
            "quant": quant,
            "data": flow.data.model_copy(update={"crop_to": design.crop or flow.data.crop_to}),
            "target": flow.target.model_copy(update={"fps": design.fps}),
            "explore": None,
        }
    )
