"""What the driver knows about an accelerator, read from FINN's ``settings.json``: its input and output streams
(datatype; normal, folded and packed shapes; DMA name), the platform and the clock it was built for."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .packing import DataType, pack, unpack


@dataclass(frozen=True)
class Stream:
    """One DMA stream. Shapes are FINN's, batch 1 first; a batch of N replaces that 1."""

    dtype: DataType
    normal: tuple
    folded: tuple
    packed: tuple
    dma: str

    def to_buffer(self, values: np.ndarray) -> np.ndarray:
        """Integers of shape (N, *normal[1:]) as the packed bytes (N, *packed[1:]) the DMA reads (zeros where the
        folded shape holds more elements, or a packed row more bytes, than the values fill)."""
        n = len(values)
        flat = np.asarray(values).reshape(n, -1)
        flat = np.pad(flat, ((0, 0), (0, int(np.prod(self.folded[1:])) - flat.shape[1])))
        packed = pack(flat.reshape(n, *self.folded[1:]), self.dtype)
        packed = np.pad(packed, [(0, 0)] * (packed.ndim - 1) + [(0, self.packed[-1] - packed.shape[-1])])
        return packed.reshape(n, *self.packed[1:])

    def from_buffer(self, buffer: np.ndarray) -> np.ndarray:
        """The integers (N, *normal[1:]) in packed bytes (N, *packed[1:]) the DMA wrote."""
        n = len(buffer)
        values = unpack(np.asarray(buffer).reshape(n, *self.packed[1:]), self.dtype, self.folded[-1])
        return values.reshape(n, -1)[:, : int(np.prod(self.normal[1:]))].reshape(n, *self.normal[1:])

    @property
    def bytes_per_image(self) -> int:
        return int(np.prod(self.packed[1:]))


@dataclass(frozen=True)
class Settings:
    input: Stream
    output: Stream
    clock_mhz: float
    platform: str

    @classmethod
    def load(cls, path: Path) -> Settings:
        info = json.loads(Path(path).read_text())["driver_information"]
        shapes = info["io_shape_dict"]

        def stream(side: str) -> Stream:
            name = re.fullmatch(r"DataType\['(\w+)'\]", shapes[f"{side}dt"][0])
            if name is None:
                raise ValueError(f"{path}: unreadable datatype {shapes[f'{side}dt'][0]!r}")
            return Stream(
                DataType.named(name.group(1)),
                *(tuple(shapes[f"{side}shape_{kind}"][0]) for kind in ("normal", "folded", "packed")),
                shapes[f"{side}dma_names"][0],
            )

        return cls(stream("i"), stream("o"), float(info["fclk_mhz"]), info["platform"])
