"""Benchmark: FINN's reference MLPs on MNIST for PYNQ-Z2; the baselines pruning must beat.

Usage: python bench/reference_mlps.py [--runs-dir DIR] [NAME ...]   (NAME like tfc-w2a2; default: all)
Runs each flow (finished stages are reused) and prints one BENCHMARKS.md row per flow from its report.json.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from data_root import search_path

import hwcompress
from hwcompress.config import load_flow
from hwcompress.tools import Environment, Toolchain

REPO = Path(__file__).resolve().parent.parent

#: Published top-1 (brevitas bnn_pynq README, 500-1000 epochs).
PUBLISHED = {
    "tfc-w1a1": 93.17, "tfc-w1a2": 94.79, "tfc-w2a2": 96.60,
    "sfc-w1a1": 97.81, "sfc-w1a2": 98.31, "sfc-w2a2": 98.66,
    "lfc-w1a1": 98.88, "lfc-w1a2": 98.99,
}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=list(PUBLISHED))
    parser.add_argument("--runs-dir", type=Path, default=Path("runs"))
    args = parser.parse_args()
    env = Environment(search=search_path(), tools=Toolchain.detect(os.environ))
    print("| flow | epochs | top-1 (ours) | published | mismatches / images | LUT | BRAM18 | DSP | fps | latency µs |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in args.names:
        flow = REPO / "flows" / f"{name}-mnist.yaml"
        report = hwcompress.run(flow, runs_dir=args.runs_dir, environment=env).report
        acc, ver, est = report["accuracy"], report["verify"], report["estimate"]
        epochs = load_flow(flow).train.epochs
        print(
            f"| {name} | {epochs} | {acc['dataflow']:.2%} | {PUBLISHED[name]:.2f}% | "
            f"{ver['mismatches']} / {ver['samples']:,} | {est['lut']:,.0f} | {est['bram18']:,.0f} | "
            f"{est['dsp']:,.0f} | {est['fps']:,.0f} | {est['latency_us']:.1f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
