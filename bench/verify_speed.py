"""Benchmark: FINN's per-sample execution of the dataflow graph vs hwcompress' batched execution, same graph.

Usage: python bench/verify_speed.py [--flow flows/tfc-w2a2-mnist.yaml] [--samples N] [--runs-dir DIR]
                                    [--untrained]
Runs (or reuses) the flow up to its compiled design, then executes the accelerator's dataflow graph on the
test images both ways in one process and checks that both give identical outputs. With ``--untrained`` (a
flow whose dataset is not here, such as CIFAR-10's CNV) the flow's network is compiled untrained, its batch
norms calibrated on random images, and both run on ``--samples`` random images: execution speed does not
depend on the weights.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch
from data_root import CLASSES, input_shape, search_path

import hwcompress
from hwcompress.boards import get_board
from hwcompress.compile.accelerator import compile_qonnx
from hwcompress.config import load_flow
from hwcompress.data import load_splits
from hwcompress.export.qonnx_export import export_qonnx_model
from hwcompress.fileio import save_onnx
from hwcompress.models import build_model
from hwcompress.stages import DIRNAMES
from hwcompress.tools import Environment, Toolchain
from hwcompress.verify.dataflow_exec import Accelerator

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flow", type=Path, default=REPO / "flows" / "tfc-w2a2-mnist.yaml")
    parser.add_argument("--samples", type=int, default=None, help="default: the whole test set")
    parser.add_argument("--runs-dir", type=Path, default=Path("runs"))
    parser.add_argument("--untrained", action="store_true", help="random images through the untrained network")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        flow, images, compiled = (_untrained if args.untrained else _trained)(args, Path(tmp))
        accelerator = Accelerator.load(compiled / "parent.onnx", compiled / "accelerator.onnx")

    began = time.perf_counter()
    per_sample = accelerator.execute_per_sample(images)
    per_sample_s = time.perf_counter() - began
    began = time.perf_counter()
    batched = accelerator.execute(images)
    batched_s = time.perf_counter() - began
    identical = np.array_equal(per_sample, batched)
    print(
        f"{len(images)} images: FINN per-sample {per_sample_s:.2f} s "
        f"({per_sample_s / len(images) * 1e3:.2f} ms/image), batched {batched_s:.2f} s; identical: {identical}"
    )
    print(
        f"| {flow.name} | {len(images):,} | {per_sample_s:.1f} | {batched_s:.2f} | {per_sample_s / batched_s:.0f}x | "
        f"{'yes' if identical else 'NO'} | {platform.machine()}, {os.cpu_count()} cores | {date.today()} |"
    )
    return 0 if identical else 1


def _trained(args, tmp: Path):
    search = search_path()
    run = hwcompress.run(args.flow, runs_dir=args.runs_dir, until="compile", environment=Environment(search=search))
    data = load_splits(run.flow.data, search)
    images = data.test_x[: args.samples] if args.samples else data.test_x
    return run.flow, images, run.run_dir / DIRNAMES["compile"]


def _untrained(args, tmp: Path):
    flow = load_flow(args.flow)
    shape = input_shape(flow)
    images = np.random.default_rng(0).integers(0, 256, (args.samples or 1000, *shape), dtype=np.uint8)
    torch.manual_seed(0)
    model = build_model(flow.model, flow.quant, shape, CLASSES).train()
    with torch.no_grad():
        model(torch.from_numpy(images[:256]))  # batch-norm statistics from images, not the defaults
    save_onnx(export_qonnx_model(model.eval(), shape), tmp / "model.onnx")
    target = flow.target.model_copy(update={"enforce_fit": False})
    compile_qonnx(tmp / "model.onnx", tmp / "design", get_board(flow.board), target, flow.compile, Toolchain())
    return flow, images, tmp / "design"


if __name__ == "__main__":
    sys.exit(main())
