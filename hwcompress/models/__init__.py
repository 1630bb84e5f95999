"""The model zoo: networks in Brevitas layers with per-layer bit widths.

Example:
    >>> from hwcompress.config import ModelConfig, QuantConfig
    >>> net = build_model(ModelConfig(arch="tfc"), QuantConfig(), (1, 28, 28), 10)
    >>> [layer.name for layer in layer_plan(ModelConfig(arch="tfc"), QuantConfig())]
    ['fc0', 'fc1', 'fc2', 'out']

How to add a topology: a module with the ``nn.Module``, an ``Arch`` member in ``config.py`` and an entry
in ``BUILDERS`` that turns the config into the module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from hwcompress.config import Arch, ModelConfig, QuantConfig, Wiring
from hwcompress.errors import ConfigError
from hwcompress.models.convnet import QuantConvNet
from hwcompress.models.mlp import QuantMLP
from hwcompress.models.resnet import QuantResNet
from hwcompress.models.tablenet import TableNet


@dataclass(frozen=True)
class LayerSpec:
    """One compute layer as the config sees it: its name and bits."""

    name: str
    weight_bits: int
    act_bits: int | None


def layer_plan(model: ModelConfig, quant: QuantConfig) -> list[LayerSpec]:
    """The compute layers of ``model`` with their resolved bits; checks ``quant.layers`` names.

    Raises:
        ConfigError: a per-layer override names a layer the model does not have.
    """
    names = model.layer_names
    unknown = sorted(set(quant.layers) - set(names))
    if unknown:
        raise ConfigError(f"quant.layers names unknown layer(s) {unknown}; this model's layers: {names}")
    if "out" in quant.layers and quant.layers["out"].act_bits is not None:
        raise ConfigError("quant.layers.out.act_bits: the output layer has no activation; remove it")
    return [
        LayerSpec(name, quant.weight_bits_of(name), None if name == "out" else quant.act_bits_of(name))
        for name in names
    ]


def _bits(model: ModelConfig, quant: QuantConfig) -> dict[str, list]:
    """Each compute layer's weight bits, and the activation bits after each but the classifier."""
    plan = layer_plan(model, quant)
    return {"weight_bits": [layer.weight_bits for layer in plan], "act_bits": [layer.act_bits for layer in plan[:-1]]}


def _build_mlp(model: ModelConfig, quant: QuantConfig, input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    return QuantMLP(
        input_shape,
        model.hidden_widths,
        num_classes,
        **_bits(model, quant),
        dropout=model.dropout,
    )


def _build_convnet(model: ModelConfig, quant: QuantConfig, input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    return QuantConvNet(
        input_shape,
        num_classes,
        convs=model.convs,
        fc_widths=model.hidden_widths,
        **_bits(model, quant),
        dropout=model.dropout,
    )


def _build_resnet(model: ModelConfig, quant: QuantConfig, input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    return QuantResNet(
        input_shape,
        num_classes,
        widths=model.stage_widths,
        **_bits(model, quant),
    )


def _build_tables(model: ModelConfig, quant: QuantConfig, input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    spec = model.tables
    if spec.nodes[-1] % num_classes:
        raise ConfigError(
            f"model.tables.nodes: the last layer's {spec.nodes[-1]:,} nodes do not split into {num_classes} equal "
            f"groups, one per class; use a multiple of {num_classes}"
        )
    return TableNet(
        input_shape,
        num_classes,
        nodes=spec.nodes,
        fan_in=spec.fan_in,
        thermometer=spec.thermometer,
        learned=spec.wiring is Wiring.LEARNED,
        candidates=spec.candidates,
        tau=spec.tau,
    )


BUILDERS: dict[Arch, Callable[[ModelConfig, QuantConfig, tuple[int, ...], int], nn.Module]] = {
    Arch.MLP: _build_mlp,
    Arch.TFC: _build_mlp,
    Arch.SFC: _build_mlp,
    Arch.LFC: _build_mlp,
    Arch.LENET_300_100: _build_mlp,
    Arch.LENET5: _build_convnet,
    Arch.CNV: _build_convnet,
    Arch.MOBILENET: _build_convnet,
    Arch.RESNET8: _build_resnet,
    Arch.TABLES: _build_tables,
}


def describe_layers(net: nn.Module, model: ModelConfig, quant: QuantConfig) -> list[str]:
    """One short phrase per compute layer, e.g. ``fc0 784->64 w2 a2``, ``conv0 1->20 5x5 w2 a2`` or
    ``conv3 16->32 3x3 stride 2 w2 a2``; for a table network, ``tables0 2352->1000 bits, 6 inputs, learned``."""
    if isinstance(net, TableNet):
        wiring = model.tables.wiring.value
        return [
            f"tables{i} {layer.inputs}->{layer.nodes} bits, {layer.fan_in} inputs, {wiring}"
            for i, layer in enumerate(net.layers)
        ]
    modules = {name.rsplit(".", 1)[-1]: module for name, module in net.named_modules()}
    phrases = []
    for layer in layer_plan(model, quant):
        module = modules[layer.name]
        acts = f" a{layer.act_bits}" if layer.act_bits else ""
        if hasattr(module, "kernel_size"):
            k = "x".join(map(str, module.kernel_size))
            kind = " depthwise" if module.groups > 1 else ""
            stride = "" if max(module.stride) == 1 else f" stride {module.stride[0]}"
            shape = f"{module.in_channels}->{module.out_channels} {k}{kind}{stride}"
        else:
            shape = f"{module.in_features}->{module.out_features}"
        phrases.append(f"{layer.name} {shape} w{layer.weight_bits}{acts}")
    return phrases


def build_model(model: ModelConfig, quant: QuantConfig, input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """A fresh, randomly initialised network for ``model`` with ``quant``'s bits."""
    return BUILDERS[model.arch](model, quant, input_shape, num_classes)
