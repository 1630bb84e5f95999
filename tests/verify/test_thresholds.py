import numpy as np
import pytest
from qonnx.custom_op.general.multithreshold import multithreshold

from hwcompress.verify.batched_layers import MANY_THRESHOLDS, thresholded


@pytest.mark.parametrize("steps", [1, 3, MANY_THRESHOLDS + 1, 255])
@pytest.mark.parametrize("rows", ["per channel", "global"])
def test_thresholds_count_as_qonnx_multithreshold_does(steps, rows):
    rng = np.random.default_rng(steps)
    values = rng.integers(-40, 40, (6, 5, 4, 7)).astype(np.float32)
    thresholds = rng.integers(-40, 40, (7 if rows == "per channel" else 1, steps)).astype(np.float32)
    thresholds[0, 0] = values[0, 0, 0, 0]  # a value exactly on a threshold reaches it
    expected = multithreshold(values, thresholds, 2, -1, channels_last=True)
    got = thresholded(values, np.sort(thresholds, axis=1)[:, ::-1], 2, -1)  # thresholds in any order
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == np.float32
