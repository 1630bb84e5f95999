"""Benchmark: FINN's estimates of the zoo's CNN flows at several target throughputs (no dataset needed).

Usage: python bench/zoo_estimates.py [--flows cnv-w1a1-cifar10 cnv-w1a2-cifar10 cnv-w2a2-cifar10]
                                     [--fps 9150 5000 2580]

For each flow and each target fps: LUT, BRAM18 and fps as FINN estimates them for the network as the flow
builds it (FINN's estimates do not depend on the trained weights: bench/preflight.py), the data-width converters
and FIFOs FINN's full build inserts between the layers (FINN's estimates of them, which its reports leave out),
whether the whole fits the board under the flow's ceilings, and the seconds the estimate took. BNN-PYNQ's
synthesized designs for comparison (Vivado, measured on the board): CNV-W1A1 26,072 LUT, 124 BRAM36 at 9,150 fps;
CNV-W1A2 40,321 LUT at 9,150 fps; CNV-W2A2 37,302 LUT, 140 BRAM36 at 2,580 fps.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

import torch
from data_root import CLASSES, input_shape

from hwcompress.boards import get_board
from hwcompress.compile.accelerator import compile_qonnx
from hwcompress.config import load_flow
from hwcompress.export.qonnx_export import export_qonnx_model
from hwcompress.fileio import save_onnx
from hwcompress.hw.fit import usage
from hwcompress.models import build_model
from hwcompress.tools import Toolchain

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", nargs="*", default=["cnv-w1a1-cifar10", "cnv-w1a2-cifar10", "cnv-w2a2-cifar10"])
    parser.add_argument("--fps", nargs="*", type=float, help="target fps values (default: each flow's own)")
    args = parser.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} cores, {date.today()}\n")
    print("| flow | target fps | LUT (estimate) | BRAM18 (estimate) | fps (estimate) | converters + FIFOs: n, LUT, "
          "BRAM18 (estimate) | fits PYNQ-Z2 | seconds |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for name in args.flows:
        flow = load_flow(REPO / "flows" / f"{name}.yaml")
        board = get_board(flow.board)
        torch.manual_seed(0)
        shape = input_shape(flow)
        model = build_model(flow.model, flow.quant, shape, CLASSES).eval()
        for fps in args.fps or [flow.target.fps]:
            target = flow.target.model_copy(update={"fps": fps, "enforce_fit": False})
            with tempfile.TemporaryDirectory() as tmp:
                save_onnx(export_qonnx_model(model, shape), Path(tmp) / "model.onnx")
                began = time.perf_counter()
                compiled = compile_qonnx(
                    Path(tmp) / "model.onnx", Path(tmp) / "out", board, target, flow.compile, Toolchain()
                )
                seconds = time.perf_counter() - began
            est, extra = compiled.estimate, compiled.estimate.overhead
            fits = all(row.fits for row in usage(est, board, flow.target.max_utilization))
            print(
                f"| {name} | {fps:,.0f} | {est.lut:,.0f} | {est.bram18:,.0f} | {est.fps:,.0f} | "
                f"{extra.converters} + {extra.fifos}, {extra.lut:,.0f}, {extra.bram18:,.0f} | "
                f"{'yes' if fits else 'no'} | {seconds:.0f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
