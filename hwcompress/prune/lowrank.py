"""Low-rank factorization: a layer's weight matrix split by SVD into two quantized layers with a bottleneck.

``W`` (outputs x inputs; a convolution's filters flattened to inputs x k x k) ~ ``U_r S_r V_r^T``. The layer
``<name>`` becomes ``<name>_lr`` (inputs -> r: ``V_r^T``, a convolution keeping its kernel and stride), a batch
norm and an activation quantizer on the r bottleneck channels (``<name>_lr_bn``, ``<name>_lr_act``), then
``<name>`` again (r -> outputs; a 1x1 convolution). FINN builds the pair as two MVAUs: r x (inputs + outputs)
weights instead of inputs x outputs. This module says what is split and at which rank; ``lowrank_fit`` fits the
factors' weights.

The rank: fixed per layer, or the fewest singular values holding ``energy`` of their squared sum, rounded to
FINN's folding granularity as pruned channel counts are (``foldable_counts``: up, or down where that is at
least 10 % cheaper per rank), so that the bottleneck folds as the cycle budget needs; or, under a LUT budget,
the most energy whose design FINN's estimate (the caller's ``lut_of``) puts within it.
"""

from __future__ import annotations

import copy
import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from brevitas.nn import QuantConv2d, QuantIdentity, QuantLinear
from torch import nn

from hwcompress.config import LowRankConfig
from hwcompress.errors import ConfigError
from hwcompress.models.quant import COMPUTE_LAYERS, act_quant, init_weights_, weight_quant
from hwcompress.prune.folding import foldable_counts, matrix_layers
from hwcompress.prune.groups import is_depthwise, sequential_groups

SUFFIX = "_lr"


@dataclass(frozen=True)
class Split:
    """How a layer is split: the rank, the bottleneck's activation bits, the factors' weight bits (None: the
    layer's own)."""

    rank: int
    act_bits: int
    weight_bits: int | None = None


def splits_for(ranks: dict[str, int], act_bits: dict[str, int], weight_bits: int | None) -> dict[str, Split]:
    """Each layer's ``Split`` at its rank, with its bottleneck's bits and the factors' weight bits."""
    return {layer: Split(rank, act_bits[layer], weight_bits) for layer, rank in ranks.items()}


@dataclass(frozen=True)
class Factor:
    """One factorized layer: its rank of ``full_rank`` possible, the squared singular values kept, the
    bottleneck's activation bits and the factors' weight bits."""

    layer: str
    rank: int
    full_rank: int
    energy: float
    act_bits: int
    weight_bits: int

    @property
    def split(self) -> Split:
        return Split(self.rank, self.act_bits, self.weight_bits)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LowRankSummary:
    """The prune stage's factorization: its layers and test accuracy before and after fine-tuning."""

    factors: tuple[Factor, ...]
    accuracy_before: float
    accuracy_initial: float
    accuracy: float
    lut_budget: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "factors": [factor.to_json() for factor in self.factors]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LowRankSummary:
        return cls(**{**data, "factors": tuple(Factor(**row) for row in data["factors"])})


def short_names(model: nn.Module) -> dict[str, str]:
    """Each module's path by its last part (``fc0`` -> ``body.fc0``)."""
    return {name.rsplit(".", 1)[-1]: name for name, _ in model.named_modules() if name}


def factorizable(model: nn.Module, layers: Sequence[str]) -> dict[str, nn.Module]:
    """The modules of ``layers`` by name, each a dense hidden layer in a sequential part of ``model``.

    Raises:
        ConfigError: a name is unknown, the classifier, depthwise, or not in a sequential part.
    """
    names = short_names(model)
    compute = [short for short, path in names.items() if isinstance(model.get_submodule(path), COMPUTE_LAYERS)]
    found = {}
    for layer in layers:
        if layer not in names or layer not in compute:
            raise ConfigError(f"lowrank.layers: no layer '{layer}' in this network; its layers: {compute}")
        module = model.get_submodule(names[layer])
        parent = model.get_submodule(names[layer].rpartition(".")[0])
        if layer == compute[-1]:
            raise ConfigError(f"lowrank.layers: {layer} is the classifier; factorize hidden layers")
        if is_depthwise(module):
            raise ConfigError(f"lowrank.layers: {layer} is depthwise (one filter per channel); nothing to factorize")
        if not isinstance(parent, nn.Sequential) or "." not in names[layer]:
            raise ConfigError(f"lowrank.layers: {layer} is inside a residual block; factorize layers of a plain chain")
        found[layer] = module
    return found


