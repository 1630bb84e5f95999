"""Benchmark: the table-network cost model against Yosys, and Verilator's speed, on MNIST-sized designs.

Usage: python bench/tables_cost.py [--nodes 250,500,1000,2000] [--thermometer 3] [--images 10000]

For each size, an untrained table network over 28x28 images (learned wiring's initial picks, random tables: the
synthesized counts depend on the tables only where a trained table simplifies) is written as Verilog and
synthesized by Yosys, whole and stage by stage; the cost model counts it twice, before training (the encoder bits
expected from the shape) and after (the encoder bits the wiring reads). The largest design is then simulated in
Verilator on ``--images`` images (MNIST's test set where the shared copy is found, else random pixels): the
stream with stalls, the stream at full rate and the core, each timed without its build.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch
from data_root import search_path

from hwcompress.config import DataConfig
from hwcompress.data import load_splits
from hwcompress.errors import HwcompressError
from hwcompress.models.tablenet import TableNet
from hwcompress.tables.cost import TableShape, estimate_cost
from hwcompress.tables.rtl import RTL_FILE, write_rtl
from hwcompress.tables.tables import TableModel
from hwcompress.tables.verification import verify_rtl
from hwcompress.tables.yosys import synthesize_design


def mnist_images(count: int) -> tuple[np.ndarray, np.ndarray, str]:
    try:
        data = load_splits(DataConfig(name="mnist", download=False), search_path())
        return data.test_x[:count], data.test_y[:count], "MNIST test images"
    except HwcompressError:
        rng = np.random.default_rng(0)
        return rng.integers(0, 256, (count, 1, 28, 28), dtype=np.uint8), rng.integers(0, 10, count), "random pixels"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", default="250,500,1000,2000")
    parser.add_argument("--thermometer", type=int, default=3)
    parser.add_argument("--images", type=int, default=10_000)
    args = parser.parse_args()
    images, labels, source = mnist_images(args.images)
    print(f"Machine: {platform.machine()}, {platform.node()}; {date.today()}")
    print("| nodes | encoder bits | part | Yosys LUT | cost model LUT (after / before training) | Yosys FF | cost FF "
          "| logic levels |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    largest = None
    for nodes in (int(n) for n in args.nodes.split(",")):
        torch.manual_seed(0)
        net = TableNet((1, 28, 28), 10, nodes=(nodes,), fan_in=6, thermometer=args.thermometer)
        net.calibrate(images)
        model = TableModel.of(net)
        directory = Path(tempfile.mkdtemp(prefix=f"tables-{nodes}-"))
        design = write_rtl(model, directory, f"bench-{nodes}")
        began = time.perf_counter()
        synthesis = synthesize_design(directory, design)
        seconds = time.perf_counter() - began
        shape = TableShape(784, args.thermometer, (nodes,), 6, 10)
        before = estimate_cost(shape)
        after = estimate_cost(
            TableShape(**{**shape.__dict__, "encoder_bits": design.encoder_bits, "input_bits": design.input_bits})
        )
        total = synthesis.total
        print(f"| {nodes:,} | {design.encoder_bits:,} | whole ({seconds:.0f} s of Yosys) | {total.lut:,} | "
              f"{after.lut:,} / {before.lut:,} | {total.ff:,} | {after.ff:,} | {total.logic_levels} |")  # fmt: skip
        for stage, counts in synthesis.stages.items():
            part = "tables" if stage.startswith("layer") else stage
            print(f"| | | {stage} | {counts.lut:,} | {after.parts[part]:,} / {before.parts[part]:,} | {counts.ff:,} "
                  f"| | {counts.logic_levels} |")  # fmt: skip
        largest = (directory, design, model)
    directory, design, model = largest
    result = verify_rtl(directory / RTL_FILE, design, model, images, labels, directory / "sim")
    print()
    print(f"Verilator on {len(images):,} {source}, the {sum(design.layers):,}-node design: mismatches "
          f"{result.mismatches}; {result.simulated_clocks_per_second:,.0f} clocks/s over the three runs "
          f"({result.stalled.clocks + result.stream.clocks + result.core.clocks:,} clocks), {result.seconds:.1f} s "
          "with the two testbench builds")  # fmt: skip
    for name, timing in (("stalled", result.stalled), ("stream", result.stream), ("core", result.core)):
        rate = timing.clocks / timing.seconds
        print(f"  {name}: {timing.clocks:,} clocks in {timing.seconds:.1f} s ({rate:,.0f} clocks/s), interval "
              f"{timing.interval_median:g}, latency {timing.latency_min}-{timing.latency_max}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
