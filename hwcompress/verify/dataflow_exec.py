"""The accelerator executed on many inputs at once, exactly as FINN's Python model of each layer computes it.

The host graph's layout ops before the dataflow partition (a transpose to NHWC, say) move the whole batch. The
partition itself runs in the numpy reference model (``driver/reference.py``: the one definition of the layers' integer
semantics, which bundles carry to the board), exact and batched. A partition holding a layer the reference model
does not know runs through FINN's own ``execute_onnx``, one sample at a time; so does ``execute_per_sample``,
which guards the batched execution in verification.
"""

from __future__ import annotations

import contextlib
import copy
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from qonnx.core.modelwrapper import ModelWrapper

from hwcompress.compile.finn_compat import generic_layers, import_hw_ops
from hwcompress.compile.host_nodes import HOST_LAYOUT_OPS
from hwcompress.driver.reference import ReferenceModel
from hwcompress.progress import Progress, no_progress
from hwcompress.verify.reference_model import describe

#: At most this many images per batch, and about this many bytes in the largest tensor of a batch (sliding
#: windows aside: the reference model computes them a few images at a time).
CHUNK = 1000
CHUNK_BYTES = 16 * 2**20
PARTITION = "StreamingDataflowPartition"


@dataclass
class Accelerator:
    """The host graph (``parent``) around FINN's dataflow partition (``child``, generic layers), and the
    partition's reference model (None when a layer has no numpy model)."""

    parent: ModelWrapper
    child: ModelWrapper
    reference: ReferenceModel | None = None

    @classmethod
    def load(cls, parent_path: Path, child_path: Path) -> Accelerator:
        import_hw_ops()
        child = generic_layers(ModelWrapper(str(child_path)))
        reference = ReferenceModel(*describe(child))
        return cls(ModelWrapper(str(parent_path)), child, reference if reference.supported else None)

    def execute(self, inputs: np.ndarray, chunk: int | None = None, progress: Progress = no_progress) -> np.ndarray:
        """Integer outputs for every row of ``inputs``, ``chunk`` rows at a time (default: as many as keep the
        largest tensor near ``CHUNK_BYTES``, at most ``CHUNK``); ``progress`` hears of each chunk."""
        if self.reference is None:
            return self.execute_per_sample(inputs, progress)
        chunk = chunk or self.default_chunk()
        shape = self.child.get_tensor_shape(self.child.graph.output[0].name)[1:]
        parts = []
        for first in range(0, len(inputs), chunk):
            progress("dataflow graph", first, len(inputs), "images")
            outputs = self.reference.run(self.partition_inputs(inputs[first : first + chunk]))
            parts.append(outputs.reshape(len(outputs), *shape))
        progress("dataflow graph", len(inputs), len(inputs), "images")
        return np.concatenate(parts)

    def default_chunk(self) -> int:
        """Images per batch: a CNN's early layers hold many values per image."""
        graph = self.child.graph
        constants = {init.name for init in graph.initializer}
        windows = {node.output[0] for node in graph.node if node.op_type == "ConvolutionInputGenerator"}
        tensors = [
            info.name
            for info in (*graph.input, *graph.output, *graph.value_info)
            if info.name not in constants and info.name not in windows
        ]
        largest = max(np.prod(self.child.get_tensor_shape(name)) for name in tensors)
        return int(np.clip(CHUNK_BYTES // (4 * largest), 1, CHUNK))

    def partition_inputs(self, inputs: np.ndarray) -> np.ndarray:
        """What the host graph feeds the dataflow partition for every row of ``inputs``: its layout ops before the
        partition applied (a transpose from NCHW to NHWC, say; ``compile.host_nodes`` admits nothing else there)."""
        x = np.asarray(inputs)
        for node in self.parent.graph.node:
            if node.op_type == PARTITION:
                return np.ascontiguousarray(x)
            if node.op_type == "Transpose":
                x = x.transpose(next(list(attr.ints) for attr in node.attribute if attr.name == "perm"))
            elif node.op_type in HOST_LAYOUT_OPS:
                x = x.reshape(len(x), *self.parent.get_tensor_shape(node.output[0])[1:])
            else:
                raise ValueError(f"{node.name} ({node.op_type}) before the accelerator is not a layout op")
        raise ValueError("the host graph has no dataflow partition")

    def execute_per_sample(self, inputs: np.ndarray, progress: Progress = no_progress) -> np.ndarray:
        """FINN's own way: ``execute_onnx`` on the unchanged batch-1 graphs, one sample at a time."""
        from finn.core.onnx_exec import execute_onnx

        parent = copy.deepcopy(self.parent)
        outputs = []
        with _saved(self.child) as child_path:
            _point_partition_at(parent, child_path)
            name, out = parent.graph.input[0].name, parent.graph.output[0].name
            for index, row in enumerate(np.asarray(inputs, dtype=np.float32)):
                progress("dataflow graph, per sample", index, len(inputs), "images")
                outputs.append(execute_onnx(parent, {name: row[None]})[out])
        progress("dataflow graph, per sample", len(inputs), len(inputs), "images")
        return np.concatenate(outputs)


@contextlib.contextmanager
def _saved(model: ModelWrapper) -> Iterator[Path]:
    """``model`` saved to a temporary file for the duration of a ``with`` block."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "child.onnx"
        model.save(str(path))
        yield path


def _point_partition_at(parent: ModelWrapper, child_path: Path) -> None:
    for node in parent.graph.node:
        if node.op_type == PARTITION:
            for attr in node.attribute:
                if attr.name == "model":
                    attr.s = str(child_path).encode()
