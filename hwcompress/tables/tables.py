"""A trained table network as truth tables, run by look-ups alone (numpy): what the hardware computes.

Conventions, fixed here and followed by the RTL: a node outputs 1 where its trained entry is > 0; bit k of a node's
address is its input k; a pixel's thermometer bit i is 1 where the pixel reaches threshold i; a class's count is the
number of firing nodes in its group of the last layer (group c holds nodes c * size .. (c + 1) * size - 1); the
predicted class is the first of the highest counts.

Example:
    >>> model = TableModel.of(net)                   # from a trained ``models.tablenet.TableNet``
    >>> model.counts(images), model.predict(images)  # (N, classes) integers, (N,) classes
    >>> model.save(directory); TableModel.load(directory)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwcompress.models.thermometer import thermometer

TABLES_JSON = "tables.json"
TABLES_NPZ = "tables.npz"
FORMAT = 1


@dataclass(frozen=True)
class TableLayerSpec:
    """One layer: each node's input bits in the layer before (``wires``, nodes x fan-in) and its truth table
    (``tables``, nodes x 2^fan-in, 0/1)."""

    wires: np.ndarray
    tables: np.ndarray

    @property
    def nodes(self) -> int:
        return len(self.wires)

    @property
    def fan_in(self) -> int:
        return self.wires.shape[1]


@dataclass(frozen=True)
class TableModel:
    """The encoder's thresholds, the table layers, the number of classes and the input's shape."""

    thresholds: np.ndarray
    layers: tuple[TableLayerSpec, ...]
    classes: int
    input_shape: tuple[int, ...]

    @classmethod
    def of(cls, net) -> TableModel:
        """The truth tables of a trained ``TableNet``: each entry > 0 is 1, each node input its chosen bit."""
        import torch

        with torch.no_grad():
            layers = tuple(
                TableLayerSpec(
                    layer.wires().cpu().numpy().astype(np.int64), (layer.table > 0).cpu().numpy().astype(np.uint8)
                )
                for layer in net.layers
            )
            thresholds = net.thresholds.cpu().numpy().astype(np.int64)
        return cls(thresholds, layers, net.num_classes, tuple(net.input_shape))

    @property
    def group(self) -> int:
        """Nodes per class in the last layer."""
        return self.layers[-1].nodes // self.classes

    def bits(self, images: np.ndarray) -> np.ndarray:
        """The encoder's output: (N, pixels * thermometer bits), 0/1."""
        return thermometer(images, self.thresholds)

    def layer_outputs(self, images: np.ndarray) -> list[np.ndarray]:
        """Every layer's 0/1 outputs, the encoder's first."""
        outputs = [self.bits(images)]
        for layer in self.layers:
            address = np.zeros((len(images), layer.nodes), dtype=np.int64)
            for k in range(layer.fan_in):
                address |= outputs[-1][:, layer.wires[:, k]].astype(np.int64) << k
            outputs.append(layer.tables[np.arange(layer.nodes), address])
        return outputs

    def counts(self, images: np.ndarray) -> np.ndarray:
        """Each class's count of firing nodes: (N, classes), int64."""
        last = self.layer_outputs(images)[-1]
        return last.reshape(len(last), self.classes, -1).sum(-1, dtype=np.int64)

    def predict(self, images: np.ndarray) -> np.ndarray:
        """The first class of the highest count."""
        return self.counts(images).argmax(axis=1)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {"thresholds": self.thresholds}
        for i, layer in enumerate(self.layers):
            arrays[f"wires{i}"], arrays[f"tables{i}"] = layer.wires, layer.tables
        np.savez(directory / TABLES_NPZ, **arrays)
        description = {
            "format": FORMAT,
            "layers": len(self.layers),
            "classes": self.classes,
            "input_shape": list(self.input_shape),
        }
        (directory / TABLES_JSON).write_text(json.dumps(description, indent=2))

    @classmethod
    def load(cls, directory: Path) -> TableModel:
        description = json.loads((directory / TABLES_JSON).read_text())
        if description.get("format") != FORMAT:
            raise ValueError(f"{directory / TABLES_JSON}: format {description.get('format')!r}; this reads {FORMAT}")
        with np.load(directory / TABLES_NPZ, allow_pickle=False) as npz:
            layers = tuple(TableLayerSpec(npz[f"wires{i}"], npz[f"tables{i}"]) for i in range(description["layers"]))
            thresholds = npz["thresholds"]
        return cls(thresholds, layers, description["classes"], tuple(description["input_shape"]))
