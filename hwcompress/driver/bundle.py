"""A deployment bundle as the board sees it: ``manifest.json`` names every file by its role and its sha256.

Roles every bundle has: ``settings``, ``inputs``, ``labels``, ``golden``. A FINN design's bundle adds its
reference model (``reference_json``, ``reference_npz``) and ``host_tail``; a table network's adds ``simulator``
(its Verilog built by Verilator, for the machine the manifest names). The manifest's ``prediction`` says how a
class comes out of the outputs: ``argmax`` (of the host tail's logits) or ``first output`` (the design's own).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from . import host_tail
from .reference import ReferenceModel
from .settings import Settings

MANIFEST = "manifest.json"
ARGMAX, FIRST_OUTPUT = "argmax", "first output"


class BundleError(RuntimeError):
    """A bundle that is incomplete or whose files do not match its manifest."""


class Bundle:
    """The bundle in ``root`` (the directory holding ``manifest.json`` and ``driver/``)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        try:
            self.manifest = json.loads((self.root / MANIFEST).read_text())
        except (OSError, ValueError) as err:
            raise BundleError(f"{self.root / MANIFEST}: not a readable bundle manifest ({err})") from None

    def path(self, role: str) -> Path:
        return self.root / self.manifest["roles"][role]

    def has(self, role: str) -> bool:
        return role in self.manifest["roles"]

    def verify(self) -> None:
        """Check every file against the manifest's sha256.

        Raises:
            BundleError: a missing file or one whose content changed (one line naming it).
        """
        for name, expected in self.manifest["files"].items():
            path = self.root / name
            if not path.is_file():
                raise BundleError(f"{name}: missing from the bundle; copy the whole bundle again")
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest != expected:
                raise BundleError(f"{name}: sha256 {digest[:12]}... does not match the manifest's {expected[:12]}...")

    @property
    def settings(self) -> Settings:
        return Settings.load(self.path("settings"))

    def reference(self) -> ReferenceModel | None:
        """The integer reference model of a FINN design (None where the bundle carries none)."""
        if not self.has("reference_json"):
            return None
        return ReferenceModel.load(self.path("reference_json"), self.path("reference_npz"))

    @property
    def simulator(self) -> tuple[Path, str] | None:
        """The design's simulator and the machine it was built for (None where the bundle carries none)."""
        return (self.path("simulator"), self.manifest["simulator_machine"]) if self.has("simulator") else None

    def array(self, role: str) -> np.ndarray:
        return np.load(self.path(role), allow_pickle=False)

    @property
    def bitfile(self) -> Path | None:
        name = self.manifest.get("bitfile")
        return self.root / name if name else None

    def predictions(self, outputs: np.ndarray) -> np.ndarray:
        """Classes from the accelerator's integer outputs: its first output where the design computes the class,
        else the host tail in float32, then argmax."""
        if self.manifest.get("prediction") == FIRST_OUTPUT:
            return np.asarray(outputs).reshape(len(outputs), -1)[:, 0]
        return host_tail.predictions(outputs, json.loads(self.path("host_tail").read_text()))
