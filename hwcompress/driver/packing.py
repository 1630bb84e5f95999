"""FINN's stream packing, in numpy alone: what the accelerator's DMAs read and write.

FINN folds a tensor to its folded shape and packs each innermost row into one word: element 0 in the least
significant bits, each element as ``bits`` bits (two's complement for signed types, 0/1 for BIPOLAR -1/+1), the
word padded with zeros to whole bytes and stored little-endian. This is ``finn.util.data_packing``'s
``finnpy_to_packed_bytearray(x, dtype, reverse_inner=True, reverse_endian=True)`` as FINN's driver calls it,
without its qonnx and onnx imports (which do not install on the board).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DataType:
    """A FINN integer datatype: ``BIPOLAR``, ``BINARY``, ``INTn`` or ``UINTn`` (n = 1..32, what streams carry)."""

    name: str
    bits: int
    signed: bool
    bipolar: bool = False

    @classmethod
    def named(cls, name: str) -> DataType:
        if name == "BIPOLAR":
            return cls(name, 1, signed=False, bipolar=True)
        if name == "BINARY":
            return cls(name, 1, signed=False)
        match = re.fullmatch(r"(U?)INT(\d+)", name)
        if not match or not 1 <= int(match.group(2)) <= 32:
            raise ValueError(f"unsupported datatype {name!r}: BIPOLAR, BINARY, INTn or UINTn")
        return cls(name, int(match.group(2)), signed=not match.group(1))

    @property
    def min(self) -> int:
        return -1 if self.bipolar else (-(1 << (self.bits - 1)) if self.signed else 0)

    @property
    def max(self) -> int:
        return 1 if self.bipolar else ((1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1)


def packed_bytes(row_elements: int, dtype: DataType) -> int:
    """Bytes one packed row of ``row_elements`` elements takes."""
    return -(-row_elements * dtype.bits // 8)


def pack(values: np.ndarray, dtype: DataType) -> np.ndarray:
    """Pack the innermost dimension of ``values`` (integers of ``dtype``) into uint8, FINN's way.

    Raises:
        ValueError: a value that ``dtype`` cannot hold.
    """
    ints = np.asarray(values)
    if ints.dtype.kind == "f" and not np.array_equal(ints, np.round(ints)):
        raise ValueError(f"{dtype.name} holds integers; got fractional values")
    ints = ints.astype(np.int64)
    if ints.size and (ints.min() < dtype.min or ints.max() > dtype.max):
        raise ValueError(f"values outside {dtype.name}'s range [{dtype.min}, {dtype.max}]")
    if dtype.bipolar and np.any(ints == 0):
        raise ValueError("BIPOLAR holds -1 and +1 only")
    codes = ((ints + 1) // 2 if dtype.bipolar else ints) & ((1 << dtype.bits) - 1)
    bits = ((codes[..., None] >> np.arange(dtype.bits)) & 1).astype(np.uint8)
    bits = bits.reshape(*ints.shape[:-1], ints.shape[-1] * dtype.bits)
    padding = packed_bytes(ints.shape[-1], dtype) * 8 - bits.shape[-1]
    bits = np.concatenate([bits, np.zeros((*bits.shape[:-1], padding), dtype=np.uint8)], axis=-1)
    return np.packbits(bits, axis=-1, bitorder="little")


def unpack(packed: np.ndarray, dtype: DataType, row_elements: int) -> np.ndarray:
    """The integers (int64) in ``packed`` (uint8, innermost dimension packed rows of ``row_elements``)."""
    packed = np.asarray(packed, dtype=np.uint8)
    bits = np.unpackbits(packed, axis=-1, bitorder="little")[..., : row_elements * dtype.bits]
    bits = bits.reshape(*packed.shape[:-1], row_elements, dtype.bits).astype(np.int64)
    codes = (bits << np.arange(dtype.bits)).sum(axis=-1)
    if dtype.bipolar:
        return codes * 2 - 1
    if dtype.signed:
        return np.where(codes >= 1 << (dtype.bits - 1), codes - (1 << dtype.bits), codes)
    return codes
