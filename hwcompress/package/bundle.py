"""Write a deployment bundle: everything a PYNQ board needs to run, check and measure one accelerator.

    deploy/
      manifest.json        every file with its sha256 and role; board, part, clock, estimate, versions
      driver/              the board-side driver (python -m driver ...) and FINN's settings.json
      reference/           the accelerator's integer reference model (reference.json, reference.npz)
      data/                test inputs, labels, golden outputs (the verified dataflow graph's), host tail
      bitfile/             FINN's .bit and .hwh, where Vivado built them

The driver, the manifest and the archive are every bundle's (``hwcompress.bundling``).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from hwcompress.bundling import start_bundle, write_manifest
from hwcompress.fileio import write_json, write_npy
from hwcompress.package.settings import driver_settings
from hwcompress.verify.reference_model import reference_model

ROLES = {
    "settings": "driver/settings.json",
    "reference_json": "reference/reference.json",
    "reference_npz": "reference/reference.npz",
    "inputs": "data/inputs.npy",
    "labels": "data/labels.npy",
    "golden": "data/golden.npy",
    "host_tail": "data/host_tail.json",
}


def write_bundle(
    directory: Path,
    design: Path,
    inputs: np.ndarray,
    labels: np.ndarray,
    golden: np.ndarray,
    description: dict[str, Any],
    clock_mhz: float,
) -> dict[str, Any]:
    """Write the bundle of the compiled design in ``design`` into ``directory``; returns its manifest.

    ``golden`` are the verified dataflow graph's integer outputs for ``inputs``; ``description`` (flow, board,
    part, estimate, versions, ...) goes into the manifest as it is.
    """
    start_bundle(directory)
    finn_settings = design / "finn" / "driver" / "settings.json"
    if finn_settings.is_file():
        shutil.copyfile(finn_settings, directory / ROLES["settings"])
    else:
        write_json(directory / ROLES["settings"], driver_settings(design / "accelerator.onnx", clock_mhz))
    layers, arrays = reference_model(design / "accelerator.onnx")
    write_json(directory / ROLES["reference_json"], layers)
    (directory / "reference").mkdir(exist_ok=True)
    np.savez(directory / ROLES["reference_npz"], **arrays)
    write_npy(directory / ROLES["inputs"], inputs)
    write_npy(directory / ROLES["labels"], labels.astype(np.int64))
    write_npy(directory / ROLES["golden"], golden.astype(np.int64))
    shutil.copyfile(design / "host_tail.json", directory / ROLES["host_tail"])
    bitfile = _copy_bitfile(design / "finn", directory / "bitfile")
    return write_manifest(
        directory,
        ROLES,
        {
            **description,
            "clock_mhz": clock_mhz,
            "bitfile": bitfile,
            "prediction": "argmax",
            "reference_model": "complete"
            if not layers["unsupported"]
            else f"missing {', '.join(layers['unsupported'])}",
            "samples": len(inputs),
        },
    )


def _copy_bitfile(finn_dir: Path, target: Path) -> str | None:
    """FINN's bitfile and hwh into ``target``; the bitfile's name in the bundle, or None where none was built."""
    bits = sorted((finn_dir / "bitfile").glob("*.bit")) if (finn_dir / "bitfile").is_dir() else []
    if not bits:
        return None
    target.mkdir(parents=True)
    for path in (finn_dir / "bitfile").glob("*"):
        if path.suffix in (".bit", ".hwh"):
            shutil.copyfile(path, target / path.name)
    return f"bitfile/{bits[0].name}"
