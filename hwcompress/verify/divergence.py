"""Where a design's outputs first part from the reference: FINN's saved step models run on the mismatching inputs.

FINN's build saves the model after each of its steps (``intermediate_models/<step>.onnx``, in the order of
``report/time_per_step.json``). Each runs here, sample by sample in FINN's own executor, on the inputs the
verifier found wrong, and its outputs are compared with the reference as integers: a step before the host tail
was cut off still ends in the logits (mapped back through the tail), one after it ends in the accelerator's
integers, and the dataflow partition's steps read the partition's inputs. The first step that differs is named,
and in it the first node whose output differs from the same tensor in the step before (where the two share
tensor names).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from hwcompress.verify.dataflow_exec import Accelerator

#: Mismatching inputs the step models run on (each model runs them one at a time).
EXAMINED = 8


@dataclass(frozen=True)
class Divergence:
    """``step``: the first of FINN's saved steps whose outputs differ from the reference (None: every saved step
    agrees, so the difference arises after them); ``node``: the first node of that step whose output differs from
    the step before's (None where they share no tensor that differs)."""

    step: str | None
    node: str | None
    inputs: int

    def to_json(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        """A phrase for the one-line error: where the outputs first differ."""
        if self.step is None:
            return f"FINN's saved step models all agree with the reference on {self.inputs} of the mismatching inputs"
        at = f", at node {self.node}" if self.node else ""
        return f"the outputs first differ after FINN's {self.step}{at} (on {self.inputs} mismatching inputs)"


def first_divergence(
    finn_dir: Path, accelerator: Accelerator, inputs: np.ndarray, reference: np.ndarray, tail: list[dict]
) -> Divergence | None:
    """Run FINN's saved step models in ``finn_dir`` on ``inputs`` (at most ``EXAMINED``) and find where their
    outputs first differ from ``reference`` (the reference's outputs for them); None where FINN's build saved no
    record of its steps. A step model FINN's executor cannot run (a layer without a Python model) is passed over."""
    from qonnx.core.modelwrapper import ModelWrapper

    from hwcompress.compile.finn_compat import generic_layers, import_hw_ops
    from hwcompress.compile.steps import HOST_TAIL_STEP, PARTITION_STEP
    from hwcompress.verify.compare import reference_integers

    import_hw_ops()
    inputs, reference = inputs[:EXAMINED], reference[:EXAMINED]
    expected, _ = reference_integers(reference, tail)
    partition_inputs = accelerator.partition_inputs(inputs)
    timings_file = finn_dir / "report" / "time_per_step.json"
    if not timings_file.is_file():
        return None
    timings = json.loads(timings_file.read_text())
    tail_cut = partitioned = False
    previous = None
    for step in (name for name in timings if name.startswith("step")):
        tail_cut = tail_cut or step == HOST_TAIL_STEP  # from here on a model ends in the accelerator's integers
        partitioned = partitioned or step == PARTITION_STEP  # from here on the model saved is the partition
        path = finn_dir / "intermediate_models" / f"{step}.onnx"
        if not path.is_file():
            continue
        model = generic_layers(ModelWrapper(str(path)))
        try:
            contexts = _run(model, partition_inputs if partitioned else inputs)
        except Exception:  # FINN cannot run this saved model (a layer without a Python model): the next one
            continue
        outputs = np.concatenate([context[model.graph.output[0].name] for context in contexts])
        if not _agrees(outputs, expected, [] if tail_cut else tail):
            return Divergence(step, _first_differing_node(model, contexts, previous), len(inputs))
        previous = contexts
    return Divergence(None, None, len(inputs))


def _run(model, inputs: np.ndarray) -> list[dict[str, np.ndarray]]:
    """Every tensor of ``model`` for each input, from FINN's executor one sample at a time."""
    from finn.core.onnx_exec import execute_onnx

    name = model.graph.input[0].name
    shape = model.get_tensor_shape(name)
    return [
        execute_onnx(model, {name: row.reshape(shape).astype(np.float32)}, return_full_exec_context=True)
        for row in inputs
    ]


def _agrees(outputs: np.ndarray, expected: np.ndarray, tail: list[dict]) -> bool:
    """Whether a step's outputs are the expected accelerator integers (through ``tail`` when they still end in the
    network's own outputs)."""
    from hwcompress.verify.compare import MAX_RESIDUAL, reference_integers

    if tail:
        outputs, residual = reference_integers(outputs, tail)
        if residual.max(initial=0.0) > MAX_RESIDUAL:
            return False
    return outputs.size == expected.size and np.array_equal(outputs.reshape(expected.shape), expected)


def _first_differing_node(model, contexts: list[dict], previous: list[dict] | None) -> str | None:
    """The first node of ``model`` whose output differs from the tensor of that name in the step before."""
    if previous is None:
        return None
    for node in model.graph.node:
        for name in node.output:
            if all(name in before for before in previous):
                ours = [context[name] for context in contexts]
                theirs = [before[name] for before in previous]
                if any(a.shape != b.shape or not np.array_equal(a, b) for a, b in zip(ours, theirs, strict=True)):
                    return node.name
    return None
