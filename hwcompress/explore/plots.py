"""The exploration's plots as PNG (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.colors import ListedColormap, LogNorm

from hwcompress.explore.front import TrialRow

#: viridis without its palest yellow, which is hard to see on white
FPS_COLOURS = ListedColormap(plt.get_cmap("viridis")(np.linspace(0.0, 0.85, 256)))


def plot_front(rows: list[TrialRow], front: list[TrialRow], path: Path, title: str,
               by_fps: dict[float, list[TrialRow]] | None = None, estimate: str = "FINN estimate") -> None:  # fmt: skip
    """Validation accuracy against LUT (``estimate`` says whose) for every trained design, fps as colour, designs
    that break a constraint in grey; the front ringed and joined by a line, or with several target fps
    (``by_fps``), each target's own front joined in its colour instead."""
    trained = [row for row in rows if row.trained]
    feasible = [row for row in trained if row.feasible]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    others = [row for row in trained if not row.feasible]
    if others:
        ax.scatter([r.lut for r in others], [r.val_accuracy for r in others], c="0.8", s=18, label="infeasible")
    if feasible:
        fps = [r.fps for r in feasible]
        norm = LogNorm(min(fps), max(fps)) if min(fps) < max(fps) else None
        points = ax.scatter([r.lut for r in feasible], [r.val_accuracy for r in feasible], c=fps, cmap=FPS_COLOURS,
                            norm=norm, s=22, label="feasible")  # fmt: skip
        fig.colorbar(points, ax=ax, label=f"fps ({estimate})")
        for fps, rows_at in (by_fps or {}).items():
            ax.plot([r.lut for r in rows_at], [r.val_accuracy for r in rows_at], "-", lw=1.2, zorder=1,
                    color=points.cmap(points.norm(fps)), label=f"front at {fps:,.0f} fps")  # fmt: skip
    if front:
        line = sorted(front, key=lambda r: r.lut)
        if not by_fps:  # across targets a line would join designs that do not compete
            ax.plot([r.lut for r in line], [r.val_accuracy for r in line], "-", color="crimson", lw=1, zorder=1)
        ax.scatter([r.lut for r in line], [r.val_accuracy for r in line], s=70, facecolors="none",
                   edgecolors="crimson", lw=1.5, label="Pareto front")  # fmt: skip
    ax.set_xlabel(f"LUT ({estimate})")
    ax.set_ylabel("validation accuracy (after fine-tune)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if trained:
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


#: The marker of each backend's front in ``plot_fronts``.
BACKEND_MARKERS = {"finn": "s", "tables": "o"}


def plot_fronts(fronts: dict[str, tuple[str, list[tuple[float, float]]]], path: Path, title: str) -> None:
    """Several explorations' fronts in one plot: for each label, its backend (the marker) and its (LUT, validation
    accuracy) points, joined by a line."""
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for label, (backend, points) in fronts.items():
        line = sorted(points)
        ax.plot([p[0] for p in line], [p[1] for p in line], "-", marker=BACKEND_MARKERS.get(backend, "^"), ms=5,
                lw=1, label=label)  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("LUT (each front's own count, named in the legend)")
    ax.set_ylabel("validation accuracy (after each search's short training)")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_bits(front: list[TrialRow], path: Path, title: str) -> None:
    """Each front design's weight bits per layer as a heat map (rows by LUT), labelled ``w<bits>a<bits>``."""
    designs = sorted(front, key=lambda r: r.lut)
    layers = list(designs[0].design.weight_bits) if designs else []
    grid = [[row.design.weight_bits[layer] for layer in layers] for row in designs]
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * max(1, len(layers)), 1.0 + 0.35 * max(1, len(designs))), dpi=120)
    if designs:
        image = ax.imshow(grid, cmap="Blues", vmin=0, vmax=8, aspect="auto")
        for i, row in enumerate(designs):
            for j, layer in enumerate(layers):
                act = row.design.act_bits.get(layer)
                ax.text(j, i, f"w{row.design.weight_bits[layer]}" + (f"a{act}" if act else ""), ha="center",
                        va="center", fontsize=7)  # fmt: skip
        ax.set_xticks(range(len(layers)), layers)
        ax.set_yticks(range(len(designs)), [f"#{r.number}: {r.lut:,.0f} LUT" for r in designs], fontsize=7)
        fig.colorbar(image, ax=ax, label="weight bits")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
