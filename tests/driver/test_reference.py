"""The numpy reference model computes exactly what FINN's Python model of each dataflow layer computes."""

import numpy as np
import pytest

from hwcompress.driver.reference import ReferenceModel
from hwcompress.verify.dataflow_exec import Accelerator
from hwcompress.verify.reference_model import reference_model


def finn(directory, images):
    """FINN's own execution of the design: its Python model of each layer, one sample at a time."""
    return Accelerator.load(directory / "parent.onnx", directory / "accelerator.onnx").execute_per_sample(images)


def check_against_finn(directory, images):
    description, arrays = reference_model(directory / "accelerator.onnx")
    assert description["unsupported"] == []
    ours = ReferenceModel(description, arrays).run(images)
    np.testing.assert_array_equal(ours, finn(directory, images).astype(np.int64))
    return description


def test_reference_model_of_a_thresholded_mlp_equals_finns_execution(tiny_design):
    description = check_against_finn(tiny_design["compiled"].directory, tiny_design["data"].test_x)
    assert [layer["op"] for layer in description["layers"]] == ["Reshape", "MVAU", "MVAU"]


def test_reference_model_of_a_binary_xnor_network_equals_finns_execution(binary_design):
    _, data, compiled = binary_design
    description = check_against_finn(compiled.directory, data.test_x)
    assert any(layer["op"] == "MVAU" and layer["xnor"] for layer in description["layers"])


def test_a_layer_without_a_numpy_model_is_named_not_guessed():
    description = {"format": 2, "input": "x", "output": "x", "layers": [], "unsupported": ["LayerNorm"]}
    model = ReferenceModel(description, {})
    assert not model.supported
    with pytest.raises(ValueError, match="no numpy model for LayerNorm"):
        model.run(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="reference model format 1; this driver reads 2"):
        ReferenceModel({**description, "format": 1}, {})


def test_settings_describe_the_streams_the_reference_model_reads_and_writes(tiny_design, tmp_path):
    import json

    from hwcompress.driver.settings import Settings
    from hwcompress.package.settings import driver_settings

    directory = tiny_design["compiled"].directory
    (tmp_path / "settings.json").write_text(json.dumps(driver_settings(directory / "accelerator.onnx", 100.0)))
    settings = Settings.load(tmp_path / "settings.json")
    assert (settings.input.dtype.name, settings.input.normal, settings.input.dma) == ("UINT8", (1, 1, 8, 8), "idma0")
    assert settings.input.folded == settings.input.packed == (1, 1, 8, 8, 1), "Reshape_rtl folds by PE 1"
    assert settings.output.normal == (1, 10) and settings.clock_mhz == 100.0
    images = tiny_design["data"].test_x[:7].astype(np.int64)
    buffer = settings.input.to_buffer(images)
    assert buffer.shape == (7, 1, 8, 8, 1) and buffer.dtype == np.uint8
    np.testing.assert_array_equal(settings.input.from_buffer(buffer), images)


@pytest.mark.parametrize(
    ("design", "op", "count"),
    [("lenet_design", "Pool", 2), ("mobilenet_design", "VVAU", 3), ("resnet_design", "ElementwiseAdd", 3)],
)
def test_reference_model_of_a_convnet_equals_finns_execution(request, design, op, count):
    from hwcompress.package.inputs import accelerator_inputs

    _, images, compiled = request.getfixturevalue(design)
    images = images[:24]
    directory = compiled.directory
    description, arrays = reference_model(directory / "accelerator.onnx")
    assert description["unsupported"] == []
    assert [layer["op"] for layer in description["layers"]].count(op) == count
    inputs = accelerator_inputs(directory, images)
    channels, height, width = images.shape[1:]
    assert inputs.shape == (24, height, width, channels), "NCHW pixels transposed to NHWC by the host graph"
    ours = ReferenceModel(description, arrays).run(inputs)
    np.testing.assert_array_equal(ours, finn(directory, images).reshape(ours.shape).astype(np.int64))


def test_a_lenet5_bundle_validates_on_the_simulated_board(lenet_design, tmp_path):
    from hwcompress.driver.accelerator import Accelerator as Driver
    from hwcompress.driver.bundle import Bundle
    from hwcompress.driver.hardware import SimulatedHardware
    from hwcompress.driver.measure import validate
    from hwcompress.package.bundle import write_bundle
    from hwcompress.package.inputs import accelerator_inputs

    _, images, compiled = lenet_design
    images = images[:24]
    directory = compiled.directory
    golden = finn(directory, images)  # FINN's own outputs: the simulated board must reproduce them
    labels = golden.argmax(axis=1)
    inputs = accelerator_inputs(directory, images)
    write_bundle(tmp_path / "deploy", directory, inputs, labels, golden, {"flow": "lenet5"}, 100.0)
    bundle = Bundle(tmp_path / "deploy")
    bundle.verify()
    assert bundle.settings.input.normal == (1, 28, 28, 1)
    driver = Driver(bundle.settings, SimulatedHardware(bundle.settings, bundle.reference()), batch_size=8)
    result = validate(bundle, driver)
    assert result["mismatches"] == 0 and result["samples"] == 24, "the reference model computes what FINN does"
    assert result["reference_agrees"] is None, "the simulated board computes with it: no evidence"
