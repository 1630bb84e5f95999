"""A table network's ``report.json`` and ``report.md``: the sections of a FINN report, with numbers from the RTL.

Every number carries its kind: *synthesized (Yosys)* for cells, *simulated-rtl* for what Verilator ran, *simulated*
for the PyTorch network and the tables run here, *estimate* for the cost model and the DMA's bound,
*simulated-board (RTL)* for the driver against the Verilog, *measured* for a board.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hwcompress.boards import Board
from hwcompress.config import Utilization
from hwcompress.report.format import count, pct
from hwcompress.tables.check import TablesCheck
from hwcompress.tables.cost import TableCost
from hwcompress.tables.fit import table_usage
from hwcompress.tables.rtl import RtlDesign
from hwcompress.tables.tables import TableModel
from hwcompress.tables.verification import RtlVerification
from hwcompress.tables.yosys import Synthesis
from hwcompress.version import __version__

SCHEMA_VERSION = 2
SIMULATED = "simulated (executed here: the PyTorch network, the truth tables in numpy)"
SIMULATED_RTL = "simulated-rtl (the generated Verilog, cycle by cycle in Verilator)"
SYNTHESIZED = (
    "synthesized (Yosys synth_xilinx for 7-series: Yosys's cells, not Vivado's; no place and route, so no fmax)"
)
ESTIMATE = "estimate (hwcompress's cost model of the network's shape; the DMA's bound from bytes and port width)"
SIMULATED_BOARD_RTL = (
    "simulated-board (RTL): the bundle's driver over SSH against the generated Verilog in Verilator behind an AXI "
    "DMA in memory; time = simulated clocks / the fabric clock, the DMA and memory not simulated"
)
MEASURED = "measured (on the board)"
#: The processing system's high-performance port (HP0) carries 64 bits per clock, both DMA channels together.
HP_PORT_BITS = 64


@dataclass
class TableReportInputs:
    """What a table network's report is made of."""

    name: str
    board: Board
    clock_mhz: float
    ceiling: Utilization
    model: TableModel
    design: RtlDesign
    synthesis: Synthesis
    cost: TableCost
    check: TablesCheck
    verify: RtlVerification
    dataset: str | None = None
    accuracy_val: float | None = None
    measured: dict[str, Any] | None = None  # the measure stage's Measured, as JSON
    timings: dict[str, float] = field(default_factory=dict)


def build_table_report(parts: TableReportInputs) -> dict[str, Any]:
    total, verify, design, board = parts.synthesis.total, parts.verify, parts.design, parts.board
    used = {"lut": total.lut, "ff": total.ff}
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_by": f"hwcompress {__version__}",
        "backend": "tables",
        "name": parts.name,
        "kinds": {
            "simulated": SIMULATED,
            "simulated-rtl": SIMULATED_RTL,
            "synthesized": SYNTHESIZED,
            "estimate": ESTIMATE,
            "simulated-board (RTL)": SIMULATED_BOARD_RTL,
            "measured": MEASURED,
        },
        "dataset": {"name": parts.dataset, "test_samples": verify.samples},
        "network": {
            "pixels": design.pixels,
            "thresholds": parts.model.thresholds.tolist(),
            "encoder_bits": design.encoder_bits,
            "layers": list(design.layers),
            "fan_in": parts.model.layers[0].fan_in,
            "classes": design.classes,
            "count_bits": design.count_bits,
        },
        "accuracy": {
            "kind": SIMULATED,
            "torch": parts.check.accuracy_torch,
            "val": parts.accuracy_val,
            "tables": parts.check.accuracy_tables,
            "rtl": verify.accuracy_rtl,
            "rtl_kind": SIMULATED_RTL,
        },
        "export": {"kind": SIMULATED, **parts.check.to_json()},
        "verify": {
            "kind": verification_kind(verify),
            "samples": verify.samples,
            "mismatches": verify.total_mismatches,
            "mismatches_per_run": verify.mismatches,
            "bit_exact": verify.total_mismatches == 0,
            "first_mismatch": verify.first_mismatch,
            "stall_in": verify.stall_in,
            "stall_out": verify.stall_out,
            "seconds": verify.seconds,
            "simulated_clocks_per_second": verify.simulated_clocks_per_second,
        },
        "resources": {"kind": SYNTHESIZED, "yosys": parts.synthesis.yosys, **total.to_json()},
        "stages": [
            {"stage": name, **counts.to_json(), "cost_model": parts.cost.parts.get(_part(name))}
            for name, counts in parts.synthesis.stages.items()
        ],
        "cost_model": {"kind": ESTIMATE, **parts.cost.to_json()},
        "performance": _performance(parts.verify, design, parts.clock_mhz),
        "board": {"name": board.name, "part": board.part, "clock_mhz": parts.clock_mhz, **board.resources.model_dump()},
        "utilization": {
            "kind": SYNTHESIZED,
            "counts": "the core and its stream interface; not the DMA and the shell",
            **{row.resource: row.to_json() for row in table_usage(used, board, parts.ceiling)},
        },
        "measured": _measured(parts.measured, verify),
        "timings": parts.timings,
    }


