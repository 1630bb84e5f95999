"""The one-screen summary the CLI prints at the end of a run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hwcompress.report.format import count, pct

if TYPE_CHECKING:
    from hwcompress.stages import StageResult


def summary_lines(name: str, results: list[StageResult], run_dir: Path, report: dict[str, Any] | None) -> list[str]:
    """Key numbers from ``report`` (report.json) when the report stage ran; else each stage's headline numbers."""
    stages = " · ".join(f"{r.name} {r.seconds:.1f} s{'' if r.ran else ' (skipped)'}" for r in results)
    if report is None:
        lines = [f"{name}: {stages}"]
        for result in results:
            numbers = "  ".join(f"{k} {_fmt(v)}" for k, v in result.summary.items())
            lines.append(f"  {result.name:<8} {numbers}")
        lines.append(f"  outputs  {run_dir}")
        return lines
    lines = report_lines(name, report, reference="torch")
    package = next((r.summary for r in results if r.name == "package"), {})
    if "deploy" in package:
        bitfile = f"; {package['deploy.bitfile']}" if "deploy.bitfile" in package else ""
        lines.append(
            f"  deploy        {package['deploy']} (and .tar.gz), {package['deploy.samples']:,} test images{bitfile}"
        )
    return [*lines, f"  stages        {stages}", f"  report        {run_dir / 'report.md'}"]


def report_lines(name: str, report: dict[str, Any], reference: str = "reference") -> list[str]:
    """The key numbers of a report, each with its kind."""
    if report.get("backend") == "tables":
        return _table_lines(name, report)
    acc, ver, est, use, board = (report[k] for k in ("accuracy", "verify", "estimate", "utilization", "board"))
    verdict = (
        "bit-exact, 0 mismatches"
        if ver["bit_exact"]
        else f"NOT bit-exact, {count(ver['mismatches'], 'mismatch', 'mismatches')}"
    )
    over = [r.upper() for r in ("lut", "ff", "bram18", "uram", "dsp") if r in use and not use[r]["fits"]]
    fit = f"   DOES NOT FIT {board['name']} ({', '.join(over)} over the ceiling)" if over else ""
    return [
        f"{name} on {board['name']} ({board['part']}) at {est['clock_mhz']:g} MHz",
        f"  accuracy      {reference} {pct(acc['torch'])}   qonnx {pct(acc['qonnx'])}   "
        f"dataflow {pct(acc['dataflow'])}   (simulated, {ver['samples']:,} samples)",
        f"  verification  {verdict} of {ver['samples']:,} (simulated)",
        "  resources     "
        + "   ".join(f"{use[r]['used']:,.0f} {r.upper()} ({use[r]['share']:.1%})" for r in ("lut", "bram18", "dsp"))
        + f"   (estimate){fit}",
        f"  performance   {est['fps']:,.0f} frames/s, {est['latency_us']:.1f} µs latency (estimate)",
        *_measured(report.get("measured")),
    ]


def _table_lines(name: str, report: dict[str, Any]) -> list[str]:
    """A table network's key numbers: its Verilog's, simulated in Verilator and synthesized by Yosys."""
    acc, ver, res, use, board, perf = (
        report[k] for k in ("accuracy", "verify", "resources", "utilization", "board", "performance")
    )
    verdict = (
        "bit-exact, 0 mismatches"
        if ver["bit_exact"]
        else f"NOT bit-exact, {count(ver['mismatches'], 'mismatch', 'mismatches')}"
    )
    over = [r.upper() for r in ("lut", "ff") if not use[r]["fits"]]
    fit = f"   DOES NOT FIT {board['name']} ({', '.join(over)} over the ceiling)" if over else ""
    core, stream = perf["core"], perf["stream"]
    return [
        f"{name} (table network) on {board['name']} ({board['part']}) at {board['clock_mhz']:g} MHz",
        f"  accuracy      torch {pct(acc['torch'])}   tables {pct(acc['tables'])} (simulated)   "
        f"rtl {pct(acc['rtl'])} (simulated-rtl, {ver['samples']:,} samples)",
        f"  verification  {verdict} of {ver['samples']:,}, with back-pressure (simulated-rtl)",
        f"  resources     {res['lut']:,} LUT ({use['lut']['share']:.1%})   {res['ff']:,} FF ({use['ff']['share']:.1%})"
        f"   {res['logic_levels']} logic levels   (synthesized, Yosys){fit}",
        f"  performance   core {core['fps']:,.0f} images/s, {core['latency_clocks']:g} clocks; stream "
        f"{stream['fps']:,.0f} images/s, {stream['beats_per_image']} beats an image (simulated-rtl); the DMA "
        f"carries at most {perf['dma_bound']['fps']:,.0f} (estimate)",
        *_measured(report.get("measured")),
    ]


#: What each driver backend's numbers are.
BOARD_LABELS = {
    "board": "measured",
    "simulated-board": "simulated-board: host CPU timings, not the accelerator's",
    "simulated-board-rtl": "simulated-board (RTL): the Verilog in Verilator, simulated clocks",
}


def _measured(measured: dict[str, Any] | None) -> list[str]:
    if not measured:
        return []
    batch, fps = max(measured["fps"].items(), key=lambda item: int(item[0]))
    label = BOARD_LABELS.get(measured["backend"], measured["backend"])
    exact = "0 mismatches" if not measured["mismatches"] else count(measured["mismatches"], "MISMATCH", "MISMATCHES")
    return [
        f"  on {measured['host']}  accuracy {pct(measured['accuracy'])} ({exact}), {fps:,.0f} frames/s at batch "
        f"{int(batch):,}, p50 latency {measured['latency_us']['p50']:,.2f} µs ({label})"
    ]


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if value < 10 else f"{value:,.1f}"
    return str(value)
