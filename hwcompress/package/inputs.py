"""What the accelerator reads for a batch of images: the bundle's test inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hwcompress.verify.dataflow_exec import Accelerator


def accelerator_inputs(design: Path, images: np.ndarray) -> np.ndarray:
    """The integers the accelerator in ``design`` reads for ``images``: the host graph's ops before it applied
    (a transpose to NHWC, say); uint8 where they fit, else int64."""
    graph = Accelerator.load(design / "parent.onnx", design / "accelerator.onnx")
    values = graph.partition_inputs(images)
    ints = values.astype(np.int64)
    if not np.array_equal(ints, values):
        raise ValueError("the accelerator's inputs are not integers: the host graph computes more than a layout change")
    fits_uint8 = ints.size == 0 or (ints.min() >= 0 and ints.max() <= 255)
    return ints.astype(np.uint8) if fits_uint8 else ints
