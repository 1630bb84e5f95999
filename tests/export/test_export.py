import copy

import numpy as np
import onnx
from qonnx.core.datatype import DataType

from hwcompress.export.check import compare_outputs
from hwcompress.export.rewrites import RemoveIdentityQuant, quant_range
from hwcompress.verify.qonnx_exec import execute_qonnx


def test_qonnx_export_is_bit_identical_to_pytorch_on_every_test_image(tiny_design):
    data, qonnx_model = tiny_design["data"], tiny_design["qonnx"]
    check = compare_outputs(execute_qonnx(qonnx_model, data.test_x), tiny_design["reference"], data.test_y)
    assert check.bit_exact and check.samples == len(data.test_x)
    assert check.accuracy == float((tiny_design["reference"].argmax(1) == data.test_y).mean())


def test_export_annotates_uint8_input_and_drops_the_identity_pixel_quantizer(tiny_design):
    model = tiny_design["qonnx"]
    assert model.get_tensor_datatype(model.graph.input[0].name) == DataType["UINT8"]
    quant_inputs = [node.input[0] for node in model.graph.node if node.op_type == "Quant"]
    activation_quants = [name for name in quant_inputs if model.get_initializer(name) is None]
    assert len(activation_quants) == 1, "only the hidden layer's activation quantizer remains"


def _quant_graph(bits: int, signed: int, scale: float, input_type: str):
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4])
    inits = [
        onnx.numpy_helper.from_array(np.array(v, dtype=np.float32), n)
        for n, v in (("s", scale), ("z", 0.0), ("b", float(bits)))
    ]
    node = onnx.helper.make_node(
        "Quant",
        ["x", "s", "z", "b"],
        ["q"],
        domain="qonnx.custom_op.general",
        signed=signed,
        narrow=0,
        rounding_mode="ROUND",
    )
    relu = onnx.helper.make_node("Relu", ["q"], ["y"])
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.cleanup import cleanup_model

    graph = onnx.helper.make_graph([node, relu], "g", [x], [y], inits)
    model = cleanup_model(ModelWrapper(onnx.helper.make_model(graph)))
    model.set_tensor_datatype(model.graph.input[0].name, DataType[input_type])
    return model


def test_identity_quant_is_removed_only_when_it_cannot_change_its_input():
    identity = _quant_graph(bits=8, signed=0, scale=1.0, input_type="UINT8")
    before = copy.deepcopy(identity.model)
    assert [n.op_type for n in identity.transform(RemoveIdentityQuant()).graph.node] == ["Relu"]
    assert identity.model == before, "the input model must not change"
    for bits, signed, scale, dtype in (
        (4, 0, 1.0, "UINT8"),
        (8, 1, 1.0, "UINT8"),
        (8, 0, 0.5, "UINT8"),
        (8, 0, 1.0, "FLOAT32"),
    ):
        kept = _quant_graph(bits, signed, scale, dtype).transform(RemoveIdentityQuant())
        assert [n.op_type for n in kept.graph.node] == ["Quant", "Relu"], (bits, signed, scale, dtype)


def test_quant_ranges():
    assert quant_range(8, signed=False, narrow=False) == (0, 255)
    assert quant_range(2, signed=True, narrow=True) == (-1, 1)
    assert quant_range(4, signed=True, narrow=False) == (-8, 7)
