"""Benchmark: how well FINN's estimate of the untrained network predicts the trained one, and how fast a design
that cannot fit fails.

Usage: python bench/preflight.py [--flows tfc-w2a2-mnist sfc-w1a1-mnist lenet5-w2a2-mnist] [--epochs 1]
                                 [--doomed lfc-w1a2-mnist --doomed-bits 2 --doomed-fps 10000000]

For each flow: FINN's LUT/BRAM18 estimate of the network as built (untrained) and after ``--epochs`` of QAT,
side by side. Then ``hwcompress.run`` on ``--doomed`` with ``--doomed-bits`` weights and activations at ``--doomed-fps``
and ``enforce_fit`` on (LFC w2a2 at 10 M fps cannot fit a PYNQ-Z2): the seconds until the pre-flight error,
next to the seconds one epoch of its training takes.
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

import torch
from data_root import search_path

import hwcompress
from hwcompress.boards import get_board
from hwcompress.compile.accelerator import compile_qonnx
from hwcompress.config import load_flow
from hwcompress.data import load_splits
from hwcompress.export.qonnx_export import export_qonnx_model
from hwcompress.fileio import save_onnx
from hwcompress.hw.fit import BoardFitError
from hwcompress.models import build_model
from hwcompress.tools import Environment, Toolchain
from hwcompress.train import fit

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", nargs="*", default=["tfc-w2a2-mnist", "sfc-w1a1-mnist", "lenet5-w2a2-mnist"])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--doomed", default="lfc-w1a2-mnist")
    parser.add_argument("--doomed-bits", type=int, default=2)
    parser.add_argument("--doomed-fps", type=float, default=10_000_000)
    args = parser.parse_args()
    search = search_path()
    print(f"{platform.machine()}, {os.cpu_count()} cores, {date.today()}\n")
    if args.flows:
        print("| flow | LUT untrained | LUT trained | diff | BRAM18 untrained | BRAM18 trained |")
        print("|---|---|---|---|---|---|")
    for name in args.flows:
        flow = load_flow(REPO / "flows" / f"{name}.yaml")
        data = load_splits(flow.data, search)
        torch.manual_seed(0)
        model = build_model(flow.model, flow.quant, data.input_shape, data.num_classes)
        before = _estimate(model, data.input_shape, flow)
        with tempfile.TemporaryDirectory() as tmp:
            fit(model, data, flow.train.model_copy(update={"epochs": args.epochs}), Path(tmp) / "c.pt", "bench")
        after = _estimate(model, data.input_shape, flow)
        print(
            f"| {name} | {before.lut:,.0f} | {after.lut:,.0f} | {100 * (before.lut - after.lut) / after.lut:+.2f} % | "
            f"{before.bram18:,.0f} | {after.bram18:,.0f} |",
            flush=True,
        )

    doomed = load_flow(REPO / "flows" / f"{args.doomed}.yaml")
    bits = {"weight_bits": args.doomed_bits, "act_bits": args.doomed_bits}
    doomed = doomed.model_copy(
        update={
            "quant": doomed.quant.model_copy(update=bits),
            "target": doomed.target.model_copy(update={"fps": args.doomed_fps, "enforce_fit": True}),
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        try:
            hwcompress.run(doomed, runs_dir=tmp, environment=Environment(search, Toolchain.detect(os.environ)))
            message = "fits (unexpected)"
        except BoardFitError as err:
            message = str(err)
        failed_after = time.perf_counter() - began
        data = load_splits(doomed.data, search)
        torch.manual_seed(0)
        model = build_model(doomed.model, doomed.quant, data.input_shape, data.num_classes)
        began = time.perf_counter()
        fit(model, data, doomed.train.model_copy(update={"epochs": 1}), Path(tmp) / "c.pt", "bench")
        epoch = time.perf_counter() - began
    what = f"{args.doomed}, w{args.doomed_bits}a{args.doomed_bits}, at {args.doomed_fps:,.0f} fps"
    print(f"\n{what}: failed after {failed_after:.1f} s; one training epoch takes {epoch:.1f} s")
    print(f"({doomed.train.epochs} epochs in the flow)\n  {message}")
    return 0


def _estimate(model, input_shape, flow):
    with tempfile.TemporaryDirectory() as tmp:
        save_onnx(export_qonnx_model(model.eval(), input_shape), Path(tmp) / "m.onnx")
        target = flow.target.model_copy(update={"enforce_fit": False})
        board = get_board(flow.board)
        return compile_qonnx(Path(tmp) / "m.onnx", Path(tmp) / "c", board, target, flow.compile, Toolchain()).estimate


if __name__ == "__main__":
    sys.exit(main())
