"""Benchmark plot: one accuracy-against-LUT front for MNIST on PYNQ-Z2, FINN's designs and table networks.

Usage: python bench/tables_front.py [--runs-dir runs] [--out docs/tables-front.png]

Table networks: every ``runs/*/report.json`` of a table network on MNIST (LUT *synthesized* by Yosys, accuracy of
the Verilog in Verilator, *simulated-rtl*). FINN designs: ``bench/finn_mnist_designs.csv``, the designs of
BENCHMARKS.md's earlier sections (LUT FINN's *estimate*, accuracy of the dataflow graph, *simulated*) and
BNN-PYNQ's published LFC-W1A1. Each point is labelled with its kind: the LUT of the two families are counted by
different tools and are not the same measure.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

HERE = Path(__file__).resolve().parent
KINDS = {
    "table network": ("o", "tab:green", "table network: LUT synthesized (Yosys), accuracy simulated-rtl"),
    "finn": ("s", "tab:blue", "FINN design: LUT estimate (FINN), accuracy simulated"),
    "published": ("^", "tab:gray", "published (BNN-PYNQ LFC-W1A1)"),
}


def table_points(runs: Path) -> list[dict]:
    points = []
    for path in sorted(runs.glob("*/report.json")):
        report = json.loads(path.read_text())
        if report.get("backend") == "tables" and report["dataset"]["name"] == "mnist":
            points.append(
                {"design": report["name"], "accuracy": report["accuracy"]["rtl"], "lut": report["resources"]["lut"],
                 "kind": "table network"}
            )  # fmt: skip
    return points


def finn_points() -> list[dict]:
    with (HERE / "finn_mnist_designs.csv").open() as handle:
        return [
            {"design": row["design"], "accuracy": float(row["accuracy"]), "lut": int(row["lut"]),
             "kind": "published" if row["lut_kind"] == "published" else "finn"}
            for row in csv.DictReader(handle)
        ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-dir", type=Path, default=Path("runs"))
    parser.add_argument("--out", type=Path, default=HERE.parent / "docs" / "tables-front.png")
    args = parser.parse_args()
    points = table_points(args.runs_dir) + finn_points()
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    for kind, (marker, colour, label) in KINDS.items():
        chosen = [p for p in points if p["kind"] == kind]
        ax.scatter([p["lut"] for p in chosen], [100 * p["accuracy"] for p in chosen], marker=marker, c=colour,
                   label=label, s=40, zorder=3)  # fmt: skip
        for p in chosen:
            ax.annotate(p["design"], (p["lut"], 100 * p["accuracy"]), fontsize=7, xytext=(4, 3),
                        textcoords="offset points")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("LUT (log scale)")
    ax.set_ylabel("MNIST test accuracy, %")
    ax.set_title("MNIST on PYNQ-Z2: FINN designs and table networks")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out)
    print(f"{args.out}: {len(points)} designs")
    for p in sorted(points, key=lambda p: p["lut"]):
        print(f"| {p['design']} | {p['kind']} | {p['lut']:,} | {p['accuracy']:.2%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
