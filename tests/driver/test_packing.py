"""The board-side packer against FINN's own ``finn.util.data_packing``, byte for byte, for every stream type.

FINN's packer goes through float32 for types wider than 24 bits and then drops bits (UINT31 [123456789,
2**31 - 1] packs to 24 205 91 7 0 0 0 0): there the reference is the definition, computed with Python integers.
"""

import numpy as np
import pytest

from hwcompress.driver.packing import DataType, pack, packed_bytes, unpack

TYPES = ["BIPOLAR", "BINARY", *(f"INT{n}" for n in range(2, 33)), *(f"UINT{n}" for n in range(2, 33))]


@pytest.mark.parametrize("name", TYPES)
@pytest.mark.parametrize("row", [1, 5, 8, 13])
def test_packing_equals_finns_bit_for_bit(name, row):
    from finn.util.data_packing import finnpy_to_packed_bytearray, packed_bytearray_to_finnpy
    from qonnx.core.datatype import DataType as FinnType

    dtype, finn = DataType.named(name), FinnType[name]
    assert (dtype.min, dtype.max, dtype.bits) == (finn.min(), finn.max(), finn.bitwidth())
    rng = np.random.default_rng(row)
    values = rng.integers(dtype.min, dtype.max, size=(3, 2, row), endpoint=True)
    if dtype.bipolar:
        values = np.where(values == 0, 1, values)
    values[0, 0, 0], values[-1, -1, -1] = dtype.min, dtype.max  # the extremes, sign bit included
    packed = pack(values, dtype)
    assert packed.dtype == np.uint8 and packed.shape[-1] == packed_bytes(row, dtype)
    np.testing.assert_array_equal(packed, by_definition(values, dtype))
    np.testing.assert_array_equal(unpack(packed, dtype, row), values)
    if dtype.bits <= 24:
        expected = finnpy_to_packed_bytearray(values.astype(np.float64), finn, reverse_inner=True, reverse_endian=True)
        np.testing.assert_array_equal(packed, expected)
        back = packed_bytearray_to_finnpy(packed, finn, values.shape, reverse_inner=True, reverse_endian=True)
        np.testing.assert_array_equal(unpack(packed, dtype, row), back)


def by_definition(values: np.ndarray, dtype: DataType) -> np.ndarray:
    """Each row as one Python integer, element 0 in the lowest bits, written out little-endian."""
    rows = values.reshape(-1, values.shape[-1])
    out = []
    for row in rows:
        codes = [(int(v) + 1) // 2 if dtype.bipolar else int(v) & ((1 << dtype.bits) - 1) for v in row]
        word = sum(code << (dtype.bits * i) for i, code in enumerate(codes))
        out.append(list(word.to_bytes(packed_bytes(len(row), dtype), "little")))
    return np.array(out, dtype=np.uint8).reshape(*values.shape[:-1], -1)


def test_values_a_type_cannot_hold_are_refused():
    with pytest.raises(ValueError, match=r"outside INT4's range \[-8, 7\]"):
        pack(np.array([[8]]), DataType.named("INT4"))
    with pytest.raises(ValueError, match="BIPOLAR holds -1 and \\+1 only"):
        pack(np.array([[0]]), DataType.named("BIPOLAR"))
    with pytest.raises(ValueError, match="fractional"):
        pack(np.array([[0.5]]), DataType.named("INT4"))
    with pytest.raises(ValueError, match="unsupported datatype 'FLOAT32'"):
        DataType.named("FLOAT32")
