"""Benchmark: multi-bit networks verified on the whole MNIST test set, with and without exact thresholds.

Usage: python bench/exact_multibit.py [--bits w8a8,w4a8,w8a4] [--epochs 3] [--runs-dir DIR]
Trains LeNet-300-100 at each bit width (3 epochs, lr 0.02, cosine, PYNQ-Z2 at 5,000 fps: the flow of issue 18)
through `hwcompress run`, then compiles the same export again with FINN's own thresholds and verifies both
designs against the float64 reference on all 10,000 test images. Prints a Markdown row per bit width.
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
from data_root import search_path

import hwcompress
from hwcompress.boards import get_board
from hwcompress.compile.accelerator import compile_qonnx
from hwcompress.compile.finn_compat import ExactThresholds
from hwcompress.config import parse_flow
from hwcompress.data import load_splits
from hwcompress.models import build_model
from hwcompress.stages import DIRNAMES
from hwcompress.tools import Environment, Toolchain
from hwcompress.train.reference import predict_exact
from hwcompress.verify.accelerator import verify_compiled

BITS = {"w8a8": (8, 8), "w4a8": (4, 8), "w8a4": (8, 4), "w2a2": (2, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", default="w8a8,w4a8,w8a4")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--runs-dir", type=Path, default=Path("runs"))
    args = parser.parse_args()
    env = Environment(search=search_path())
    print("| network | bits | accuracy (torch / dataflow) | mismatches, FINN's thresholds | mismatches, exact |")
    for bits in args.bits.split(","):
        weight_bits, act_bits = BITS[bits]
        flow = parse_flow(
            {
                "name": f"lenet-300-100-{bits}-mnist",
                "data": {"name": "mnist"},
                "model": {"arch": "lenet-300-100"},
                "quant": {"weight_bits": weight_bits, "act_bits": act_bits},
                "train": {"epochs": args.epochs, "batch_size": 100, "lr": 0.02, "schedule": "cosine"},
                "target": {"fps": 5000},
            }
        )
        run = hwcompress.run(flow, runs_dir=args.runs_dir, environment=env, allow_mismatches=True)
        report = run.report
        data = load_splits(flow.data, env.search)
        model = build_model(flow.model, flow.quant, data.input_shape, data.num_classes)
        model.load_state_dict(torch.load(run.run_dir / DIRNAMES["prune"] / "model.pt", weights_only=True))
        reference = predict_exact(model.eval(), data.test_x).numpy()
        with tempfile.TemporaryDirectory() as tmp:
            original = ExactThresholds._exact
            ExactThresholds._exact = lambda self, model: model
            try:
                target = flow.target.model_copy(update={"enforce_fit": False})
                export = run.run_dir / DIRNAMES["export"] / "model.onnx"
                compile_qonnx(export, Path(tmp), get_board(flow.board), target, flow.compile, Toolchain())
            finally:
                ExactThresholds._exact = original
            finn_only = verify_compiled(Path(tmp), data.test_x, reference, data.test_y)
        print(
            f"| LeNet-300-100 | {bits} | {report['accuracy']['torch']:.2%} / {report['accuracy']['dataflow']:.2%} | "
            f"{finn_only.mismatches} of {finn_only.samples:,} | {report['verify']['mismatches']} of "
            f"{report['verify']['samples']:,} |"
        )
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {date.today()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
