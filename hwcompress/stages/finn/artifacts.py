"""The FINN backend's artifacts: the pre-flight and compiled designs, the QONNX export, the verification."""

from __future__ import annotations

from pathlib import Path

from hwcompress.compile.accelerator import ACCELERATOR_FILE, ESTIMATE_FILE, PARENT_FILE, TAIL_FILE, Compiled
from hwcompress.export.check import ExportCheck
from hwcompress.stages.artifacts import Artifact, json_file, npy
from hwcompress.verify.accelerator import Verification


def _design(path: Path) -> Compiled:
    return Compiled.load(path.parent)


# 00-preflight: FINN's estimate of the untrained network (a design directory like compile's)
PREFLIGHT_DESIGN = Artifact("preflight", ESTIMATE_FILE, _design)
# 04-export
QONNX_MODEL = Artifact("export", "model.onnx", Path)
EXPORT_CHECK = Artifact("export", "export.json", json_file(ExportCheck.from_json))
GOLDEN_INPUT = Artifact("export", "golden_input.npy", npy)
GOLDEN_OUTPUT = Artifact("export", "golden_output.npy", npy)
# 05-compile: the design; verification runs the graphs next to estimate.json
DESIGN = Artifact("compile", ESTIMATE_FILE, _design)
ACCELERATOR = Artifact("compile", ACCELERATOR_FILE, Path)
ACCELERATOR_PARENT = Artifact("compile", PARENT_FILE, Path)
HOST_TAIL = Artifact("compile", TAIL_FILE, Path)
# 06-verify: the result and the dataflow graph's integer outputs (the bundle's golden outputs)
VERIFICATION = Artifact("verify", "verify.json", json_file(Verification.from_json))
DATAFLOW_OUTPUTS = Artifact("verify", "outputs.npy", npy)