def weight_matrix(module: nn.Module) -> torch.Tensor:
    """The layer's quantized weights as an outputs x inputs matrix in float64."""
    weight = module.quant_weight().value.detach()
    return weight.reshape(weight.shape[0], -1).double()


def energy_rank(singular: torch.Tensor, energy: float) -> int:
    """The fewest leading singular values whose squares hold ``energy`` of the total."""
    squares = singular.double() ** 2
    share = squares.cumsum(0) / squares.sum().clamp_min(1e-300)
    return min(len(singular), int((share < energy - 1e-12).sum()) + 1)


def kept_energy(singular: torch.Tensor, rank: int) -> float:
    squares = singular.double() ** 2
    return float(squares[:rank].sum() / squares.sum().clamp_min(1e-300))


def split_layers(model: nn.Module, splits: dict[str, Split]) -> nn.Module:
    """A copy of ``model`` with each layer in ``splits`` replaced by its two factors (weights not set)."""
    model = copy.deepcopy(model)
    names = short_names(model)
    for layer, split in splits.items():
        path = names[layer]
        parent_path, _, child = path.rpartition(".")
        parent = model.get_submodule(parent_path)
        module = getattr(parent, child)
        bits = split.weight_bits or int(module.quant_weight().bit_width)
        first, norm, second = _factor_layers(module, split.rank, bits)
        init_weights_(first)  # over the quantizers' range, as the zoo's layers: FINN infers weight types from
        init_weights_(second)  # the values, so tiny default weights (all rounded to 0) would misprice the split
        act = QuantIdentity(act_quant=act_quant(split.act_bits), return_quant_tensor=True)
        items: list[tuple[str, nn.Module]] = []
        for name, part in parent.named_children():
            if name == child:
                items += [(child + SUFFIX, first), (f"{child}{SUFFIX}_bn", norm), (f"{child}{SUFFIX}_act", act)]
                part = second
            items.append((name, part))
        grand_path, _, attribute = parent_path.rpartition(".")
        setattr(model.get_submodule(grand_path), attribute, nn.Sequential(OrderedDict(items)))
    return model


def _factor_layers(module: nn.Module, rank: int, bits: int) -> tuple[nn.Module, nn.Module, nn.Module]:
    """The first factor, the bottleneck's norm and the second factor (no biases: the norms absorb offsets)."""
    quant = weight_quant(bits)
    if isinstance(module, QuantConv2d):
        first = QuantConv2d(
            module.in_channels, rank, module.kernel_size, stride=module.stride, padding=module.padding,
            bias=False, weight_quant=quant,
        )  # fmt: skip
        return first, nn.BatchNorm2d(rank), QuantConv2d(rank, module.out_channels, 1, bias=False, weight_quant=quant)
    first = QuantLinear(module.in_features, rank, bias=False, weight_quant=quant)
    return first, nn.BatchNorm1d(rank), QuantLinear(rank, module.out_features, bias=False, weight_quant=quant)


