"""Does a table network's logic fit the board, under the flow's utilisation ceilings? (LUT and FF: a table network
uses no block RAM or DSP.)"""

from __future__ import annotations

from hwcompress.boards import Board
from hwcompress.config import Utilization
from hwcompress.hw.fit import BoardFitError, Usage, over_limits

RESOURCES = ("lut", "ff")


def table_usage(used: dict[str, int], board: Board, ceiling: Utilization) -> list[Usage]:
    """Each resource of ``used`` (LUT and FF) against the board's capacity and what the ceiling allows."""
    return [
        Usage(r, used[r], getattr(board.resources, r), getattr(board.resources, r) * getattr(ceiling, r))
        for r in RESOURCES
    ]


def check_table_fit(used: dict[str, int], board: Board, ceiling: Utilization, label: str) -> list[Usage]:
    """The usage rows; raises when LUT or FF exceeds its ceiling (``label``: where the numbers come from).

    Raises:
        BoardFitError: one line with the numbers and the fix.
    """
    rows = table_usage(used, board, ceiling)
    over = over_limits(rows, ceiling)
    if over:
        raise BoardFitError(
            f"table network does not fit {board.name}: needs {over} ({label}; the stream interface "
            "counted, not the DMA and the shell); use fewer nodes or thermometer bits"
        )
    return rows
