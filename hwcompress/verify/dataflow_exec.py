"""Batched execution of FINN's dataflow graph, using FINN's own Python execution of each node.

FINN's ``execute_onnx`` runs one sample at a time: the HW-layer graph fixes batch 1 in its tensor shapes and
in node attributes (``numInputVectors``, ``out_shape``, ``BatchSize``...). ``with_batch`` rewrites a copy of
the graph for a batch of N. The executor walks the graph node by node with qonnx's ``execute_node``: layers
whose Python model is known to handle a batch run once on all N samples; FINN's ConvolutionInputGenerator
(whose qonnx Im2Col assumes batch 1), VVAU, MVAU and Thresholding run as faster batched numpy equivalents
(``batched_layers``); any other layer runs sample by sample. qonnx's per-node
"sanitizing" lives in ``execute_onnx`` and so is skipped: outputs are compared exactly with a reference anyway.
"""

from __future__ import annotations

import contextlib
import copy
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

import numpy as np
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from hwcompress.compile.finn_compat import generic_layers, import_hw_ops
from hwcompress.progress import Progress, no_progress
from hwcompress.verify.batched_layers import NUMPY_LAYERS

#: At most this many images per batch, and about this many bytes in the largest tensor of a batch.
CHUNK = 1000
CHUNK_BYTES = 256 * 2**20
SHAPE_ATTRS = ("in_shape", "out_shape", "lhs_shape", "rhs_shape", "transpose_in_shape", "transpose_out_shape")
#: Generic FINN layers whose Python execution handles a batch once ``with_batch`` rewrote their attributes
#: (each checked against per-sample execution in tests/verify).
BATCHED_LAYERS = frozenset({"Reshape", "Pool", "FMPadding", "DuplicateStreams", "ElementwiseAdd", "Shuffle"})


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
            elif attr.name == "BatchSize":
                attr.i = n
        if node.op_type == "Reshape" and len(node.input) > 1:
            shape = model.get_initializer(node.input[1])
            if shape is not None and shape[0] == 1:
                model.set_initializer(node.input[1], np.concatenate([[n], shape[1:]]).astype(shape.dtype))
    return model


@dataclass
class _Graph:
    """A graph at one batch size, with its constant tensors ready for execution."""

    model: ModelWrapper
    constants: dict[str, np.ndarray] = field(init=False)

    def __post_init__(self) -> None:
        self.constants = {init.name: self.model.get_initializer(init.name) for init in self.model.graph.initializer}

    def run_node(self, index: int, context: dict[str, np.ndarray]) -> None:
        """Execute one node as qonnx's ``execute_onnx`` does, minus its per-node sanitizing."""
        from qonnx.core.onnx_exec import execute_node
        from qonnx.util.basic import get_preferred_qonnx_opset

        node = self.model.graph.node[index]
        for name in node.output:
            context[name] = np.zeros(self.model.get_tensor_shape(name), dtype=np.float32)
        opset = self.model.get_opset_imports().get(node.domain, get_preferred_qonnx_opset())
        execute_node(node, context, self.model.graph, opset)


