"""The stages of a flow, in order. Numbers are fixed so run directories keep their names as stages arrive."""

from __future__ import annotations

from hwcompress.errors import HwcompressError
from hwcompress.flow import Stage
from hwcompress.train.stage import train_stage

STAGES: tuple[Stage, ...] = (
    Stage(
        1,
        "train",
        train_stage,
        ("data", "model", "quant", "train"),
        description="quantization-aware training (Brevitas)",
    ),
)


def stage_named(name: str) -> Stage:
    for stage in STAGES:
        if stage.name == name:
            return stage
    raise HwcompressError(f"unknown stage '{name}'; stages: {[s.name for s in STAGES]}")


def stages_until(name: str | None) -> tuple[Stage, ...]:
    """The stages up to and including ``name`` (all of them for None)."""
    if name is None:
        return STAGES
    last = STAGES.index(stage_named(name))
    return STAGES[: last + 1]
