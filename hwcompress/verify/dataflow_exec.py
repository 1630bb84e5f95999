"""Batched execution of FINN's dataflow graph, using FINN's own Python execution of each node.

FINN's ``execute_onnx`` runs one sample at a time: the HW-layer graph fixes batch 1 in its tensor shapes and
in node attributes (``numInputVectors``, ``out_shape``...). ``with_batch`` rewrites a copy of the graph for a
batch of N; every node then runs FINN's own (vectorized) NumPy model of the layer on N samples at once.
"""

from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import numpy as np
from qonnx.core.modelwrapper import ModelWrapper

from hwcompress.compile.finn_compat import generic_layers, import_hw_ops, unsanitized_execution

CHUNK = 1000
SHAPE_ATTRS = ("in_shape", "out_shape", "lhs_shape", "rhs_shape")


def with_batch(model: ModelWrapper, n: int) -> ModelWrapper:
    """A copy of a FINN graph with batch size ``n`` instead of 1."""
    model = copy.deepcopy(model)
    graph = model.graph
    initializers = {init.name for init in graph.initializer}
    for info in chain(graph.input, graph.output, graph.value_info):
        dims = info.type.tensor_type.shape.dim
        if info.name not in initializers and dims and dims[0].dim_value == 1:
            dims[0].dim_value = n
    for node in graph.node:
        for attr in node.attribute:
            batch_shape = attr.name in SHAPE_ATTRS and len(attr.ints) >= 2 and attr.ints[0] == 1
            if attr.name == "numInputVectors" or batch_shape:
                attr.ints[0] = n
        if node.op_type == "Reshape" and len(node.input) > 1:
            shape = model.get_initializer(node.input[1])
            if shape is not None and shape[0] == 1:
                model.set_initializer(node.input[1], np.concatenate([[n], shape[1:]]).astype(shape.dtype))
    return model


@dataclass
class Accelerator:
    """The host graph (``parent``) around FINN's dataflow partition (``child``, generic layers)."""

    parent: ModelWrapper
    child: ModelWrapper

    @classmethod
    def load(cls, parent_path: Path, child_path: Path) -> Accelerator:
        import_hw_ops()
        return cls(ModelWrapper(str(parent_path)), generic_layers(ModelWrapper(str(child_path))))

    def execute(self, inputs: np.ndarray, chunk: int = CHUNK, sanitize: bool = False) -> np.ndarray:
        """Outputs for every row of ``inputs``, ``chunk`` rows per FINN execution.

        ``sanitize`` keeps qonnx's per-node integer sanitization (correct either way, 10-15x slower).
        """
        if sanitize:
            return self._execute(inputs, chunk)
        with unsanitized_execution():
            return self._execute(inputs, chunk)

    def execute_per_sample(self, inputs: np.ndarray) -> np.ndarray:
        """FINN's own way: the unchanged batch-1 graph, one sample at a time, as its executor does by default."""
        return self._execute(inputs, chunk=1)

    def _execute(self, inputs: np.ndarray, chunk: int) -> np.ndarray:
        from finn.core.onnx_exec import execute_onnx

        outputs = []
        with tempfile.TemporaryDirectory() as tmp:
            graphs: dict[int, ModelWrapper] = {}
            for first in range(0, len(inputs), chunk):
                part = inputs[first : first + chunk].astype(np.float32)
                n = len(part)
                if n not in graphs:
                    graphs[n] = self._batched_parent(n, Path(tmp) / f"child_{n}.onnx")
                parent = graphs[n]
                result = execute_onnx(parent, {parent.graph.input[0].name: part})
                outputs.append(result[parent.graph.output[0].name])
        return np.concatenate(outputs)

    def _batched_parent(self, n: int, child_path: Path) -> ModelWrapper:
        child = self.child if n == 1 else with_batch(self.child, n)
        child.save(str(child_path))
        parent = self.parent if n == 1 else with_batch(self.parent, n)
        parent = copy.deepcopy(parent)
        for node in parent.graph.node:
            if node.op_type == "StreamingDataflowPartition":
                for attr in node.attribute:
                    if attr.name == "model":
                        attr.s = str(child_path).encode()
        return parent