@dataclass
class Accelerator:
    """The host graph (``parent``) around FINN's dataflow partition (``child``, generic layers)."""

    parent: ModelWrapper
    child: ModelWrapper
    _batched: dict[tuple[str, int], _Graph] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, parent_path: Path, child_path: Path) -> Accelerator:
        import_hw_ops()
        return cls(ModelWrapper(str(parent_path)), generic_layers(ModelWrapper(str(child_path))))

    def execute(self, inputs: np.ndarray, chunk: int | None = None, progress: Progress = no_progress) -> np.ndarray:
        """Outputs for every row of ``inputs``, ``chunk`` rows at a time (default: as many as keep the largest
        tensor near ``CHUNK_BYTES``, at most ``CHUNK``); ``progress`` hears of each chunk."""
        chunk = chunk or self.default_chunk()
        parts = []
        for first in range(0, len(inputs), chunk):
            progress("dataflow graph", first, len(inputs), "images")
            parts.append(self._run_parent(inputs[first : first + chunk].astype(np.float32)))
        progress("dataflow graph", len(inputs), len(inputs), "images")
        return np.concatenate(parts)

    def default_chunk(self) -> int:
        """Images per batch: the sliding windows of a CNN's early layers hold many values per image."""
        graph = self.child.graph
        constants = {init.name for init in graph.initializer}
        tensors = [info.name for info in (*graph.input, *graph.output, *graph.value_info) if info.name not in constants]
        largest = max(np.prod(self.child.get_tensor_shape(name)) for name in tensors)
        return int(np.clip(CHUNK_BYTES // (4 * largest), 1, CHUNK))

    def partition_inputs(self, inputs: np.ndarray, chunk: int = CHUNK) -> np.ndarray:
        """What the host graph feeds the dataflow partition for every row of ``inputs`` (e.g. NCHW to NHWC)."""
        parts = []
        for first in range(0, len(inputs), chunk):
            x = inputs[first : first + chunk].astype(np.float32)
            graph = self._graph("parent", len(x))
            context = {**graph.constants, graph.model.graph.input[0].name: x}
            for index, node in enumerate(graph.model.graph.node):
                if node.op_type == "StreamingDataflowPartition":
                    parts.append(context[node.input[0]])
                    break
                graph.run_node(index, context)
        return np.concatenate(parts)

    def execute_per_sample(self, inputs: np.ndarray) -> np.ndarray:
        """FINN's own way: ``execute_onnx`` on the unchanged batch-1 graphs, one sample at a time."""
        from finn.core.onnx_exec import execute_onnx

        parent = copy.deepcopy(self.parent)
        outputs = []
        with _saved(self.child) as child_path:
            _point_partition_at(parent, child_path)
            name, out = parent.graph.input[0].name, parent.graph.output[0].name
            for row in inputs.astype(np.float32):
                outputs.append(execute_onnx(parent, {name: row[None]})[out])
        return np.concatenate(outputs)

    def _graph(self, which: str, n: int) -> _Graph:
        key = (which, n)
        if key not in self._batched:
            model = self.parent if which == "parent" else self.child
            self._batched[key] = _Graph(model if n == 1 else with_batch(model, n))
        return self._batched[key]

    def _run_parent(self, x: np.ndarray) -> np.ndarray:
        graph = self._graph("parent", len(x))
        context = {**graph.constants, graph.model.graph.input[0].name: x}
        for index, node in enumerate(graph.model.graph.node):
            if node.op_type == "StreamingDataflowPartition":
                context[node.output[0]] = self._run_child(context[node.input[0]])
            else:
                graph.run_node(index, context)
        return context[graph.model.graph.output[0].name]

    def _run_child(self, x: np.ndarray) -> np.ndarray:
        n = len(x)
        batched, single = self._graph("child", n), self._graph("child", 1)
        context = {**batched.constants, batched.model.graph.input[0].name: x}
        for index, node in enumerate(batched.model.graph.node):
            if n == 1 or node.op_type in BATCHED_LAYERS:
                batched.run_node(index, context)
                continue
            if node.op_type in NUMPY_LAYERS:
                inputs = [context[name] for name in node.input]
                context[node.output[0]] = NUMPY_LAYERS[node.op_type](getCustomOp(node), batched.model, *inputs)
                continue
            rows = []
            for i in range(n):
                row_context = {
                    **single.constants,
                    **{k: context[k][i : i + 1] for k in node.input if k in context and k not in single.constants},
                }
                single.run_node(index, row_context)
                rows.append([row_context[name] for name in node.output])
            for name, parts in zip(node.output, zip(*rows, strict=True), strict=True):
                context[name] = np.concatenate(parts)
        return context[batched.model.graph.output[0].name]


@contextlib.contextmanager
def _saved(model: ModelWrapper) -> Iterator[Path]:
    """``model`` saved to a temporary file for the duration of a ``with`` block."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "child.onnx"
        model.save(str(path))
        yield path


def _point_partition_at(parent: ModelWrapper, child_path: Path) -> None:
    for node in parent.graph.node:
        if node.op_type == "StreamingDataflowPartition":
            for attr in node.attribute:
                if attr.name == "model":
                    attr.s = str(child_path).encode()
