"""Deep Compression's storage format (Han et al., ICLR 2016): sparse weights, shared values, Huffman codes.

After magnitude pruning, each layer's surviving weights are clustered into ``2**bits`` shared values
(k-means, linear initialisation) and stored as cluster indices with relative positions (``index_bits``
per gap, a filler entry when a gap is longer); both streams are then Huffman coded. ``SharedWeights`` keeps
the clustering during fine-tuning (each cluster's value moves by its members' mean update, the paper's
centroid fine-tuning). ``storage`` counts the bits. This shrinks the stored model, not the FINN accelerator,
which computes every weight of a dense matrix.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from hwcompress.sparse.magnitude import WeightHooks, weight_layers

FLOAT_BITS = 32


def kmeans_1d(values: torch.Tensor, clusters: int, iterations: int = 30) -> tuple[torch.Tensor, torch.Tensor]:
    """Lloyd's k-means on 1-D ``values`` from linearly spaced centroids: (centroids, index of each value)."""
    centroids = torch.linspace(float(values.min()), float(values.max()), clusters)
    for _ in range(iterations):
        index = (values[:, None] - centroids[None, :]).abs().argmin(dim=1)
        sums = torch.zeros(clusters).index_add_(0, index, values)
        counts = torch.bincount(index, minlength=clusters)
        moved = torch.where(counts > 0, sums / counts.clamp(min=1), centroids)
        if torch.equal(moved, centroids):
            break
        centroids = moved
    return centroids, (values[:, None] - centroids[None, :]).abs().argmin(dim=1)


class SharedWeights(WeightHooks):
    """Each layer's non-zero weights tied to ``2**bits`` shared values; zeros stay zero.

    ``index[name]`` holds each weight's cluster (-1 for a pruned weight). Before every forward pass each
    weight is set to its cluster's mean, so a training step moves a shared value by its members' mean update.
    """

    def __init__(self, model: nn.Module, bits: int) -> None:
        super().__init__(model)
        self.bits = bits
        self.index: dict[str, torch.Tensor] = {}
        for name, module in self.layers.items():
            weight = module.weight.detach().flatten()
            alive = weight != 0
            index = torch.full_like(weight, -1, dtype=torch.long)
            if alive.any():
                _, index[alive] = kmeans_1d(weight[alive], min(2**bits, int(alive.sum())))
            self.index[name] = index.view_as(module.weight)
        self.apply()

    def project(self, name: str, weight: torch.Tensor) -> torch.Tensor:
        index = self.index[name].flatten()
        alive = index >= 0
        clusters = int(index.max()) + 1 if alive.any() else 0
        flat = weight.flatten()
        sums = torch.zeros(clusters).index_add_(0, index[alive], flat[alive])
        means = sums / torch.bincount(index[alive], minlength=clusters).clamp(min=1)
        shared = torch.zeros_like(flat)
        shared[alive] = means[index[alive]]
        return shared.view_as(weight)


def huffman_bits(counts: Counter) -> int:
    """Bits of a Huffman code over symbols with these counts (one symbol: one bit each)."""
    if len(counts) <= 1:
        return sum(counts.values())
    heap = list(counts.values())
    heapq.heapify(heap)
    total = 0
    while len(heap) > 1:
        merged = heapq.heappop(heap) + heapq.heappop(heap)
        total += merged  # every symbol under a merge gets one more bit
        heapq.heappush(heap, merged)
    return total


def sparse_entries(codes: torch.Tensor, index_bits: int) -> tuple[list[int], list[int]]:
    """Relative-index encoding of a flat code vector (-1 = zero): (gap of each entry, code of each entry).

    A gap longer than ``2**index_bits - 1`` zeros is bridged by filler entries that store a zero.
    """
    longest = 2**index_bits - 1
    gaps, values = [], []
    previous = -1
    for position in (codes >= 0).nonzero().flatten().tolist():
        gap = position - previous - 1
        while gap > longest:
            gaps.append(longest)
            values.append(-1)
            gap -= longest + 1
        gaps.append(gap)
        values.append(int(codes[position]))
        previous = position
    return gaps, values


@dataclass(frozen=True)
class LayerStorage:
    """One layer's weights: how many, how many non-zero, and bits in each format."""

    name: str
    weights: int
    nonzero: int
    weight_bits: int
    dense_float_bits: int
    dense_int_bits: int
    sparse_bits: int
    huffman_bits: int


@dataclass(frozen=True)
class Storage:
    """Bits of a model's stored weights before and after Deep Compression; ``other_bits``: BN (folded), as float."""

    layers: list[LayerStorage]
    other_bits: int

    def total(self, field: str) -> int:
        return sum(getattr(layer, field) for layer in self.layers) + self.other_bits

    @property
    def ratio_vs_float(self) -> float:
        return self.total("dense_float_bits") / self.total("huffman_bits")

    @property
    def ratio_vs_int(self) -> float:
        return self.total("dense_int_bits") / self.total("huffman_bits")

    def to_json(self) -> dict[str, Any]:
        totals = ("dense_float_bits", "dense_int_bits", "sparse_bits", "huffman_bits")
        return {
            "layers": [asdict(layer) for layer in self.layers],
            "other_bits": self.other_bits,
            "total": {name: self.total(name) for name in totals},
            "ratio_vs_float": self.ratio_vs_float,
            "ratio_vs_int": self.ratio_vs_int,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Storage:
        return cls([LayerStorage(**row) for row in data["layers"]], data["other_bits"])


def storage(model: nn.Module, shared: SharedWeights, index_bits: int) -> Storage:
    """Count the bits of ``model``'s weights dense (float32, and integers at each layer's bit width) and compressed.

    Each layer stores its codebook (``2**bits`` float values), its entries (cluster index + relative index,
    fixed width or Huffman coded) and, for Huffman, one 8-bit code length per symbol.
    """
    layers = []
    for name, module in weight_layers(model).items():
        codes = shared.index[name].flatten()
        gaps, values = sparse_entries(codes, index_bits)
        symbols = 2**shared.bits + 1  # the clusters and the filler's zero
        codebook = 2**shared.bits * FLOAT_BITS
        value_bits = max(1, (symbols - 1).bit_length())
        bits = int(module.quant_weight().bit_width)
        layers.append(
            LayerStorage(
                name=name,
                weights=codes.numel(),
                nonzero=int((codes >= 0).sum()),
                weight_bits=bits,
                dense_float_bits=codes.numel() * FLOAT_BITS,
                dense_int_bits=codes.numel() * bits,
                sparse_bits=codebook + len(values) * (value_bits + index_bits),
                huffman_bits=codebook
                + huffman_bits(Counter(values))
                + huffman_bits(Counter(gaps))
                + 8 * (symbols + 2**index_bits),
            )
        )
    return Storage(layers, _other_values(model) * FLOAT_BITS)


def _other_values(model: nn.Module) -> int:
    """Values stored besides the weight matrices: a BatchNorm as its folded scale and shift, the rest as is."""
    counted = {id(module.weight) for module in weight_layers(model).values()}
    values = 0
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            values += 2 * module.num_features
            counted |= {id(t) for t in (*module.parameters(recurse=False), *module.buffers(recurse=False))}
    tensors = [*model.parameters(), *(b for name, b in model.named_buffers() if not name.endswith("batches_tracked"))]
    return values + sum(t.numel() for t in tensors if id(t) not in counted)
