import numpy as np

from hwcompress.verify.accelerator import verify_compiled
from hwcompress.verify.compare import compare
from hwcompress.verify.dataflow_exec import Accelerator


def test_batched_execution_equals_finns_per_sample_execution_bit_for_bit(tiny_design):
    directory = tiny_design["compiled"].directory
    accelerator = Accelerator.load(directory / "parent.onnx", directory / "accelerator.onnx")
    images = tiny_design["data"].test_x
    batched = accelerator.execute(images, chunk=128)  # uneven last chunk on purpose
    per_sample = accelerator.execute_per_sample(images)
    np.testing.assert_array_equal(batched, per_sample)
    assert np.all(batched == np.rint(batched)), "the accelerator's outputs are integers"


def test_the_accelerator_matches_pytorch_on_every_test_image(tiny_design):
    data = tiny_design["data"]
    result = verify_compiled(tiny_design["compiled"].directory, data.test_x, tiny_design["reference"], data.test_y)
    assert result.samples == len(data.test_x) and result.mismatches == 0
    assert result.accuracy_dataflow == result.accuracy_reference


def test_compare_counts_each_sample_with_any_wrong_integer():
    tail = [{"op": "Mul", "value": [0.25]}, {"op": "Add", "value": [1.5]}]
    accelerator = np.array([[3, -2, 7], [0, 1, 2], [5, 5, 5]], dtype=np.float32)
    reference = (accelerator * np.float32(0.25) + np.float32(1.5)).astype(np.float32)
    assert compare(accelerator, reference, tail).mismatches == 0
    wrong = accelerator.copy()
    wrong[1, 2] += 1
    result = compare(wrong, reference, tail)
    assert (result.mismatches, result.first_mismatch, result.max_abs_int_diff) == (1, 1, 1.0)
    off_grid = reference.copy()
    off_grid[2, 0] += 0.125  # half an integer step after the tail's 0.25 scale
    assert compare(accelerator, off_grid, tail).mismatches == 1
