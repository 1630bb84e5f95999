"""Does an estimated design fit the board, under the flow's utilisation ceilings?"""

from __future__ import annotations

from dataclasses import dataclass

from hwcompress.boards import Board
from hwcompress.config import Utilization
from hwcompress.errors import HwcompressError
from hwcompress.hw.estimate import Estimate

RESOURCES = ("lut", "bram18", "uram", "dsp")  # FINN estimates no flip-flops (config refuses an ff ceiling)


class BoardFitError(HwcompressError):
    """The design needs more of a resource than the board allows."""


@dataclass(frozen=True)
class Usage:
    resource: str
    used: float
    capacity: int
    allowed: float

    @property
    def share(self) -> float:
        return self.used / self.capacity if self.capacity else (0.0 if self.used == 0 else float("inf"))

    @property
    def fits(self) -> bool:
        return self.used <= self.allowed

    def to_json(self) -> dict[str, float | int | bool]:
        """The row as report.json gives it (keyed by ``resource`` there)."""
        return {"used": self.used, "capacity": self.capacity, "allowed": self.allowed, "share": self.share,
                "fits": self.fits}  # fmt: skip


def usage(estimate: Estimate, board: Board, ceiling: Utilization) -> list[Usage]:
    """Each resource: used (what ``counted`` says: the layers, the converters and FIFOs between them, the shell
    where the board file gives it), the board's capacity, and what the ceiling allows."""
    rows = []
    for resource in RESOURCES:
        capacity = getattr(board.resources, resource)
        used = getattr(estimate, resource) + getattr(estimate.overhead, resource)
        used += getattr(board.shell, resource) if board.shell else 0
        rows.append(Usage(resource, used, capacity, capacity * getattr(ceiling, resource)))
    return rows


def counted(estimate: Estimate, board: Board) -> str:
    """What ``usage`` counts, in words."""
    overhead = estimate.overhead
    parts = f"the layers, {overhead.converters} data-width converters and {overhead.fifos} FIFOs"
    if board.shell:
        return f"{parts}, and the shell ({board.shell.source})"
    return f"{parts}; not the DMAs and the shell (no figure for {board.name}: the ceiling leaves them the rest)"


def check_fit(estimate: Estimate, board: Board, ceiling: Utilization, label: str = "FINN estimate") -> list[Usage]:
    """The usage table; raises when any resource exceeds its ceiling (``label`` says where the numbers come from,
    ``counted`` what they count).

    Raises:
        BoardFitError: one line with the numbers, e.g. "needs 61,200 LUT of 45,220 allowed on pynq-z2 ...".
    """
    rows = usage(estimate, board, ceiling)
    over = over_limits(rows, ceiling)
    if over:
        raise BoardFitError(
            f"design does not fit {board.name}: needs {over} ({label}: {counted(estimate, board)}); "
            "lower target.fps, use fewer bits, or prune"
        )
    return rows


def over_limits(rows: list[Usage], ceiling: Utilization) -> str:
    """The rows over their ceiling in words ("61,200 LUT of 45,220 allowed (85% of 53,200)"; ``; `` between), or
    "" when every row fits."""
    return "; ".join(
        f"{row.used:,.0f} {row.resource.upper()} of {row.allowed:,.0f} allowed "
        f"({getattr(ceiling, row.resource):.0%} of {row.capacity:,})"
        for row in rows
        if not row.fits
    )
