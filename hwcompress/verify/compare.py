"""Exact comparison of the accelerator's integer outputs with a reference model's outputs.

The accelerator ends in integers; the host tail (``driver.host_tail``) maps them to the model's outputs by
element-wise affine ops and layout changes. The reference outputs L (PyTorch, or QONNX for a foreign model) are
mapped back through the tail's inverse in float64 and rounded: an integer reference for every output element.
Verification then compares integers, exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hwcompress.driver import host_tail

#: A reference value further than this from an integer after inversion cannot be an integer accumulator.
MAX_RESIDUAL = 0.25


@dataclass(frozen=True)
class Comparison:
    samples: int
    mismatches: int
    max_abs_int_diff: float
    max_residual: float
    first_mismatch: int | None
    #: The indices of the samples that differ.
    differing: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), compare=False, repr=False)


def reference_integers(reference: np.ndarray, tail: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Integer accelerator outputs implied by ``reference``, and each element's distance from an integer."""
    exact = host_tail.invert(reference, tail)
    rounded = np.rint(exact)
    return rounded, np.abs(exact - rounded)


def compare(accelerator: np.ndarray, reference: np.ndarray, tail: list[dict]) -> Comparison:
    """Count the samples whose accelerator output differs from the reference in any element."""
    expected, residual = reference_integers(reference, tail)
    n = len(accelerator)
    flat_acc = accelerator.reshape(n, -1).astype(np.float64)
    flat_ref = expected.reshape(n, -1)
    row_residual = residual.reshape(n, -1).max(axis=1, initial=0.0)
    bad = np.flatnonzero(np.any(flat_acc != flat_ref, axis=1) | (row_residual > MAX_RESIDUAL))
    return Comparison(
        samples=n,
        mismatches=len(bad),
        max_abs_int_diff=float(np.max(np.abs(flat_acc - flat_ref), initial=0.0)),
        max_residual=float(row_residual.max(initial=0.0)),
        first_mismatch=int(bad[0]) if len(bad) else None,
        differing=bad,
    )
