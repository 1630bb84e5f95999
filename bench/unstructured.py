"""Benchmark: dynamic-threshold vs fixed-schedule magnitude pruning, then Deep Compression's stored size.

Usage:
  python bench/unstructured.py FLOW [--bits 8] [--target 0.92] [--steps 8] [--tolerance 0.002]
                               [--scoring lamp] [--cluster-bits 4] [--index-bits 5] [--weight-decay 1e-4] [--out DIR]

Trains FLOW's network once (weights and activations at ``--bits``; cached in DIR), then from the same
weights prunes to ``--target`` sparsity twice, side by side in one process: a fixed schedule (``--steps``
equal steps, one fine-tune epoch each) and the dynamic threshold (raised while validation accuracy stays
within ``--tolerance``, one fine-tune epoch whenever it falls out). Then the dynamically pruned network
gets k-means weight sharing, one epoch of centroid fine-tuning and Huffman coding; prints both tables.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
from data_root import search_path

from hwcompress.config import FlowConfig, load_flow
from hwcompress.data import Splits, load_splits
from hwcompress.fileio import write_json
from hwcompress.models import build_model
from hwcompress.sparse.deep_compression import SharedWeights, storage
from hwcompress.sparse.magnitude import MagnitudeRun, WeightMasks, dynamic_threshold, fixed_schedule
from hwcompress.train.loop import accuracy, fit


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("flow", type=Path)
    parser.add_argument("--bits", type=int, default=8, help="weight and activation bits of the network")
    parser.add_argument("--target", type=float, default=0.92, help="sparsity both schedules reach")
    parser.add_argument("--steps", type=int, default=8, help="fixed schedule: equal steps, one epoch each")
    parser.add_argument("--tolerance", type=float, default=0.002, help="dynamic: allowed validation drop")
    parser.add_argument("--cluster-bits", type=int, default=4)
    parser.add_argument("--index-bits", type=int, default=5)
    parser.add_argument("--scoring", choices=("std", "lamp"), default="lamp", help="how weights rank across layers")
    parser.add_argument("--weight-decay", type=float, default=1e-4, help="L2 of the base training (Han et al. use it)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", type=Path, default=Path("bench-runs/unstructured"))
    args = parser.parse_args()
    flow = load_flow(args.flow)
    flow = flow.model_copy(
        update={
            "quant": flow.quant.model_copy(update={"weight_bits": args.bits, "act_bits": args.bits}),
            "train": flow.train.model_copy(update={"threads": args.threads, "weight_decay": args.weight_decay}),
        }
    )
    data = load_splits(flow.data, search_path())
    base = train_base(flow, data, args.out)
    base_test = accuracy(base(), data.test_x, data.test_y)
    print(f"unpruned: {base_test:.2%} test (simulated, PyTorch)", flush=True)

    evaluate = lambda model: accuracy(model, data.val_x, data.val_y)  # noqa: E731
    runs: dict[str, tuple[MagnitudeRun, torch.nn.Module]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        fine_tune = one_epoch(flow, data, Path(tmp))
        for method in ("fixed", "dynamic"):
            model = base()
            masks = WeightMasks(model, scoring=args.scoring)
            if method == "fixed":
                run = fixed_schedule(model, masks, args.target, args.steps, fine_tune, evaluate)
            else:
                run = dynamic_threshold(model, masks, args.target, fine_tune, evaluate, args.tolerance)
            masks.remove()
            runs[method] = (run, model)
        tests = {name: accuracy(net, data.test_x, data.test_y) for name, (_, net) in runs.items()}
        print_schedules(runs, tests, base_test)

        model = runs["dynamic"][1]
        began = time.perf_counter()
        shared = SharedWeights(model, args.cluster_bits)
        shared_test = accuracy(model, data.test_x, data.test_y)
        fine_tune(model)
        shared.remove()
        sharing_seconds = time.perf_counter() - began
    report = storage(model, shared, args.index_bits)
    final_test = accuracy(model, data.test_x, data.test_y)
    print_storage(report, base_test, shared_test, final_test, sharing_seconds)
    write_json(
        args.out / "result.json",
        {
            "flow": flow.name,
            "bits": args.bits,
            "unpruned_test": base_test,
            "schedules": {
                name: {
                    "seconds": run.seconds,
                    "fine_tunes": run.fine_tunes,
                    "sparsity": run.sparsity,
                    "test": tests[name],
                    "steps": [vars(step) for step in run.steps],
                }
                for name, (run, _) in runs.items()
            },
            "deep_compression": {
                "test": final_test,
                "ratio_vs_float": report.ratio_vs_float,
                "ratio_vs_int": report.ratio_vs_int,
                "layers": [vars(layer) for layer in report.layers],
                "other_bits": report.other_bits,
            },
        },
    )
    return 0


def train_base(flow: FlowConfig, data: Splits, out: Path):
    """A factory of fresh copies of the trained unpruned network (trained once, cached in ``out``)."""
    path = out / f"base-w{flow.quant.weight_bits}-wd{flow.train.weight_decay:g}.pt"
    if not path.exists():
        torch.manual_seed(flow.train.seed)
        model = build_model(flow.model, flow.quant, data.input_shape, data.num_classes)
        with tempfile.TemporaryDirectory() as tmp:
            fit(model, data, flow.train, Path(tmp) / "c.pt", "base")
        out.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), path)
    state = torch.load(path, weights_only=True)

    def fresh():
        model = build_model(flow.model, flow.quant, data.input_shape, data.num_classes)
        model.load_state_dict(state)
        return model

    return fresh


def one_epoch(flow: FlowConfig, data: Splits, tmp: Path):
    """The fine-tune unit both schedules spend: one epoch at a tenth of the training learning rate."""
    cfg = flow.train.model_copy(update={"epochs": 1, "lr": flow.train.lr / 10})
    calls = iter(range(1_000_000))

    def fine_tune(model):
        call = next(calls)
        fit(model, data, cfg.model_copy(update={"seed": call}), tmp / f"ft-{call}.pt", "fine-tune")

    return fine_tune


def print_schedules(runs, tests: dict[str, float], base_test: float) -> None:
    print("\n| schedule | sparsity | fine-tune epochs | threshold raises | wall s | top-1 (simulated) | vs unpruned |")
    print("|---|---|---|---|---|---|---|")
    for name, (run, _) in runs.items():
        test = tests[name]
        print(
            f"| {name} | {run.sparsity:.1%} | {run.fine_tunes} | {len(run.steps)} | {run.seconds:.1f} | "
            f"{test:.2%} | {100 * (test - base_test):+.2f} pt |"
        )
    ratio = runs["fixed"][0].seconds / runs["dynamic"][0].seconds
    print(f"\nwall time, fixed / dynamic: {ratio:.2f}x", flush=True)


def print_storage(report, base_test: float, shared_test: float, final_test: float, seconds: float) -> None:
    print("\n| layer | weights | non-zero | dense float32 bits | dense int bits | sparse + shared | + Huffman |")
    print("|---|---|---|---|---|---|---|")
    for layer in report.layers:
        print(
            f"| {layer.name} | {layer.weights:,} | {layer.nonzero:,} ({layer.nonzero / layer.weights:.1%}) | "
            f"{layer.dense_float_bits:,} | {layer.dense_int_bits:,} | {layer.sparse_bits:,} | {layer.huffman_bits:,} |"
        )
    print(
        f"| total (+ {report.other_bits:,} bits: BatchNorm folded to scale and shift, float32) | | | "
        f"{report.total('dense_float_bits'):,} | {report.total('dense_int_bits'):,} | "
        f"{report.total('sparse_bits'):,} | {report.total('huffman_bits'):,} |"
    )
    print(
        f"\n{report.ratio_vs_float:.1f}x smaller than float32, {report.ratio_vs_int:.1f}x smaller than dense "
        f"integers; top-1 {base_test:.2%} unpruned -> {shared_test:.2%} shared -> {final_test:.2%} after "
        f"centroid fine-tuning ({seconds:.0f} s); simulated in PyTorch. Storage only: the FINN accelerator "
        "still computes every weight."
    )


if __name__ == "__main__":
    sys.exit(main())
