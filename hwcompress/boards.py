"""Boards as data: one YAML file per board in ``boards/``, loaded into a frozen ``Board``.

Example:
    >>> board = get_board("pynq-z2")
    >>> board.part, board.resources.lut
    ('xc7z020clg400-1', 53200)

How to add a board: copy ``boards/pynq-z2.yaml``, fill in FINN's board name (a key of
``finn.util.basic.part_map``), the part and the device's resources from the vendor's data sheet;
``tests/test_boards.py`` checks it against FINN.
"""

from __future__ import annotations

import difflib
from enum import StrEnum
from functools import cache
from pathlib import Path

from pydantic import Field, ValidationError

from hwcompress.config import StrictModel, TargetConfig, describe_validation_error, read_yaml
from hwcompress.errors import ConfigError

#: Where the board files live: the repository's top-level ``boards/``, linked into the package as ``board_files/``
#: (an installed wheel holds them there).
BOARDS_DIR = Path(__file__).resolve().parent / "board_files"


class ShellFlow(StrEnum):
    VIVADO_ZYNQ = "vivado_zynq"
    VITIS_ALVEO = "vitis_alveo"


class Resources(StrictModel):
    """Device capacity in FINN's units (BRAM counted as 18 kbit blocks)."""

    lut: int = Field(ge=0)
    ff: int = Field(ge=0)
    bram18: int = Field(ge=0)
    dsp: int = Field(ge=0)
    uram: int = Field(0, ge=0)


class Shell(StrictModel):
    """What the bitfile holds besides the accelerator (the interconnect, resets and DMAs FINN's shell adds), from a
    post-implementation report; the fit check counts it."""

    lut: int = Field(ge=0)
    ff: int = Field(0, ge=0)
    bram18: int = Field(0, ge=0)
    dsp: int = Field(0, ge=0)
    uram: int = Field(0, ge=0)
    source: str = Field(min_length=1, description="Which build's report the figures come from.")


class PynqImage(StrictModel):
    """What a board's PYNQ image provides: the checks before a deployment compare the board with it."""

    python: str = Field(description="The Python version, major.minor (PYNQ 3.x images: 3.10).")
    pynq: str = Field(description="The pynq version, major.minor.")
    numpy_below: int = Field(2, description="numpy's major version must stay below this (pynq 3.1 needs numpy 1.x).")


class Board(StrictModel):
    name: str
    description: str
    finn_board: str = Field(description="FINN's name for the board (DataflowBuildConfig.board).")
    part: str = Field(description="The FPGA part number.")
    shell_flow: ShellFlow
    clock_mhz: float = Field(gt=0, description="The usual fabric clock for FINN designs on this board.")
    resources: Resources
    shell: Shell | None = Field(None, description="The shell's resources, where measured; else not counted.")
    vivado_board_part: str | None = Field(
        None, description="Vivado's board part (its board files set up the processing system), for hwcompress's shells."
    )
    image: PynqImage | None = Field(None, description="The PYNQ image the board runs: what bundles are built for.")


def load_board_file(path: Path) -> Board:
    """Read and validate one board file."""
    raw = read_yaml(path, "board file")
    try:
        return Board.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(f"{path}: {describe_validation_error(err, Board)}") from None


@cache
def all_boards(directory: Path = BOARDS_DIR) -> dict[str, Board]:
    """Every board in ``directory`` by name."""
    boards = [load_board_file(path) for path in sorted(directory.glob("*.yaml"))]
    return {board.name: board for board in boards}


def get_board(name_or_path: str) -> Board:
    """A board by name (``pynq-z2``) or by the path of a board file.

    Raises:
        ConfigError: an unknown name, with the closest known one.
    """
    return load_board_file(board_file(name_or_path))


def board_file(name_or_path: str) -> Path:
    """The file of a board given by name (``pynq-z2``) or by the path of a board file.

    Raises:
        ConfigError: an unknown name, with the closest known one.
    """
    if name_or_path.endswith((".yaml", ".yml")):
        return Path(name_or_path)
    boards = all_boards()
    if name_or_path in boards:
        return BOARDS_DIR / f"{name_or_path}.yaml"
    close = difflib.get_close_matches(name_or_path, boards, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"known boards: {', '.join(boards)}"
    raise ConfigError(f"unknown board '{name_or_path}'; {hint} (or give the path of a board .yaml file)")


def clock_mhz(board: Board, target: TargetConfig) -> float:
    """The clock FINN designs for: the flow's ``target.clock_mhz``, else the board's."""
    return target.clock_mhz or board.clock_mhz


def cycles_per_image(board: Board, target: TargetConfig) -> float:
    """The clock cycles one image may take at ``target.fps``: the budget FINN folds each layer for."""
    return clock_mhz(board, target) * 1e6 / target.fps