def _measured(measured: dict[str, Any] | None, verify: RtlVerification) -> dict[str, Any] | None:
    """The driver's numbers, labelled by where they come from, beside Verilator's latency."""
    if measured is None:
        return None
    on_board = measured["backend"] == "board"
    return {
        "kind": MEASURED if on_board else SIMULATED_BOARD_RTL,
        **measured,
        "verilator_latency_cycles": verify.stream.latency_median,
    }


def _part(stage: str) -> str:
    """The cost model's part of a pipeline stage (``layer0`` and every other layer are ``tables``)."""
    return "tables" if stage.startswith("layer") else stage


def verification_kind(verify: RtlVerification) -> str:
    if verify.total_mismatches == 0:
        return f"simulated-rtl (Verilator, bit-exact with the tables on {verify.samples:,} inputs in every run)"
    return (
        f"simulated-rtl (Verilator; NOT bit-exact: up to {verify.total_mismatches:,} of {verify.samples:,} inputs "
        "differ from the tables)"
    )


def _performance(verify: RtlVerification, design: RtlDesign, clock_mhz: float) -> dict[str, Any]:
    """Clocks from the simulation; images per second and microseconds at the board's clock."""

    def at_clock(interval: float, latency: float) -> dict[str, float]:
        return {
            "interval_clocks": interval,
            "latency_clocks": latency,
            "fps": clock_mhz * 1e6 / interval,
            "latency_us": latency / clock_mhz,
        }

    return {
        "kind": f"{SIMULATED_RTL}; per second at the board's {clock_mhz:g} MHz, which Yosys cannot confirm",
        "clock_mhz": clock_mhz,
        "core": at_clock(verify.core.interval_median, verify.core.latency_median),
        "stream": {
            **at_clock(verify.stream.interval_median, verify.stream.latency_median + design.beats_per_image - 1),
            "beats_per_image": design.beats_per_image,
            "stream_bits": design.stream_bits,
        },
        "stalled": {
            "interval_clocks": verify.stalled.interval_median,
            "latency_clocks_min": verify.stalled.latency_min,
            "latency_clocks_max": verify.stalled.latency_max,
        },
        "dma_bound": dma_bound(design, clock_mhz),
    }


def dma_bound(design: RtlDesign, clock_mhz: float) -> dict[str, Any]:
    """The most images per second the board's AXI DMA can carry: an image's bytes in and its answer's out, both
    through the one 64-bit high-performance port at the fabric clock (no DMA reaches it: FINN measured 61 % of
    its ideal on a PYNQ-Z1)."""
    image_bytes = design.beats_per_image * design.stream_bits // 8
    moved = image_bytes + design.output_bytes
    return {
        "kind": ESTIMATE,
        "bytes_per_image": moved,
        "port_bits": HP_PORT_BITS,
        "fps": clock_mhz * 1e6 * HP_PORT_BITS / 8 / moved,
    }


