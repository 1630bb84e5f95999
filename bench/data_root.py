"""Where the benchmarks look for datasets ($HWCOMPRESS_DATA, else the shared copy beside the checkout), and the
image shape a flow's network takes when its dataset is not needed."""

from __future__ import annotations

import os
from pathlib import Path

from hwcompress.data import SearchPath

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"


def search_path() -> SearchPath:
    return SearchPath.default(os.environ.get("HWCOMPRESS_DATA") or (str(SHARED) if SHARED.exists() else None))


#: Image shapes of the datasets, for benchmarks that build a flow's network without reading its data.
SHAPES = {"cifar10": (3, 32, 32), "mnist": (1, 28, 28), "fashion-mnist": (1, 28, 28), "digits": (1, 8, 8)}
CLASSES = 10


def input_shape(flow) -> tuple[int, int, int]:
    """The (C, H, W) images ``flow``'s network reads, after ``data.pad_to``."""
    channels, height, width = SHAPES[flow.data.name.value]
    return channels, flow.data.pad_to or height, flow.data.pad_to or width
