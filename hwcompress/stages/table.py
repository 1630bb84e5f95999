"""The stages of a flow, in order, and which of them a run needs.

Numbers are fixed so that run directories keep their names as stages arrive.
"""

from __future__ import annotations

from collections.abc import Sequence

from hwcompress.config import FlowConfig
from hwcompress.errors import HwcompressError
from hwcompress.stages.backend import delegate
from hwcompress.stages.measure import measure_stage
from hwcompress.stages.prune import prune_stage
from hwcompress.stages.runner import Stage
from hwcompress.stages.sparsify import sparsify_stage
from hwcompress.stages.train import train_stage

#: The backend gives the bodies of preflight, export, compile, verify, package and report (``stages.backend``).
STAGES: tuple[Stage, ...] = (
    Stage(0, "preflight", delegate("preflight"), "a cheap estimate of the untrained network: fail before training"),
    Stage(1, "train", train_stage, "training (quantization-aware for FINN's networks)"),
    Stage(2, "prune", prune_stage, "structured channel pruning and low-rank factorization, fine-tuned"),
    Stage(3, "sparsify", sparsify_stage, "unstructured pruning and Deep Compression (stored size)"),
    Stage(4, "export", delegate("export"), "the trained network in the backend's form (QONNX, truth tables), checked"),
    Stage(5, "compile", delegate("compile"), "the design built and its resources counted, board fit"),
    Stage(6, "verify", delegate("verify"), "the design on the whole test set, bit-exact"),
    Stage(7, "package", delegate("package"), "deployment bundle: driver, test data, reference or simulator, bitfile"),
    Stage(8, "measure", measure_stage, "the bundle on the board over SSH: accuracy, exactness, fps, latency"),
    Stage(9, "report", delegate("report"), "report.json and report.md"),
)
DIRNAMES = {stage.name: stage.dirname for stage in STAGES}


def stage_named(name: str) -> Stage:
    for stage in STAGES:
        if stage.name == name:
            return stage
    raise HwcompressError(f"unknown stage '{name}'; stages: {', '.join(s.name for s in STAGES)}")


def plan(flow: FlowConfig, until: str | None = None, only: Sequence[str] | None = None) -> tuple[Stage, ...]:
    """The stages a run of ``flow`` goes through: exactly ``only``; or all (up to ``until``) that the flow uses.

    The flow switches some off: ``sparsify`` unless ``sparsify.enabled``, ``measure`` unless ``deploy.host``
    names a board, and ``preflight`` unless the run compiles and ``target.enforce_fit`` is set.
    """
    if only is not None:
        return tuple(stage_named(name) for name in only)
    chosen = STAGES if until is None else STAGES[: STAGES.index(stage_named(until)) + 1]
    skip = set()
    if not flow.sparsify.enabled:
        skip.add("sparsify")
    if not flow.deploy.host:
        skip.add("measure")
    if "compile" not in {stage.name for stage in chosen} or not flow.target.enforce_fit:
        skip.add("preflight")
    return tuple(stage for stage in chosen if stage.name not in skip)
