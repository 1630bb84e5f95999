"""Assemble ``report.json`` from what the stages wrote. Optional parts stay out when not computed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hwcompress import __version__
from hwcompress.boards import Board
from hwcompress.hw.cost import LayerCost, totals
from hwcompress.hw.estimate import Estimate
from hwcompress.hw.fit import usage

SCHEMA_VERSION = 1
ESTIMATE = "estimate (FINN)"
SIMULATED = "simulated (executed here, bit-exact)"
MEASURED = "measured (on the board)"
COMPUTE_OPS = ("MVAU", "VVAU")


@dataclass
class ReportInputs:
    """What a report is made of; the flow runner and ``hwcompress compile`` both fill it."""

    name: str
    board: Board
    estimate: Estimate
    ceiling: Any
    verify: dict[str, Any]
    finn_verify: dict[str, bool] = field(default_factory=dict)
    dataset: str | None = None
    accuracy_torch: float | None = None
    accuracy_val: float | None = None
    export: dict[str, Any] | None = None
    costs: list[LayerCost] | None = None
    prune: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)


def build_report(parts: ReportInputs) -> dict[str, Any]:
    e, b = parts.estimate, parts.board
    verify = parts.verify
    export = parts.export or {}
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "generated_by": f"hwcompress {__version__}",
        "name": parts.name,
        "kinds": {"estimate": ESTIMATE, "simulated": SIMULATED, "measured": MEASURED},
        "dataset": {"name": parts.dataset, "test_samples": verify["samples"]},
        "accuracy": {
            "kind": SIMULATED,
            "torch": parts.accuracy_torch,
            "val": parts.accuracy_val,
            "qonnx": export.get("accuracy"),
            "dataflow": verify.get("accuracy_dataflow"),
        },
        "export": {"kind": SIMULATED, **export} if parts.export else None,
        "verify": {
            "kind": SIMULATED,
            "samples": verify["samples"],
            "mismatches": verify["mismatches"],
            "bit_exact": verify["mismatches"] == 0,
            "first_mismatch": verify.get("first_mismatch"),
            "seconds": verify.get("seconds"),
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
            **{
                row.resource: {
                    "used": row.used,
                    "capacity": row.capacity,
                    "allowed": row.allowed,
                    "share": row.share,
                    "fits": row.fits,
                }
                for row in usage(e, b, parts.ceiling)
            },
        },
        "cost": {"kind": "counted from the model", **totals(parts.costs)} if parts.costs else None,
        "prune": _prune_summary(parts.prune),
        "layers": merge_layers(e, parts.costs, parts.prune),
        "timings": parts.timings,
        "measured": None,
    }
    return report


def _prune_summary(prune: dict[str, Any] | None) -> dict[str, Any] | None:
    if prune is None or prune["criterion"] == "none":
        return None
    keys = ("criterion", "rate", "achieved_rate", "allocation", "granularity", "schedule", "layers", "steps")
    return {**{k: prune[k] for k in keys}, "accuracy_unpruned": prune["accuracy"]["unpruned_test"]}


def merge_layers(
    estimate: Estimate, costs: list[LayerCost] | None, prune: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """FINN's layers in order; compute layers (MVAU/VVAU) paired with the model's layers in order."""
    channels = {row["name"]: row for row in (prune or {}).get("layers", [])}
    compute = iter(costs or [])
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
        if layer.op_type.split("_")[0] in COMPUTE_OPS:
            cost = next(compute, None)
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
                    row["channels_before"] = channels[cost.name]["before"]
                    row["channels_after"] = channels[cost.name]["after"]
        rows.append(row)
    return rows
