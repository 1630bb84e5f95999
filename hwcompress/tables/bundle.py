"""A table network's deployment bundle, in the layout and with the driver every bundle has
(``hwcompress.bundling``):

    deploy/
      manifest.json   every file's sha256 and role; ``prediction``: ``first output`` (the design computes the class);
                      ``simulator_machine``: where the simulator runs
      driver/         the driver, and settings.json: platform ``zynq-axidma`` (the AXI DMA ``axi_dma_0``); images
                      in as UINT8 rows of one beat each, answers out as a UINT``field_bits`` vector (the class, then
                      each class's count) in one beat of ``output_bytes``
      data/           the test images (N, pixels) as uint8, their labels, the golden outputs (the tables' class and
                      counts: the verify stage proved the Verilog answers the same)
      simulator/      ``tn_axis_sim``: the Verilog built by Verilator for this machine, the RTL simulated board's
                      fabric (``python -m driver --backend simulated``)
      hardware/       table_network.v, tn_top.v and build_bitfile.tcl (Zynq-7000 boards)
      bitfile/        tn.bit and tn.hwh, where Vivado built them
"""

from __future__ import annotations

import platform
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from hwcompress.bundling import start_bundle, write_manifest
from hwcompress.fileio import write_json, write_npy
from hwcompress.tables.rtl import RTL_FILE, RtlDesign
from hwcompress.tables.shell import AXI_DMA, BITFILE
from hwcompress.tables.tables import TableModel

ROLES = {
    "settings": "driver/settings.json",
    "inputs": "data/inputs.npy",
    "labels": "data/labels.npy",
    "golden": "data/golden.npy",
    "simulator": "simulator/tn_axis_sim",
}
HARDWARE = "hardware"
PLATFORM = "zynq-axidma"


def table_settings(design: RtlDesign, clock_mhz: float) -> dict[str, Any]:
    """The driver's ``settings.json`` for ``design``, in FINN's keys."""
    beat = design.stream_bits // 8
    fields = 1 + design.classes
    shapes = {
        "idt": ["DataType['UINT8']"],
        "ishape_normal": [[1, design.pixels]],
        "ishape_folded": [[1, design.beats_per_image, beat]],
        "ishape_packed": [[1, design.beats_per_image, beat]],
        "idma_names": [AXI_DMA],
        "odt": [f"DataType['UINT{design.field_bits}']"],
        "oshape_normal": [[1, fields]],
        "oshape_folded": [[1, 1, fields]],
        "oshape_packed": [[1, 1, design.output_bytes]],
        "odma_names": [AXI_DMA],
    }
    information = {"driver_type": "hwcompress-tables", "platform": PLATFORM, "fclk_mhz": clock_mhz}
    return {"driver_information": {**information, "io_shape_dict": shapes}}


def golden_outputs(model: TableModel, images: np.ndarray) -> np.ndarray:
    """The design's answers to ``images`` by the tables: (N, 1 + classes), the class then each count."""
    return np.concatenate([model.predict(images)[:, None], model.counts(images)], axis=1).astype(np.int64)


def write_table_bundle(
    directory: Path,
    design: RtlDesign,
    model: TableModel,
    rtl: Path,
    simulator: Path,
    images: np.ndarray,
    labels: np.ndarray,
    clock_mhz: float,
) -> None:
    """Everything but the shell, the bitfile and the manifest: the driver, its settings, the data, ``simulator``
    (the stream testbench binary) and the Verilog file ``rtl`` in ``hardware/``."""
    start_bundle(directory)
    write_json(directory / ROLES["settings"], table_settings(design, clock_mhz))
    pixels = np.asarray(images, dtype=np.uint8).reshape(len(images), -1)
    write_npy(directory / ROLES["inputs"], pixels)
    write_npy(directory / ROLES["labels"], np.asarray(labels).astype(np.int64))
    write_npy(directory / ROLES["golden"], golden_outputs(model, images))
    (directory / ROLES["simulator"]).parent.mkdir()
    shutil.copy2(simulator, directory / ROLES["simulator"])
    (directory / HARDWARE).mkdir()
    shutil.copyfile(rtl, directory / HARDWARE / RTL_FILE)


def seal_table_bundle(directory: Path, fields: dict[str, Any], samples: int) -> dict[str, Any]:
    """Write the manifest of the bundle in ``directory`` (with its bitfile where Vivado built one)."""
    bitfile = directory / "bitfile" / BITFILE
    return write_manifest(
        directory,
        ROLES,
        {
            **fields,
            "bitfile": f"bitfile/{BITFILE}" if bitfile.is_file() else None,
            "prediction": "first output",
            "simulator_machine": platform.machine(),
            "samples": samples,
        },
    )
