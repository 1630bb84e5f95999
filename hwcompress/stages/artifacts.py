"""Every file one stage hands to later ones, defined once: the stage that writes it, its name, how it is read.

Stages read artifacts through ``StageContext.read`` (which records them as inputs) and never by file name. The
artifacts of every backend are here; each backend's own (FINN's designs, a table network's tables) are in its
stage package (``stages/finn/artifacts.py``, ``stages/tables/artifacts.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
import torch

from hwcompress.measure.remote import Measured
from hwcompress.prune.result import PruneSummary
from hwcompress.sparse.engine import Sparsified
from hwcompress.train.result import TrainingResult

T = TypeVar("T")


@dataclass(frozen=True)
class Artifact(Generic[T]):
    """A file ``name`` in ``stage``'s directory; ``load(path)`` reads it."""

    stage: str
    name: str
    load: Callable[[Path], T]


def json_file(from_json: Callable[[dict[str, Any]], T]) -> Callable[[Path], T]:
    return lambda path: from_json(json.loads(path.read_text()))


def state_dict(path: Path) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=True)


def npy(path: Path) -> np.ndarray:
    return np.load(path, allow_pickle=False)


# 01-train
TRAINING = Artifact("train", "train.json", json_file(TrainingResult.from_json))
TRAINED_WEIGHTS = Artifact("train", "model.pt", state_dict)
# 02-prune: the network every later stage uses (the trained one, unchanged, when nothing is pruned)
PRUNING = Artifact("prune", "prune.json", json_file(PruneSummary.from_json))
PRUNED_WEIGHTS = Artifact("prune", "model.pt", state_dict)
# 03-sparsify: a sparse copy of the network and its stored size (the accelerator does not use it)
SPARSIFIED = Artifact("sparsify", "sparsify.json", json_file(Sparsified.from_json))
SPARSE_WEIGHTS = Artifact("sparsify", "model.pt", state_dict)
# 07-package: the deployment bundle (its manifest hashes every file in it) and its archive
BUNDLE_MANIFEST = Artifact("package", "deploy/manifest.json", json_file(dict))
BUNDLE_ARCHIVE = Artifact("package", "deploy.tar.gz", Path)
# 08-measure: the driver's numbers from the board (or the simulated board) over SSH
MEASURED = Artifact("measure", "measured.json", json_file(Measured.from_json))
# 09-report (both also copied into the run directory)
REPORT_JSON = Artifact("report", "report.json", json_file(dict))
REPORT_MD = Artifact("report", "report.md", Path)
