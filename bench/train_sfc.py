"""Benchmark: QAT of SFC w2a2 on MNIST for 10 epochs; prints test accuracy and seconds per epoch.

Usage: python bench/train_sfc.py [--data DIR] [--epochs N] [--seed S]
(DIR defaults to ../shared/datasets/mnist when present, else the usual dataset search.)
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from datetime import date
from pathlib import Path

import torch

from hwcompress.config import load_flow
from hwcompress.data import SearchPath, load_splits
from hwcompress.models import build_model
from hwcompress.train import accuracy, fit

REPO = Path(__file__).resolve().parent.parent
SHARED_MNIST = REPO.parent / "shared" / "datasets" / "mnist"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED_MNIST if SHARED_MNIST.exists() else None)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    flow = load_flow(REPO / "flows" / "sfc-w2a2-mnist.yaml")
    flow = flow.model_copy(
        update={
            "data": flow.data.model_copy(update={"path": args.data}),
            "train": flow.train.model_copy(update={"epochs": args.epochs, "seed": args.seed}),
        }
    )
    data = load_splits(flow.data, SearchPath.default(os.environ.get("HWCOMPRESS_DATA")))
    torch.manual_seed(flow.train.seed)
    model = build_model(flow.model, flow.quant, data.input_shape, data.num_classes)
    with tempfile.TemporaryDirectory() as tmp:
        history = fit(model, data, flow.train, Path(tmp) / "ckpt.pt", "bench")
    for row in history:
        print(f"epoch {row.epoch:2d}  loss {row.loss:.4f}  val {row.val_acc:.2%}  {row.seconds:.1f} s", flush=True)
    test = accuracy(model, data.test_x, data.test_y)
    per_epoch = sum(r.seconds for r in history) / len(history)
    print(
        f"| SFC w2a2 | MNIST | {args.epochs} | {args.seed} | {test:.2%} | {per_epoch:.1f} | "
        f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} | {date.today()} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
