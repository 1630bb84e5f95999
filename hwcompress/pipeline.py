"""The stages of a flow, in order. Numbers are fixed so run directories keep their names as stages arrive."""

from __future__ import annotations

from hwcompress.compile.stage import compile_stage
from hwcompress.errors import HwcompressError
from hwcompress.export.stage import export_stage
from hwcompress.flow import Stage
from hwcompress.prune.stage import prune_stage
from hwcompress.report.stage import report_stage
from hwcompress.train.stage import train_stage
from hwcompress.verify.stage import verify_stage

STAGES: tuple[Stage, ...] = (
    Stage(1, "train", train_stage, ("data", "model", "quant", "train"), description="quantization-aware training"),
    Stage(2, "prune", prune_stage, ("data", "train", "prune"), needs=("train",),
          description="structured channel pruning, fine-tuned with distillation"),
    Stage(3, "export", export_stage, ("verify",), needs=("train", "prune"),
          description="QONNX export, checked against PyTorch"),
    Stage(4, "compile", compile_stage, ("board", "target", "compile"), needs=("export",),
          description="FINN dataflow build, estimates, board fit"),
    Stage(5, "verify", verify_stage, ("verify",), needs=("train", "prune", "compile"),
          description="the dataflow graph on the whole test set, bit-exact"),
    Stage(9, "report", report_stage, ("board", "target"), needs=("train", "prune", "export", "compile", "verify"),
          description="report.json and report.md"),
)  # fmt: skip


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
