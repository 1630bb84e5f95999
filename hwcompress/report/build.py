"""Assemble ``report.json`` from what the stages wrote. Optional parts stay out when not computed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hwcompress.boards import Board
from hwcompress.config import Utilization
from hwcompress.export.check import ExportCheck
from hwcompress.hw.cost import LayerCost, totals
from hwcompress.hw.estimate import Estimate
from hwcompress.hw.fit import counted, usage
from hwcompress.measure.remote import Measured
from hwcompress.prune.result import PruneSummary
from hwcompress.sparse.engine import Sparsified
from hwcompress.verify.accelerator import Verification
from hwcompress.version import __version__

SCHEMA_VERSION = 2
ESTIMATE = "estimate (FINN)"
SIMULATED = "simulated (executed here)"
MEASURED = "measured (on the board)"
SIMULATED_BOARD = (
    "simulated-board (the board-side driver against a simulated board: proves the deployment path and the "
    "packing; its timings are the host CPU's, not the accelerator's)"
)
STORED = "stored-model size (counted from the sparse network; the accelerator still computes every weight)"
COMPUTE_OPS = ("MVAU", "VVAU")


@dataclass
class ReportInputs:
    """What a report is made of; the flow runner and ``hwcompress compile`` both fill it."""

    name: str
    board: Board
    estimate: Estimate
    ceiling: Utilization
    verify: Verification
    finn_verify: dict[str, bool] = field(default_factory=dict)
    dataset: str | None = None
    accuracy_torch: float | None = None
    accuracy_val: float | None = None
    export: ExportCheck | None = None
    costs: list[LayerCost] | None = None
    prune: PruneSummary | None = None
    sparsify: Sparsified | None = None
    measured: Measured | None = None
    timings: dict[str, float] = field(default_factory=dict)


def build_report(parts: ReportInputs) -> dict[str, Any]:
    e, b, verify = parts.estimate, parts.board, parts.verify
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "generated_by": f"hwcompress {__version__}",
        "name": parts.name,
        "kinds": {
            "estimate": ESTIMATE,
            "simulated": SIMULATED,
            "simulated-board": SIMULATED_BOARD,
            "measured": MEASURED,
            "stored": STORED,
        },
        "dataset": {"name": parts.dataset, "test_samples": verify.samples},
        "accuracy": {
            "kind": SIMULATED,
            "torch": parts.accuracy_torch,
            "val": parts.accuracy_val,
            "qonnx": parts.export.accuracy if parts.export else None,
            "dataflow": verify.accuracy_dataflow,
        },
        "export": {"kind": SIMULATED, **parts.export.to_json()} if parts.export else None,
        "verify": {
            "kind": verification_kind(verify),
            "samples": verify.samples,
            "mismatches": verify.mismatches,
            "bit_exact": verify.mismatches == 0,
            "first_mismatch": verify.first_mismatch,
            "divergence": verify.divergence,
            "seconds": verify.seconds,
            "finn_verify_steps": parts.finn_verify,
        },
        "estimate": {
            "kind": ESTIMATE,
            "lut": e.lut,
            "bram18": e.bram18,
            "uram": e.uram,
            "dsp": e.dsp,
            "fps": e.fps,
            "latency_us": e.latency_us,
            "clock_mhz": e.clock_mhz,
            "max_cycles": e.max_cycles,
            "bottleneck": e.bottleneck,
        },
        "board": {
            "name": b.name,
            "part": b.part,
            "finn_board": b.finn_board,
            "clock_mhz": b.clock_mhz,
            **b.resources.model_dump(),
        },
        "utilization": {
            "kind": ESTIMATE,
            "counts": counted(e, b),
            **{row.resource: row.to_json() for row in usage(e, b, parts.ceiling)},
        },
        "cost": {"kind": "counted from the model", **totals(parts.costs)} if parts.costs else None,
        "prune": _prune_section(parts.prune),
        "lowrank": _lowrank_section(parts.prune),
        "sparsify": _sparsify_section(parts.sparsify),
        "layers": merge_layers(e, parts.costs, parts.prune),
        "timings": parts.timings,
        "measured": _measured_section(parts.measured, e.fps),
    }
    return report


def verification_kind(verify: Verification) -> str:
    """What the verification showed: bit-exact only when no input differed."""
    if verify.mismatches == 0:
        return f"simulated (executed here, bit-exact on {verify.samples:,} inputs)"
    return f"simulated (executed here; NOT bit-exact: {verify.mismatches:,} of {verify.samples:,} inputs differ)"


def _prune_section(prune: PruneSummary | None) -> dict[str, Any] | None:
    if prune is None or prune.method == "none":
        return None
    return {k: v for k, v in prune.to_json().items() if k not in ("keep", "lowrank")}


def _lowrank_section(prune: PruneSummary | None) -> dict[str, Any] | None:
    if prune is None or prune.lowrank is None:
        return None
    return {"accuracy_kind": "simulated (PyTorch)", **prune.lowrank.to_json()}


def _sparsify_section(sparse: Sparsified | None) -> dict[str, Any] | None:
    if sparse is None:
        return None
    storage = sparse.storage.to_json()
    return {
        "kind": STORED,
        "schedule": sparse.schedule,
        "target_sparsity": sparse.target_sparsity,
        "sparsity": sparse.sparsity,
        "fine_tunes": sparse.fine_tunes,
        "bits": {
            "dense_float32": storage["total"]["dense_float_bits"],
            "dense_integer": storage["total"]["dense_int_bits"],
            "compressed": storage["total"]["huffman_bits"],
        },
        "ratio_vs_float32": storage["ratio_vs_float"],
        "ratio_vs_integer": storage["ratio_vs_int"],
        "accuracy": {
            "kind": "simulated (PyTorch, the sparse network)",
            "dense": sparse.accuracy_dense,
            "masked": sparse.accuracy_masked,
            "compressed": sparse.accuracy,
        },
        "layers": storage["layers"],
    }


def _measured_section(measured: Measured | None, estimated_fps: float) -> dict[str, Any] | None:
    """The driver's numbers, labelled by backend; fps against FINN's estimate only where a board measured them."""
    if measured is None:
        return None
    on_board = measured.backend == "board"
    return {
        "kind": MEASURED if on_board else SIMULATED_BOARD,
        **measured.to_json(),
        "fps_vs_estimate": {n: fps / estimated_fps for n, fps in measured.fps.items()} if on_board else None,
    }


def merge_layers(
    estimate: Estimate, costs: list[LayerCost] | None, prune: PruneSummary | None = None
) -> list[dict[str, Any]]:
    """FINN's layers in order; each compute layer (MVAU/VVAU) paired with the model's layer of the same MACs and
    weights (FINN orders a residual block's branches its own way), in order among equals."""
    channels = {layer.name: layer for layer in prune.layers} if prune else {}
    paired = _pair_compute_layers([layer for layer in estimate.layers if _is_compute(layer)], costs or [])
    rows = []
    for layer in estimate.layers:
        row: dict[str, Any] = {
            "finn_node": layer.name,
            "op_type": layer.op_type,
            "pe": layer.pe,
            "simd": layer.simd,
            "cycles": layer.cycles,
            "lut": layer.lut,
            "bram18": layer.bram18,
            "uram": layer.uram,
            "dsp": layer.dsp,
        }
        cost = paired.get(layer.name)
        if cost is not None:
            row.update(
                {
                    "layer": cost.name,
                    "params": cost.params,
                    "macs": cost.macs,
                    "bops": cost.bops,
                    "weight_bits": cost.weight_bits,
                    "input_bits": cost.input_bits,
                }
            )
            if cost.name in channels:
                row["channels_before"] = channels[cost.name].before
                row["channels_after"] = channels[cost.name].after
        rows.append(row)
    return rows


def _is_compute(layer) -> bool:
    return layer.op_type.split("_")[0] in COMPUTE_OPS


def _pair_compute_layers(layers: list, costs: list[LayerCost]) -> dict[str, LayerCost]:
    """FINN's compute layers by node name -> the model's layer with the same MACs and weights, in order among
    equals; in plain order when FINN's per-layer counts are missing (an estimate from an older version)."""
    if not all(layer.macs for layer in layers):
        return {layer.name: cost for layer, cost in zip(layers, costs, strict=False)}
    by_size: dict[tuple[int, int], list[LayerCost]] = {}
    for cost in costs:
        by_size.setdefault((cost.macs, cost.params), []).append(cost)
    return {
        layer.name: by_size[layer.macs, layer.params].pop(0)
        for layer in layers
        if by_size.get((layer.macs, layer.params))
    }