def render_table_markdown(report: dict[str, Any]) -> str:
    acc, ver, res, board, perf = (report[k] for k in ("accuracy", "verify", "resources", "board", "performance"))
    net, cost = report["network"], report["cost_model"]
    verdict = "bit-exact" if ver["bit_exact"] else f"**{count(ver['mismatches'], 'mismatching sample')}**"
    core, stream = perf["core"], perf["stream"]
    lines = [
        f"# {report['name']}",
        "",
        f"Generated by {report['generated_by']}: a table network (hwcompress's own Verilog). Kinds of numbers: "
        + "; ".join(f"*{kind}* = {text}" for kind, text in report["kinds"].items())
        + ".",
        "",
        "## Summary",
        "",
        f"- {net['pixels']} pixels → {net['encoder_bits']:,} thermometer bits (thresholds "
        f"{', '.join(map(str, net['thresholds']))}) → table layers of {', '.join(f'{n:,}' for n in net['layers'])} "
        f"nodes, {net['fan_in']} inputs each → {net['classes']} popcounts → argmax.",
        f"- On {board['name']} ({board['part']}): {res['lut']:,} LUT, {res['ff']:,} FF, {res['carry4']:,} CARRY4, "
        f"{res['muxf7'] + res['muxf8']:,} MUXF7/8 (*synthesized*, {res['yosys']}); at most {res['logic_levels']} "
        "logic levels between registers.",
        f"- The core takes one image every {core['interval_clocks']:g} clock and answers {core['latency_clocks']:g} "
        f"clocks later: {core['fps']:,.0f} images/s at {perf['clock_mhz']:g} MHz; through the "
        f"{stream['stream_bits']}-bit stream, {stream['beats_per_image']} beats an image: {stream['fps']:,.0f} "
        f"images/s, {stream['latency_us']:.2f} µs from the first beat to the answer (*simulated-rtl*).",
        f"- Verilog on {ver['samples']:,} test images of {report['dataset']['name'] or 'the given inputs'}: "
        f"{verdict} against the truth tables, also under back-pressure (input idle {ver['stall_in']:.0%}, output "
        f"stalled {ver['stall_out']:.0%} of clocks) (*simulated-rtl*).",
        f"- Accuracy: PyTorch {pct(acc['torch'])}, tables {pct(acc['tables'])} (*simulated*), Verilog "
        f"{pct(acc['rtl'])} (*simulated-rtl*).",
        "",
        "## Utilisation (*synthesized*)",
        "",
        f"Counts {report['utilization']['counts']}.",
        "",
        "| resource | used | allowed | board | share |",
        "|---|---:|---:|---:|---:|",
    ]
    for resource in ("lut", "ff"):
        row = report["utilization"][resource]
        flag = "" if row["fits"] else " **over**"
        lines.append(
            f"| {resource.upper()} | {row['used']:,} | {row['allowed']:,.0f} | {row['capacity']:,} | "
            f"{row['share']:.1%}{flag} |"
        )
    lines += [
        "",
        "## Pipeline stages (*synthesized*, each alone; cost model: *estimate*)",
        "",
        "| stage | LUT | cost model | FF | CARRY4 | MUXF7/8 | logic levels |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["stages"]:
        model = "—" if row["cost_model"] is None else f"{row['cost_model']:,}"
        lines.append(
            f"| {row['stage']} | {row['lut']:,} | {model} | {row['ff']:,} | {row['carry4']:,} | "
            f"{row['muxf7'] + row['muxf8']:,} | {row['logic_levels']} |"
        )
    lines += [
        "",
        f"Cost model of the whole design: {cost['lut']:,} LUT, {cost['ff']:,} FF (*estimate*; synthesized "
        f"{res['lut']:,} LUT, {res['ff']:,} FF).",
        "",
        "## Verification (*simulated-rtl*)",
        "",
        "| run | mismatches | latency (clocks) | interval (clocks) |",
        "|---|---:|---|---:|",
        f"| core, one image per clock | {ver['mismatches_per_run']['core']:,} | {core['latency_clocks']:g} | "
        f"{core['interval_clocks']:g} |",
        f"| stream at full rate | {ver['mismatches_per_run']['stream']:,} | {stream['latency_clocks']:g} from the "
        f"first beat | {stream['interval_clocks']:g} |",
        f"| stream with stalls | {ver['mismatches_per_run']['stalled']:,} | "
        f"{perf['stalled']['latency_clocks_min']}–{perf['stalled']['latency_clocks_max']} after the last beat | "
        f"{perf['stalled']['interval_clocks']:g} |",
        "",
        f"Verilator simulated {ver['simulated_clocks_per_second']:,.0f} clocks per second here; building and "
        f"running took {ver['seconds']:.1f} s.",
    ]
    dma = perf["dma_bound"]
    lines += [
        "",
        f"On the board the AXI DMA bounds the stream: {dma['bytes_per_image']:,} bytes an image (in and out) through "
        f"the {dma['port_bits']}-bit HP0 port: at most {dma['fps']:,.0f} images/s (*estimate*), against the core's "
        f"{core['fps']:,.0f}.",
    ]
    if report["timings"]:
        lines += ["", "## Timings", "", "| stage | seconds |", "|---|---:|"]
        lines += [f"| {stage} | {seconds:.1f} |" for stage, seconds in report["timings"].items()]
    lines += _measured_lines(report["measured"], acc["rtl"], dma["fps"])
    return "\n".join([*lines, ""])


def _measured_lines(measured: dict[str, Any] | None, rtl_accuracy: float, bound_fps: float) -> list[str]:
    if measured is None:
        return ["", "Board measurements: none yet (`hwcompress measure FLOW --host USER@HOST` runs the bundle)."]
    label = "measured" if measured["backend"] == "board" else "simulated-board (RTL)"
    mismatches = measured["mismatches"]
    exact = "0 mismatches" if not mismatches else f"**{count(mismatches, 'mismatch', 'mismatches')}**"
    cycles = measured.get("latency_cycles")
    lines = [
        "",
        f"## On {measured['host']} (*{label}*)",
        "",
        f"- Accuracy on {measured['samples']:,} test images {pct(measured['accuracy'])} (Verilog, *simulated-rtl*: "
        f"{pct(rtl_accuracy)}); {exact} against the golden outputs.",
        f"- Fabric clock {measured['clock_mhz']:g} MHz; latency at batch 1: "
        + ", ".join(f"{p} {us:,.2f} µs" for p, us in measured["latency_us"].items())
        + (
            f"; {cycles:g} clocks from an image's last beat to its answer (Verilator in the verify stage: "
            f"{measured['verilator_latency_cycles']:g})"
            if cycles is not None
            else ""
        )
        + ".",
        f"- Timed by {measured.get('timed_by') or 'the wall clock'}.",
        "",
    ]
    if label == "measured":
        lines += ["| batch | images/s | of the DMA's bound |", "|---:|---:|---:|"]
        lines += [f"| {batch} | {fps:,.0f} | {fps / bound_fps:.0%} |" for batch, fps in measured["fps"].items()]
        return lines
    lines += ["| batch | images/s |", "|---:|---:|"]
    lines += [f"| {batch} | {fps:,.0f} |" for batch, fps in measured["fps"].items()]
    return [
        *lines,
        "",
        "The simulated board feeds the stream one beat per clock and takes each answer at once: it does not simulate "
        f"the DMA, which on the board carries at most {bound_fps:,.0f} images/s (*estimate*).",
    ]
