"""QONNX graph rewrites of the export stage. Like all QONNX transformations, ``model.transform`` applies them
to a copy: the input model never changes.
"""

from __future__ import annotations

import copy

import numpy as np
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.base import Transformation
from qonnx.transformation.infer_datatypes import InferDataTypes


def quant_range(bits: int, signed: bool, narrow: bool) -> tuple[int, int]:
    """The integer range of a QONNX Quant node."""
    if signed:
        return (-(2 ** (bits - 1)) + int(narrow), 2 ** (bits - 1) - 1)
    return (0, 2**bits - 1 - int(narrow))


class RemoveIdentityQuant(Transformation):
    """Remove Quant nodes that cannot change their input: scale 1, zero point 0, and an integer input
    datatype whose whole range the quantizer represents (e.g. uint8 pixels through an unsigned 8-bit Quant).

    FINN would otherwise build a 255-threshold Thresholding layer (about 2,000 LUT) that computes the identity.
    """

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        model = model.transform(InferDataTypes())
        outputs = {out.name for out in model.graph.output}
        for node in model.graph.node:
            if node.op_type != "Quant" or node.output[0] in outputs or not self._is_identity(model, node):
                continue
            source, result = node.input[0], node.output[0]
            for consumer in model.find_consumers(result) or []:
                for i, name in enumerate(consumer.input):
                    if name == result:
                        consumer.input[i] = source
            model.graph.node.remove(node)
            return model, True  # run again: the graph changed
        return model, False

    @staticmethod
    def _is_identity(model: ModelWrapper, node) -> bool:
        scale, zero, bits = (model.get_initializer(name) for name in node.input[1:4])
        if scale is None or zero is None or bits is None or bits.size != 1:
            return False
        if not (np.all(scale == 1.0) and np.all(zero == 0.0)):
            return False
        attrs = {a.name: a.i for a in node.attribute if a.name in ("signed", "narrow")}
        low, high = quant_range(int(bits.item()), bool(attrs.get("signed", 1)), bool(attrs.get("narrow", 0)))
        dtype = model.get_tensor_datatype(node.input[0])
        return dtype.is_integer() and dtype.min() >= low and dtype.max() <= high


def set_input_datatype(model: ModelWrapper, name: str) -> ModelWrapper:
    """A copy of ``model`` whose global input carries FINN datatype ``name`` (e.g. ``UINT8``)."""
    model = copy.deepcopy(model)
    model.set_tensor_datatype(model.graph.input[0].name, DataType[name])
    return model
