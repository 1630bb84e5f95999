import numpy as np
import pytest
from qonnx.custom_op.general.multithreshold import multithreshold

from hwcompress.driver.reference import MANY_THRESHOLDS, ReferenceModel


def thresholding(thresholds: np.ndarray, scale: int, bias: int) -> ReferenceModel:
    layer = {"op": "Thresholding", "thresholds": "t", "out_scale": scale, "out_bias": bias, "inputs": ["x"]}
    description = {"format": 2, "input": "x", "output": "y", "unsupported": [], "layers": [{**layer, "outputs": ["y"]}]}
    return ReferenceModel(description, {"t": thresholds})


@pytest.mark.parametrize("steps", [1, 3, MANY_THRESHOLDS + 1, 255])
@pytest.mark.parametrize("rows", ["per channel", "global"])
def test_thresholds_count_as_qonnx_multithreshold_does(steps, rows):
    rng = np.random.default_rng(steps)
    values = rng.integers(-40, 40, (6, 5, 4, 7)).astype(np.float32)
    thresholds = rng.integers(-40, 40, (7 if rows == "per channel" else 1, steps)).astype(np.float32)
    thresholds[0, 0] = values[0, 0, 0, 0]  # a value exactly on a threshold reaches it
    thresholds[-1, -1] += 0.5  # a fractional threshold acts as the next integer on integer values
    expected = multithreshold(values, thresholds, 2, -1, channels_last=True)
    got = thresholding(np.sort(thresholds, axis=1)[:, ::-1], 2, -1).run(values)  # thresholds in any order
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == np.int64


def test_values_and_thresholds_beyond_float32_integers_stay_exact():
    """Accumulators past 2**24 (a wide 8-bit layer) compare in float64, where float32 would round them."""
    values = np.array([[2**24 + 1, 2**24 + 2, -(2**25) - 1]], dtype=np.int64)
    thresholds = np.array([[2**24 + 2, 2**31]], dtype=np.float64)
    np.testing.assert_array_equal(thresholding(thresholds, 1, 0).run(values), [[0, 1, 0]])
