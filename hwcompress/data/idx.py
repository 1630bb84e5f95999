"""IDX files (MNIST, Fashion-MNIST), raw or gzipped, read with their header checked."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from hwcompress.errors import DatasetError

_UBYTE = 0x08


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """Read an unsigned-byte IDX array of ``ndim`` dimensions.

    Raises:
        DatasetError: a bad magic number, a wrong number of dimensions, or a truncated file.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError) as err:
        raise DatasetError(f"{path}: cannot be read ({err}); replace the file") from None
    if len(data) < 4:
        raise DatasetError(f"{path}: too short to be an IDX file; replace the file")
    zero, dtype, dims = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != _UBYTE or dims != ndim:
        raise DatasetError(
            f"{path}: not an unsigned-byte IDX file with {ndim} dimension(s) "
            f"(magic {data[:4].hex()}, expected 000008{ndim:02x}); replace the file"
        )
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", data[4:header]) if len(data) >= header else ()
    expected = header + int(np.prod(shape)) if shape else header
    if len(data) != expected:
        raise DatasetError(
            f"{path}: truncated or padded: {len(data)} bytes, header promises {expected}; replace the file"
        )
    return np.frombuffer(bytearray(data), dtype=np.uint8, offset=header).reshape(shape)  # writable copy
