"""Benchmark: FINN's per-sample execution of the dataflow graph vs hwcompress' batched execution, same graph.

Usage: python bench/verify_speed.py [--flow flows/tfc-w2a2-mnist.yaml] [--samples N] [--runs-dir DIR]
Runs (or reuses) the flow up to its compiled design, then executes the accelerator's dataflow graph on the
test images both ways in one process and checks that both give identical outputs.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
from data_root import search_path

import hwcompress
from hwcompress.data import load_splits
from hwcompress.stages import DIRNAMES
from hwcompress.tools import Environment
from hwcompress.verify.dataflow_exec import Accelerator

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flow", type=Path, default=REPO / "flows" / "tfc-w2a2-mnist.yaml")
    parser.add_argument("--samples", type=int, default=None, help="default: the whole test set")
    parser.add_argument("--runs-dir", type=Path, default=Path("runs"))
    args = parser.parse_args()

    search = search_path()
    run = hwcompress.run(args.flow, runs_dir=args.runs_dir, until="compile", environment=Environment(search=search))
    flow = run.flow
    data = load_splits(flow.data, search)
    images = data.test_x[: args.samples] if args.samples else data.test_x
    compiled = run.run_dir / DIRNAMES["compile"]
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


if __name__ == "__main__":
    sys.exit(main())
