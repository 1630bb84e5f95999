"""The host tail: what is computed from the accelerator's outputs outside it, defined once for host and board.

FINN's graph may end in ops the accelerator need not compute: the logits' normalization (Mul, Add, Sub, Div with
a constant) and layout changes (a Transpose back to NCHW, a Reshape). hwcompress cuts them off the accelerator
and records them, in order, in ``host_tail.json``:

    {"op": "Mul", "value": [...]}                           element-wise with a constant
    {"op": "Transpose", "perm": [0, 3, 1, 2]}               the batch axis stays first
    {"op": "Reshape", "shape": [10], "input_shape": [1, 1, 10]}   shapes without the batch axis

``apply`` computes the tail as FINN's graph does (float32); ``invert`` maps reference outputs back to the
accelerator's layout and integers (float64), which is how verification compares exactly. This module needs only
numpy: the host package imports it, and bundles carry it to the board.
"""

from __future__ import annotations

import numpy as np

#: op -> (the op, its inverse), element-wise with a constant.
ARITHMETIC = {
    "Mul": (np.multiply, np.divide),
    "Add": (np.add, np.subtract),
    "Sub": (np.subtract, np.add),
    "Div": (np.divide, np.multiply),
}
LAYOUT = ("Transpose", "Reshape")


def apply(values: np.ndarray, tail: list[dict], dtype: type = np.float32) -> np.ndarray:
    """The tail applied to the accelerator's outputs, in ``dtype`` (float32, as FINN's graph computes it)."""
    out = np.asarray(values).astype(dtype)
    for op in tail:
        if op["op"] in ARITHMETIC:
            out = ARITHMETIC[op["op"]][0](out, np.asarray(op["value"], dtype=dtype))
        elif op["op"] == "Transpose":
            out = out.transpose(op["perm"])
        else:
            out = out.reshape(len(out), *op["shape"])
    return out


def invert(values: np.ndarray, tail: list[dict]) -> np.ndarray:
    """What the accelerator must have output for the tail to give ``values``, in float64 (not rounded).

    Raises:
        ValueError: the tail multiplies by zero somewhere (no inverse).
    """
    out = np.asarray(values).astype(np.float64)
    for op in reversed(tail):
        if op["op"] in ARITHMETIC:
            constant = np.asarray(op["value"], dtype=np.float64)
            if op["op"] in ("Mul", "Div") and np.any(constant == 0):
                raise ValueError("the host tail multiplies by zero: it is not invertible")
            out = ARITHMETIC[op["op"]][1](out, constant)
        elif op["op"] == "Transpose":
            out = out.transpose(np.argsort(op["perm"]))
        else:
            out = out.reshape(len(out), *op["input_shape"])
    return out


def predictions(values: np.ndarray, tail: list[dict]) -> np.ndarray:
    """Classes from the accelerator's outputs: the tail in float32, then argmax (ties: the lowest class)."""
    logits = apply(values, tail)
    return logits.reshape(len(logits), -1).argmax(axis=1)
