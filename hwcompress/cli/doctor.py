"""``hwcompress doctor``: library versions, external tools, and what this machine can do with them."""

from __future__ import annotations

import platform
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hwcompress.tools import Toolchain, installed_versions, pynq_installed
from hwcompress.version import __version__

PACKAGES = ("torch", "brevitas", "qonnx", "finn-plus", "onnx", "onnxruntime", "numpy")


@dataclass(frozen=True)
class Capability:
    what: str
    ok: bool
    why: str = ""


def package_versions() -> dict[str, str | None]:
    """Installed version of each package hwcompress relies on (None where missing)."""
    return installed_versions(PACKAGES)


def finn_builder_works() -> str:
    """'' when finn's builder imports here with the workarounds applied; else why not."""
    from hwcompress.compile.finn_compat import prepare_finn

    try:
        prepare_finn(Path(tempfile.gettempdir()) / "hwcompress-finn-doctor")
    except Exception as err:  # any import failure means the estimate path is broken
        return f"{type(err).__name__}: {err}"
    return ""


def table_tools() -> dict[str, str | None]:
    """The versions of the tools that simulate and synthesize a table network's Verilog, and the C++ compiler
    Verilator builds its simulations with (None where missing)."""
    from hwcompress.tables.verilator import verilator_version
    from hwcompress.tables.yosys import yosys_version

    compiler = shutil.which("c++") or shutil.which("g++")
    return {"Yosys": yosys_version(), "Verilator": verilator_version(), "C++": compiler}


def capabilities(
    tools: Toolchain, versions: dict[str, str | None], finn_problem: str, table: dict[str, str | None]
) -> list[Capability]:
    missing = [name for name in ("torch", "brevitas", "qonnx") if versions.get(name) is None]
    train_why = f"{', '.join(missing)} not installed; run `make install`" if missing else ""
    finn_why = "finn-plus not installed; run `make install`" if versions.get("finn-plus") is None else finn_problem
    board_why = "" if tools.board_host else "no board configured (set HWCOMPRESS_BOARD_HOST=xilinx@<board address>)"
    table_missing = [name for name, found in table.items() if found is None]
    table_why = f"{', '.join(table_missing)} not found; run `make install` (C++: apt-get install g++ make)"
    return [
        Capability("training and QONNX export", not train_why, train_why),
        Capability("FINN estimates and bit-exact simulation", not (train_why or finn_why), train_why or finn_why),
        Capability("table networks: Verilator simulation and Yosys synthesis", not table_missing, table_why),
        Capability("bitfile", tools.can_build_bitfile, tools.missing_for_bitfile),
        Capability("board measurement", tools.board_host is not None, board_why),
    ]


def render(
    tools: Toolchain, versions: dict[str, str | None], table: dict[str, str | None], caps: list[Capability]
) -> list[str]:
    lines = [f"hwcompress {__version__} (Python {platform.python_version()}, {platform.machine()})", "", "Libraries"]
    lines += [f"  {name:<12} {version or 'not installed'}" for name, version in versions.items()]
    lines += ["", "Tools"]
    lines += [
        f"  {'Vivado':<12} {tools.vivado or 'not found (set XILINX_VIVADO or put vivado on PATH)'}",
        f"  {'Vitis HLS':<12} {tools.vitis_hls or 'not found (set XILINX_HLS or put vitis_hls on PATH)'}",
        *(f"  {name:<12} {found or 'not found'}" for name, found in table.items()),
        f"  {'pynq':<12} {'installed' if pynq_installed() else 'not installed (needed on the board only)'}",
        f"  {'board':<12} {tools.board_host or 'none configured'}",
        "",
        "What works here",
    ]
    lines += [f"  {cap.what}: {'yes' if cap.ok else 'no — ' + cap.why}" for cap in caps]
    return lines
