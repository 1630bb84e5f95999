"""Every file one stage hands to later ones, defined once: the stage that writes it, its name, how it is read.

Stages read artifacts through ``StageContext.read`` (which records them as inputs) and never by file name.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
import torch

from hwcompress.compile.accelerator import ACCELERATOR_FILE, ESTIMATE_FILE, PARENT_FILE, TAIL_FILE, Compiled
from hwcompress.export.check import ExportCheck
from hwcompress.measure.remote import Measured
from hwcompress.prune.result import PruneSummary
from hwcompress.sparse.engine import Sparsified
from hwcompress.train.result import TrainingResult
from hwcompress.verify.accelerator import Verification

T = TypeVar("T")


@dataclass(frozen=True)
class Artifact(Generic[T]):
    """A file ``name`` in ``stage``'s directory; ``load(path)`` reads it."""

    stage: str
    name: str
    load: Callable[[Path], T]


def _json(from_json: Callable[[dict[str, Any]], T]) -> Callable[[Path], T]:
    return lambda path: from_json(json.loads(path.read_text()))


def _state_dict(path: Path) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=True)


def _npy(path: Path) -> np.ndarray:
    return np.load(path, allow_pickle=False)


def _design(path: Path) -> Compiled:
    return Compiled.load(path.parent)


# 00-preflight: FINN's estimate of the untrained network (a design directory like compile's)
PREFLIGHT_DESIGN = Artifact("preflight", ESTIMATE_FILE, _design)
# 01-train
TRAINING = Artifact("train", "train.json", _json(TrainingResult.from_json))
TRAINED_WEIGHTS = Artifact("train", "model.pt", _state_dict)
# 02-prune: the network every later stage uses (the trained one, unchanged, when nothing is pruned)
PRUNING = Artifact("prune", "prune.json", _json(PruneSummary.from_json))
PRUNED_WEIGHTS = Artifact("prune", "model.pt", _state_dict)
# 03-sparsify: a sparse copy of the network and its stored size (the accelerator does not use it)
SPARSIFIED = Artifact("sparsify", "sparsify.json", _json(Sparsified.from_json))
SPARSE_WEIGHTS = Artifact("sparsify", "model.pt", _state_dict)
# 04-export
QONNX_MODEL = Artifact("export", "model.onnx", Path)
EXPORT_CHECK = Artifact("export", "export.json", _json(ExportCheck.from_json))
GOLDEN_INPUT = Artifact("export", "golden_input.npy", _npy)
GOLDEN_OUTPUT = Artifact("export", "golden_output.npy", _npy)
# 05-compile: the design; verification runs the graphs next to estimate.json
DESIGN = Artifact("compile", ESTIMATE_FILE, _design)
ACCELERATOR = Artifact("compile", ACCELERATOR_FILE, Path)
ACCELERATOR_PARENT = Artifact("compile", PARENT_FILE, Path)
HOST_TAIL = Artifact("compile", TAIL_FILE, Path)
# 06-verify: the result and the dataflow graph's integer outputs (the bundle's golden outputs)
VERIFICATION = Artifact("verify", "verify.json", _json(Verification.from_json))
DATAFLOW_OUTPUTS = Artifact("verify", "outputs.npy", _npy)
# 07-package: the deployment bundle (its manifest hashes every file in it) and its archive
BUNDLE_MANIFEST = Artifact("package", "deploy/manifest.json", _json(dict))
BUNDLE_ARCHIVE = Artifact("package", "deploy.tar.gz", Path)
# 08-measure: the driver's numbers from the board (or the simulated board) over SSH
MEASURED = Artifact("measure", "measured.json", _json(Measured.from_json))
# 09-report (both also copied into the run directory)
REPORT_JSON = Artifact("report", "report.json", _json(dict))
REPORT_MD = Artifact("report", "report.md", Path)
