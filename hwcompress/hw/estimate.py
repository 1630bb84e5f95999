"""FINN's estimate reports, parsed into the project's own data (every number here is a FINN estimate)."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LayerEstimate:
    """One accelerator layer as FINN estimates it."""

    name: str
    op_type: str
    pe: int | None
    simd: int | None
    cycles: int
    lut: float
    bram18: float
    uram: float
    dsp: float
    macs: int = 0
    params: int = 0


@dataclass(frozen=True)
class Overhead:
    """What FINN's full build adds between the layers, as FINN estimates it: data-width converters where adjacent
    streams differ in width and FIFOs between layers at their default depths (its estimate reports count neither)."""

    lut: float = 0.0
    bram18: float = 0.0
    uram: float = 0.0
    dsp: float = 0.0
    converters: int = 0
    fifos: int = 0


@dataclass(frozen=True)
class Estimate:
    """FINN's estimate of the whole accelerator at ``clock_mhz``: its layers (``lut`` ... ``dsp``), and what the full
    build adds between them (``overhead``)."""

    layers: tuple[LayerEstimate, ...]
    lut: float
    bram18: float
    uram: float
    dsp: float
    fps: float
    latency_us: float
    max_cycles: int
    bottleneck: str
    clock_mhz: float
    op_counts: dict[str, float]
    overhead: Overhead = Overhead()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def headline(self) -> dict[str, float]:
        """The numbers a one-line summary shows, keyed ``estimate.<name>``."""
        return {f"estimate.{name}": getattr(self, name) for name in ("lut", "bram18", "dsp", "fps", "latency_us")}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Estimate:
        layers = tuple(LayerEstimate(**row) for row in data["layers"])
        return cls(**{**data, "layers": layers, "overhead": Overhead(**data.get("overhead", {}))})


def _read(report_dir: Path, name: str) -> dict[str, Any]:
    return json.loads((report_dir / name).read_text())


def parse_estimates(report_dir: Path, clock_mhz: float) -> Estimate:
    """Read FINN's ``estimate_*.json``, ``auto_folding_config.json`` and ``op_and_param_counts.json``."""
    resources = _read(report_dir, "estimate_layer_resources.json")
    cycles = _read(report_dir, "estimate_layer_cycles.json")
    perf = _read(report_dir, "estimate_network_performance.json")
    folding = _read(report_dir, "auto_folding_config.json")
    counts = _read(report_dir, "op_and_param_counts.json")
    layers = []
    for name, res in resources.items():
        if name == "total":
            continue
        fold = folding.get(name, {})
        node_counts = counts.get(name, {})
        layers.append(
            LayerEstimate(
                name=name,
                op_type=re.sub(r"_\d+$", "", name),
                pe=fold.get("PE"),
                simd=fold.get("SIMD"),
                cycles=int(cycles.get(name, 0)),
                lut=float(res.get("LUT", 0)),
                bram18=float(res.get("BRAM_18K", 0)),
                uram=float(res.get("URAM", 0)),
                dsp=float(res.get("DSP", 0)),
                macs=int(sum(v for k, v in node_counts.items() if k.startswith("op_mac_"))),
                params=int(sum(v for k, v in node_counts.items() if k.startswith("param_weight_"))),
            )
        )
    total = resources["total"]
    return Estimate(
        layers=tuple(layers),
        lut=float(total.get("LUT", 0)),
        bram18=float(total.get("BRAM_18K", 0)),
        uram=float(total.get("URAM", 0)),
        dsp=float(total.get("DSP", 0)),
        fps=float(perf["estimated_throughput_fps"]),
        latency_us=float(perf["estimated_latency_ns"]) / 1000.0,
        max_cycles=int(perf["max_cycles"]),
        bottleneck=str(perf["max_cycles_node_name"]),
        clock_mhz=clock_mhz,
        op_counts={k: float(v) for k, v in counts.get("total", {}).items()},
    )
