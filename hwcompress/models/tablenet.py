"""The trainable table network (Differentiable Weightless Networks, Bacellar et al., ICML 2024), in plain PyTorch.

uint8 pixels -> thermometer bits -> layers of table nodes -> popcount per class.

A node reads ``fan_in`` bits of the layer before, chosen by its wiring, and outputs entry ``a`` of its table, where
``a`` is the address those bits spell (bit k of the address is input k). Entries are real numbers in training; a
node outputs 1 where its entry is > 0. The last layer's nodes form one group per class, and a class's logit is its
group's popcount divided by ``tau``; the predicted class is the first of the highest popcounts.

Gradients: a table entry gets the output's gradient straight through (where the entry is in [-1, 1]). An input bit
gets the extended finite difference: for input k, the table's differences between the addresses with k set and
clear, over all addresses, weighted alpha * beta^h by the Hamming distance h of the other bits from the current
address. Learned wiring keeps a weight row per node input over the layer's input bits (or over ``candidates``
random ones); the forward pass reads the bit of the largest weight; backward, a weight gets the input's gradient
times its bit as -1/+1, and the chosen bit gets the input's gradient (DWN's learnable mapping).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from hwcompress.models.thermometer import fit_thresholds


class TableLayer(nn.Module):
    """``nodes`` table nodes of ``fan_in`` inputs over ``inputs`` bits, wired by learned weights or at random.

    Learned wiring weighs every input bit for each node input, or, with ``candidates``, that many random bits (fewer
    weights to keep and update); random wiring reads a random bit per node input, fixed.
    """

    def __init__(
        self, inputs: int, nodes: int, fan_in: int, learned: bool = True, candidates: int | None = None
    ) -> None:
        super().__init__()
        self.inputs, self.nodes, self.fan_in = inputs, nodes, fan_in
        self.table = nn.Parameter(torch.empty(nodes, 2**fan_in).uniform_(-1, 1))
        width = 1 if not learned else inputs if candidates is None or candidates >= inputs else candidates
        dense = learned and width == inputs
        if not dense:
            picks = torch.stack([torch.randperm(inputs)[:width] for _ in range(nodes * fan_in)])
            self.register_buffer("choices", picks.reshape(nodes, fan_in, width))
        else:
            self.choices = None
        self.wiring = nn.Parameter(torch.randn(nodes, fan_in, width) * 0.01) if learned else None

    def wires(self) -> torch.Tensor:
        """(nodes, fan_in): the input bit each node input reads."""
        if self.wiring is None:
            return self.choices[:, :, 0]
        picked = self.wiring.argmax(dim=-1)
        return picked if self.choices is None else self.choices.gather(-1, picked.unsqueeze(-1)).squeeze(-1)

    def forward(self, bits: torch.Tensor) -> torch.Tensor:
        wires = self.wires()
        if self.wiring is None:
            return TableLookup.apply(bits, self.table, wires)
        selected = LearnedSelection.apply(bits, self.wiring, wires, self.choices)
        return TableLookup.apply(None, self.table, wires, selected)


class LearnedSelection(torch.autograd.Function):
    """The bits learned wiring reads: forward the chosen ones; backward as DWN's learnable mapping, where a weight's
    gradient is the input's gradient times its bit taken as -1/+1 (so a weight learns the bit's correlation with
    the loss, whether the bit is 0 or 1), and each chosen bit gets its node input's gradient (straight through the
    argmax), so the layer before learns too."""

    @staticmethod
    def forward(ctx, bits, wiring, wires, choices):
        ctx.save_for_backward(bits, wires, choices)
        ctx.shape = wiring.shape
        return bits[:, wires]  # (batch, nodes, fan_in)

    @staticmethod
    def backward(ctx, grad):
        bits, wires, choices = ctx.saved_tensors
        nodes, fan_in, _ = ctx.shape
        flat = grad.reshape(len(bits), -1)
        every = (flat.T @ (2 * bits - 1)).reshape(nodes, fan_in, bits.shape[1])
        grad_bits = None
        if ctx.needs_input_grad[0]:
            grad_bits = torch.zeros_like(bits).index_add_(1, wires.reshape(-1), flat)
        return grad_bits, every if choices is None else every.gather(-1, choices), None, None


class TableLookup(torch.autograd.Function):
    """Each node's table entry at the address its input bits spell; 1 where the entry is > 0.

    Called with ``bits`` and ``wires`` (fixed wiring), or with the already selected bits (learned wiring), whose
    gradient then flows to ``LearnedSelection``.
    """

    @staticmethod
    def forward(ctx, bits, table, wires, selected=None):
        if selected is None:
            selected = bits[:, wires]  # (batch, nodes, fan_in)
        fan_in = wires.shape[1]
        weights = (2 ** torch.arange(fan_in, device=table.device)).to(selected.dtype)
        address = (selected * weights).sum(-1).long()  # (batch, nodes)
        entries = table.gather(1, address.T).T  # (batch, nodes)
        ctx.save_for_backward(table, address, wires, selected if bits is None else bits)
        ctx.learned = bits is None
        return (entries > 0).to(table.dtype)

    @staticmethod
    def backward(ctx, grad):
        table, address, wires, saved = ctx.saved_tensors
        fan_in = wires.shape[1]
        # the table: straight through where the entry is still in [-1, 1]
        grad_table = torch.zeros_like(table).scatter_add_(1, address.T, grad.T)
        grad_table = grad_table * (table.abs() <= 1)
        # the input bits: extended finite difference over every address
        grad_selected = grad.unsqueeze(-1) * efd(table.clamp(-1, 1), address, fan_in)  # (batch, nodes, fan_in)
        if ctx.learned:
            return None, grad_table, None, grad_selected
        bits = saved
        grad_bits = torch.zeros_like(bits).index_add_(1, wires.reshape(-1), grad_selected.reshape(len(bits), -1))
        return grad_bits, grad_table, None, None


def efd(table: torch.Tensor, address: torch.Tensor, fan_in: int) -> torch.Tensor:
    """d(entry)/d(input k) for each sample and node: sum over the addresses p with bit k clear of
    alpha * beta^h * (table[p + 2^k] - table[p]), h the Hamming distance of p from the current address on the other
    bits. (batch, nodes, fan_in).

    With the table read at address XOR d for every d (the sample's view of its node's table), the sum is one
    product with a constant (2^fan_in x fan_in) matrix of signed weights, and a sign per current address bit.
    """
    entries = 2**fan_in
    differences = torch.arange(entries, device=table.device)
    seen = table.unsqueeze(0).expand(len(address), -1, -1).gather(2, address.unsqueeze(-1) ^ differences)
    bits = (address.unsqueeze(-1) >> torch.arange(fan_in, device=table.device)) & 1  # (batch, nodes, fan_in)
    return seen @ _efd_weights(fan_in, table.dtype, table.device) * (1 - 2 * bits).to(table.dtype)


def _efd_weights(fan_in: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(2^fan_in, fan_in): for difference d and input k, alpha * beta^(popcount of d without k), + where d has k."""
    alpha, beta = 0.5 * 0.75 ** (fan_in - 1), 0.25 / 0.75
    d = torch.arange(2**fan_in, device=device)[:, None]
    k = torch.arange(fan_in, device=device)[None, :]
    has_k = (d >> k) & 1
    others = _popcount(d, fan_in) - has_k
    return (alpha * beta ** others.to(dtype)) * (2 * has_k - 1).to(dtype)


