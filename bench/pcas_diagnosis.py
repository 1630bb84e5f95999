"""Benchmark: what do the channel criteria measure? Each one's rank correlation with an oracle, on a trained network.

Usage:
  python bench/prune_sweep.py train FLOW --out DIR --seeds 0        (the trained network, once)
  python bench/pcas_diagnosis.py FLOW --out DIR [--seed 0] [--val 2000] [--criteria ...] [--plot PNG]
  python bench/pcas_diagnosis.py --result RESULT.json [--plot PNG]   (the tables and plot of a stored result)

The oracle (``hwcompress.prune.oracle``): the validation loss's rise when one channel alone is zeroed, on the
first ``--val`` validation images, computed on each half of them and averaged; the two halves' rank correlation
is the oracle's own reliability, the ceiling no criterion can be expected to pass. Every criterion scores the
same network (``name:key=value,...`` as in ``bench/prune_sweep.py``; ``torch-pruning:importance=l1`` is
Torch-Pruning's group L1, from ``requirements/bench.txt``). For each, Spearman's rank correlation with the
oracle in every layer and across layers (the one global ranking pruning uses). For PCAS and its variants also:
the attention modules' task loss per epoch against the frozen network's, and each layer's spread of mean
attention (min, max, coefficient of variation). Prints a markdown table, writes DIR/diagnosis-s{seed}.json
and, with ``--plot``, the figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from prune_sweep import _base, _criterion, _data
from pydantic import TypeAdapter
from scipy.stats import spearmanr

from hwcompress.config import CriterionConfig, load_flow
from hwcompress.fileio import write_json
from hwcompress.prune.groups import coupling_groups
from hwcompress.prune.importance import TrainingData, handler_for
from hwcompress.prune.oracle import zeroed_loss_rise

CRITERIA = [
    "random",
    "l1",
    "l1:group_reduction=mean",
    "bn",
    "taylor",
    "torch-pruning:importance=l1",
    "pcas",
    "pcas:spread=0",
    "pcas:gate=sigmoid",
    "pcas:epochs=6",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("flow", type=Path, nargs="?")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--result", type=Path, help="print (and plot) a stored result instead of computing one")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--val", type=int, default=2000)
    parser.add_argument("--criteria", nargs="+", default=CRITERIA)
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args()
    if args.result:
        result = json.loads(args.result.read_text())
        report(result, args.plot, args.result.stem)
        return 0
    if args.flow is None or args.out is None:
        parser.error("FLOW and --out are needed unless --result is given")
    flow = load_flow(args.flow)
    data = _data(flow)
    model = _base(flow, data, args.seed, args.out)
    groups = coupling_groups(model)
    images, labels = data.val_x[: args.val], data.val_y[: args.val]
    result_path = args.out / f"diagnosis-s{args.seed}.json"
    result = json.loads(result_path.read_text()) if result_path.exists() else {"criteria": {}}
    if "oracle" not in result:
        began = time.perf_counter()
        half = len(images) // 2
        first = zeroed_loss_rise(model, groups, images[:half], labels[:half])
        second = zeroed_loss_rise(model, groups, images[half : 2 * half], labels[half : 2 * half])
        result.update(
            oracle={name: ((first[name] + second[name]) / 2).tolist() for name in first},
            oracle_halves={name: _rho(first[name].numpy(), second[name].numpy()) for name in first},
            oracle_halves_across=_rho(_joined(first), _joined(second)),
            oracle_seconds=time.perf_counter() - began,
            val_loss=_loss(model, images, labels),
            val_images=2 * half,
            title=f"{flow.name}, seed {args.seed}",
            layers=[g.name for g in groups],  # the network's order (the JSON file's keys are sorted)
        )
        write_json(result_path, result)
    oracle = {name: np.array(rise) for name, rise in result["oracle"].items()}
    training = TrainingData(data.train_x, data.train_y)
    for spec in args.criteria:
        if spec in result["criteria"]:
            continue
        torch.manual_seed(args.seed)
        began = time.perf_counter()
        scores, extra = _scores(spec, model, groups, training, data.input_shape)
        if scores is None:
            print(f"{spec}: skipped ({extra['skipped']})", file=sys.stderr)
            continue
        result["criteria"][spec] = {
            "per_layer": {name: _rho(scores[name], oracle[name]) for name in oracle},
            "across": _rho(np.concatenate([scores[name] for name in oracle]), np.concatenate(list(oracle.values()))),
            "seconds": time.perf_counter() - began,
            **extra,
        }
        write_json(result_path, result)
    report(result, args.plot, f"{flow.name}, seed {args.seed}")
    return 0


def report(result: dict, plot_path: Path | None, title: str) -> None:
    """The tables, and the plot where ``plot_path`` is given."""
    layers = result.get("layers", list(result["oracle"]))
    print_table(result, layers)
    if plot_path:
        plot(result, layers, plot_path, result.get("title", title))


def _scores(spec: str, model, groups, training: TrainingData, input_shape) -> tuple[dict | None, dict]:
    """One criterion's scores as numpy arrays, and what else it tells (PCAS: its loss and its gates)."""
    settings, _ = _criterion(spec)
    if settings["name"] == "torch-pruning":
        try:
            from torch_pruning_peer import TorchPruningImportance
        except ImportError:
            return None, {"skipped": "pip install -r requirements/bench.txt"}
        handler = TorchPruningImportance(settings["importance"], input_shape)
    else:
        handler = handler_for(TypeAdapter(CriterionConfig).validate_python(settings))
    scored = handler(model, groups, training)
    scores = {name: score.detach().numpy().astype(np.float64) for name, score in scored.items()}
    extra = {}
    if settings["name"] == "pcas":
        extra["epoch_losses"] = handler.epoch_losses
        extra["frozen_loss"] = _loss(model, training.images[:10000], training.labels[:10000])
        extra["gates"] = {
            name: {
                "min": float(gates.min()),
                "max": float(gates.max()),
                "cv": float(gates.std() / gates.mean()),
            }
            for name, gates in handler.mean_gates.items()
        }
    return scores, extra