def plan_factors(
    model: nn.Module,
    cfg: LowRankConfig,
    input_shape: tuple[int, ...],
    cycles_per_image: float | None,
    lut_of: Callable[[nn.Module], float] | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> tuple[Factor, ...]:
    """What to factorize and at which ranks: by ``cfg.lut_budget`` (``lut_of`` prices a design) or as
    ``choose_ranks`` says."""
    factorizable(model, cfg.layers)
    bits = bottleneck_bits(model, cfg.layers, cfg.act_bits)
    if cfg.lut_budget is None:
        ranks = choose_ranks(model, cfg, input_shape, cycles_per_image)
    else:
        if lut_of is None:
            raise ValueError("a LUT budget needs lut_of")
        _, ranks = lut_budget_energy(model, cfg, input_shape, cycles_per_image, bits, lut_of, log=log)
    return factors_for(model, splits_for(ranks, bits, cfg.weight_bits))


def choose_ranks(
    model: nn.Module,
    cfg: LowRankConfig,
    input_shape: tuple[int, ...],
    cycles_per_image: float | None,
    energy: float | None = None,
) -> dict[str, int]:
    """Each listed layer's rank: ``cfg.ranks``, else by ``energy`` (default ``cfg.energy``) rounded to the
    folding granularity (a fixed ``cfg.granularity``: up; ``auto``, which needs ``cycles_per_image``: as
    ``foldable_counts`` rounds)."""
    modules = factorizable(model, cfg.layers)
    energy = cfg.energy if energy is None else energy
    ranks, full = {}, {}
    for layer, module in modules.items():
        singular = torch.linalg.svdvals(weight_matrix(module))
        full[layer] = len(singular)
        ranks[layer] = cfg.ranks.get(layer) or energy_rank(singular, energy)
        if ranks[layer] > full[layer]:
            raise ConfigError(f"lowrank.ranks.{layer}: {ranks[layer]} exceeds the layer's full rank {full[layer]}")
    free = {layer: rank for layer, rank in ranks.items() if layer not in cfg.ranks}
    if not free:
        return ranks
    if cfg.granularity != "auto":
        step = cfg.granularity
        return {**ranks, **{layer: min(full[layer], math.ceil(rank / step) * step) for layer, rank in free.items()}}
    if cycles_per_image is None:
        raise ValueError("granularity 'auto' needs the cycle budget")
    return {**ranks, **_foldable_ranks(model, free, full, input_shape, cycles_per_image, cfg.weight_bits)}


def _foldable_ranks(model, ranks, full, input_shape, cycles_per_image, weight_bits) -> dict[str, int]:
    """``ranks`` rounded as FINN's folding needs: the bottleneck is a channel group of the full-rank split."""
    split = split_layers(model, {layer: Split(rank, 8, weight_bits) for layer, rank in full.items()})
    groups = [group for group in sequential_groups(split) if group.name.removesuffix(SUFFIX) in ranks]
    counts = {group.name: ranks[group.name.removesuffix(SUFFIX)] for group in groups}
    rounded, _ = foldable_counts(matrix_layers(split.eval(), input_shape), groups, counts, cycles_per_image)
    return {name.removesuffix(SUFFIX): count for name, count in rounded.items()}


def factors_for(model: nn.Module, splits: dict[str, Split]) -> tuple[Factor, ...]:
    """The ``Factor`` records of ``splits`` on ``model`` (before splitting)."""
    modules = factorizable(model, list(splits))
    factors = []
    for layer, split in splits.items():
        module = modules[layer]
        singular = torch.linalg.svdvals(weight_matrix(module))
        bits = split.weight_bits or int(module.quant_weight().bit_width)
        energy = kept_energy(singular, split.rank)
        factors.append(Factor(layer, split.rank, len(singular), energy, split.act_bits, bits))
    return tuple(factors)


def bottleneck_bits(model: nn.Module, layers: Sequence[str], act_bits: int | None) -> dict[str, int]:
    """The bottleneck's activation bits per layer: ``act_bits``, else the bits of the layer's own activation."""
    if act_bits is not None:
        return dict.fromkeys(layers, act_bits)
    return {layer: _activation_bits_after(model, layer) for layer in layers}


def _activation_bits_after(model: nn.Module, layer: str) -> int:
    order = [(name.rsplit(".", 1)[-1], module) for name, module in model.named_modules() if name]
    after = False
    for name, module in order:
        after = after or name == layer
        if after and isinstance(module, QuantIdentity):
            return int(module.act_quant.bit_width())
    raise ConfigError(f"lowrank: no activation follows {layer}; set lowrank.act_bits")


def lut_budget_energy(
    model: nn.Module,
    cfg: LowRankConfig,
    input_shape: tuple[int, ...],
    cycles_per_image: float | None,
    bits: dict[str, int],
    lut_of: Callable[[nn.Module], float],
    steps: int = 7,
    log: Callable[[str], None] = lambda _: None,
) -> tuple[float, dict[str, int]]:
    """The most energy (to 1 / 2^steps) whose factorized design ``lut_of`` puts within ``cfg.lut_budget``.

    Raises:
        ConfigError: even the lowest energy's design needs more LUT than the budget.
    """
    cache: dict[tuple, float] = {}

    def cost(energy: float) -> tuple[float, dict[str, int]]:
        ranks = choose_ranks(model, cfg, input_shape, cycles_per_image, energy)
        key = tuple(sorted(ranks.items()))
        if key not in cache:
            cache[key] = lut_of(split_layers(model, splits_for(ranks, bits, cfg.weight_bits)).eval())
            shown = ", ".join(f"{layer} {rank}" for layer, rank in ranks.items())
            log(f"lowrank: energy {energy:.3f}, ranks {shown}: {cache[key]:,.0f} LUT (estimate)")
        return cache[key], ranks

    low, high = 0.0, 1.0
    lut, ranks = cost(1e-9)
    if lut > cfg.lut_budget:
        raise ConfigError(
            f"lowrank.lut_budget {cfg.lut_budget:,}: even ranks {ranks} need {lut:,.0f} LUT (FINN estimate); "
            "raise the budget, factorize more layers or lower target.fps"
        )
    best = (1e-9, ranks)
    for _ in range(steps):
        middle = (low + high) / 2
        lut, ranks = cost(middle)
        if lut <= cfg.lut_budget:
            low, best = middle, (middle, ranks)
        else:
            high = middle
    return best