def _popcount(values: torch.Tensor, width: int) -> torch.Tensor:
    return sum((values >> k) & 1 for k in range(width))


class TableNet(nn.Module):
    """uint8 pixels -> thermometer bits -> table layers -> popcount per class / ``tau``.

    Example:
        >>> net = TableNet((1, 8, 8), 10, nodes=(200,), fan_in=6, thermometer=3)
        >>> net.calibrate(train_x)               # the encoder's thresholds from the training images
        >>> net(torch.from_numpy(images)).shape  # torch.Size([N, 10])
    """

    def __init__(
        self,
        input_shape: tuple[int, ...],
        num_classes: int,
        nodes: tuple[int, ...],
        fan_in: int = 6,
        thermometer: int = 3,
        learned: bool = True,
        candidates: int | None = None,
        tau: float = 1 / 0.3,
    ) -> None:
        super().__init__()
        if nodes[-1] % num_classes:
            raise ValueError(f"the last table layer's {nodes[-1]} nodes do not split into {num_classes} classes")
        self.input_shape, self.num_classes, self.tau = tuple(input_shape), num_classes, tau
        levels = torch.arange(1, thermometer + 1, dtype=torch.float32) * 255 / (thermometer + 1)
        self.register_buffer("thresholds", levels.round())
        widths = (math.prod(input_shape) * thermometer, *nodes)
        self.layers = nn.ModuleList(
            TableLayer(widths[i], widths[i + 1], fan_in, learned, candidates) for i in range(len(nodes))
        )

    @torch.no_grad()
    def calibrate(self, images: np.ndarray) -> None:
        """Set the encoder's thresholds from the training images (``encoder.fit_thresholds``)."""
        self.thresholds.copy_(torch.from_numpy(fit_thresholds(images, len(self.thresholds)).astype(np.float32)))

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        flat = pixels.reshape(len(pixels), -1).to(self.thresholds.dtype)
        return (flat[:, :, None] >= self.thresholds).reshape(len(pixels), -1).to(self.layers[0].table.dtype)

    def popcounts(self, pixels: torch.Tensor) -> torch.Tensor:
        """Each class's count of firing nodes in its group of the last layer: (N, classes)."""
        bits = self.encode(pixels)
        for layer in self.layers:
            bits = layer(bits)
        return bits.reshape(len(bits), self.num_classes, -1).sum(-1)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.popcounts(pixels) / self.tau
