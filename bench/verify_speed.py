"""Benchmark: FINN's per-sample execution of the dataflow graph vs hwcompress' verifier, same graph, same run.

Usage: python bench/verify_speed.py [--flow FLOW ...] [--samples N] [--runs-dir DIR] [--untrained]
Runs (or reuses) each flow up to its compiled design, then executes the accelerator on the test images both ways
in one process and checks that both give identical outputs. The verifier runs twice: its first call also pays for
memory new to the process, which a verification of a whole test set in batches pays once. The floor is the time
numpy's float32 matrix products alone take for the same multiply-accumulates (each MVAU's product on random
operands, one verifier batch of rows at a time), which no verifier built on numpy's products can beat. With
``--untrained`` (a flow whose dataset is not here, such as CIFAR-10's CNV) the flow's network is compiled
untrained, its batch norms calibrated on random images, and both run on ``--samples`` random images: execution
speed does not depend on the weights.
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
    parser.add_argument("--flow", type=Path, action="append", help="repeat for several (default: TFC w2a2)")
    parser.add_argument("--samples", type=int, default=None, help="default: the whole test set (1,000 untrained)")
    parser.add_argument("--runs-dir", type=Path, default=Path("runs"))
    parser.add_argument("--untrained", action="store_true", help="random images through the untrained network")
    args = parser.parse_args()
    print("| flow | images | FINN per-sample, s | verifier, s (first call / again) | speed-up (first call) "
          "| float32 products, s | verifier / products (first / again) | identical | machine | date |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    identical = True
    for flow_path in args.flow or [REPO / "flows" / "tfc-w2a2-mnist.yaml"]:
        with tempfile.TemporaryDirectory() as tmp:
            flow, images, compiled = (_untrained if args.untrained else _trained)(args, flow_path, Path(tmp))
            accelerator = Accelerator.load(compiled / "parent.onnx", compiled / "accelerator.onnx")
        began = time.perf_counter()
        per_sample = accelerator.execute_per_sample(images)
        per_sample_s = time.perf_counter() - began
        began = time.perf_counter()
        batched = accelerator.execute(images)
        batched_s = time.perf_counter() - began
        began = time.perf_counter()
        accelerator.execute(images)  # again: its arrays' memory is no longer new to the process
        again_s = time.perf_counter() - began
        floor_s = products_floor(accelerator, len(images))
        same = np.array_equal(per_sample, batched)
        identical &= same
        print(
            f"| {flow.name}{' (`--untrained`)' if args.untrained else ''} | {len(images):,} | {per_sample_s:.1f} | "
            f"{batched_s:.3f} / {again_s:.3f} | {per_sample_s / batched_s:.0f}x | {floor_s:.3f} | "
            f"{batched_s / floor_s:.1f}x / {again_s / floor_s:.1f}x | "
            f"{'yes' if same else 'NO'} | {platform.machine()}, {os.cpu_count()} cores | {date.today()} |",
            flush=True,
        )
    return 0 if identical else 1


def products_floor(accelerator: Accelerator, images: int) -> float:
    """Seconds numpy's float32 matrix products take for every MVAU's multiply-accumulates on ``images`` images,
    in the verifier's batches (random operands of the same shapes)."""
    rng = np.random.default_rng(0)
    chunk = accelerator.default_chunk()
    seconds = 0.0
    for layer in accelerator.reference.layers:
        if layer["op"] != "MVAU":
            continue
        fan_in, outputs = accelerator.reference.arrays[layer["weights"]].shape
        weights = rng.integers(-1, 2, (fan_in, outputs)).astype(np.float32)
        vectors = int(np.prod(layer["vectors"][1:]))
        for first in range(0, images, chunk):
            rows = rng.integers(-1, 2, (min(chunk, images - first) * vectors, fan_in)).astype(np.float32)
            began = time.perf_counter()
            rows @ weights
            seconds += time.perf_counter() - began
    return seconds


def _trained(args, flow_path: Path, tmp: Path):
    search = search_path()
    run = hwcompress.run(flow_path, runs_dir=args.runs_dir, until="compile", environment=Environment(search=search))
    data = load_splits(run.flow.data, search)
    images = data.test_x[: args.samples] if args.samples else data.test_x
    return run.flow, images, run.run_dir / DIRNAMES["compile"]


def _untrained(args, flow_path: Path, tmp: Path):
    flow = load_flow(flow_path)
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