def _joined(scores: dict[str, torch.Tensor]) -> np.ndarray:
    return np.concatenate([score.numpy() for score in scores.values()])


def _rho(scores: np.ndarray, oracle: np.ndarray) -> float:
    return float(spearmanr(scores, oracle).statistic)


def _loss(model, images: np.ndarray, labels: np.ndarray) -> float:
    model.eval()
    with torch.no_grad():
        total = sum(
            F.cross_entropy(model(torch.from_numpy(images[i : i + 1000])), torch.from_numpy(labels[i : i + 1000]),
                            reduction="sum").item()
            for i in range(0, len(images), 1000)
        )  # fmt: skip
    return total / len(images)


def print_table(result: dict, layers: list[str]) -> None:
    print(f"The oracle: {result['val_images']:,} validation images (loss {result['val_loss']:.4f}), "
          f"{result['oracle_seconds']:.0f} s. The loss's rise when one channel is zeroed:\n")  # fmt: skip
    for name in layers:
        rise = np.array(result["oracle"][name])
        print(f"- {name}: {len(rise)} channels, min {rise.min():.4f}, median {np.median(rise):.4f}, "
              f"max {rise.max():.4f}")  # fmt: skip
    print()
    sizes = [len(result["oracle"][name]) for name in layers]
    heads = [f"{name} ({n})" for name, n in zip(layers, sizes, strict=True)]
    print("| criterion | " + " | ".join(heads) + f" | across ({sum(sizes)}) |")
    print("|---|" + "---:|" * (len(layers) + 1))
    halves = [f"{result['oracle_halves'][name]:+.2f}" for name in layers]
    across = result["oracle_halves_across"]
    print("| *oracle: one half against the other* | " + " | ".join(halves) + f" | {across:+.2f} |")
    noise = [f"±{1 / np.sqrt(n - 1):.2f}" for n in sizes]
    pooled = f"±{1 / np.sqrt(sum(sizes) - 1):.2f}"
    print("| *no relation: rho's standard deviation* | " + " | ".join(noise) + f" | {pooled} |")
    for spec, row in _ordered(result["criteria"]):
        cells = [f"{row['per_layer'][name]:+.2f}" for name in layers]
        print(f"| {spec} | " + " | ".join(cells) + f" | {row['across']:+.2f} |")
    pcas = {spec: row for spec, row in _ordered(result["criteria"]) if "epoch_losses" in row}
    if pcas:
        print()
        print("| PCAS variant | frozen network's loss | modules' loss per epoch | gates per layer: min-max (cv) |")
        print("|---|---:|---|---|")
        for spec, row in pcas.items():
            gates = "; ".join(f"{n} {g['min']:.2f}-{g['max']:.2f} ({g['cv']:.2f})" for n, g in row["gates"].items())
            losses = ", ".join(f"{loss:.4f}" for loss in row["epoch_losses"])
            print(f"| {spec} | {row['frozen_loss']:.4f} | {losses} | {gates} |")


def _ordered(criteria: dict) -> list[tuple[str, dict]]:
    """The criteria in ``CRITERIA``'s order, then the others by name (the JSON file keeps them sorted)."""
    rank = {spec: i for i, spec in enumerate(CRITERIA)}
    return sorted(criteria.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0]))


def plot(result: dict, layers: list[str], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    oracle = {"per_layer": result["oracle_halves"], "across": result["oracle_halves_across"]}
    ordered = _ordered(result["criteria"])
    specs = ["oracle: half vs half", *(spec for spec, _ in ordered)]
    rows = [oracle, *(row for _, row in ordered)]
    columns = [*layers, "across"]
    width = 0.8 / len(columns)
    figure, axis = plt.subplots(figsize=(max(8, 1.1 * len(specs)), 4.5))
    for k, column in enumerate(columns):
        values = [row["across"] if column == "across" else row["per_layer"][column] for row in rows]
        axis.bar(np.arange(len(specs)) + (k - (len(columns) - 1) / 2) * width, values, width, label=column)
    axis.axhline(0, color="black", linewidth=0.8)
    axis.set_xticks(np.arange(len(specs)), specs, rotation=30, ha="right")
    axis.set_ylabel("Spearman's rho with the oracle")
    axis.set_title(f"Channel criteria against the loss rise of zeroing each channel ({title})")
    axis.legend(title="layer", fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)


if __name__ == "__main__":
    sys.exit(main())
