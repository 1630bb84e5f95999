"""What the driver measures: accuracy and exactness on the bundle's test data, throughput and latency.

Every result carries its backend and what timed it: ``board`` (measured on the board), ``simulated-board`` (the
driver against the reference model: its timings are this machine's CPU, never the accelerator's) or
``simulated-board-rtl`` (the driver against the design's Verilog: simulated clocks at the fabric clock).
"""

from __future__ import annotations

import numpy as np

from .accelerator import Accelerator
from .bundle import Bundle


def validate(bundle: Bundle, accelerator: Accelerator, limit: int | None = None) -> dict:
    """Accuracy on the bundle's test images, outputs against the golden ones and, on a board, against the reference
    model (``reference_agrees``; None on the simulated board, which computes with that model: no evidence)."""
    inputs, labels, golden = (bundle.array(role)[:limit] for role in ("inputs", "labels", "golden"))
    hardware = accelerator.hardware
    began = hardware.now()
    outputs = accelerator.execute(inputs)
    seconds = hardware.now() - began
    differs = np.any(outputs.reshape(len(outputs), -1) != golden.reshape(len(golden), -1), axis=1)
    reference = bundle.reference()
    agrees = None
    if reference is not None and reference.supported and hardware.backend == "board":
        agrees = bool(np.array_equal(reference.run(inputs), outputs))
    return {
        "backend": hardware.backend,
        "timed_by": hardware.timed_by,
        "latency_cycles": hardware.latency_cycles,
        "samples": len(inputs),
        "accuracy": float((bundle.predictions(outputs) == labels).mean()),
        "mismatches": int(differs.sum()),
        "first_mismatch": int(np.flatnonzero(differs)[0]) if differs.any() else None,
        "reference_agrees": agrees,
        "seconds": seconds,
    }


def throughput(accelerator: Accelerator, batch_sizes: list[int], repeats: int = 5, warmup: int = 2) -> dict:
    """Frames per second of the DMA transfer at each batch size, and batch-1 latency percentiles.

    The input buffer is filled once; each repeat times one transfer of ``n`` images, as FINN's driver times it.
    """
    fps = {}
    for n in batch_sizes:
        if n > accelerator.batch_size:
            raise ValueError(f"batch {n} exceeds the driver's buffers ({accelerator.batch_size} images)")
        times = _timed(accelerator, n, repeats, warmup)
        fps[str(n)] = n / float(np.median(times))
    latencies = np.array(_timed(accelerator, 1, max(repeats, 20), warmup)) * 1e6
    return {
        "backend": accelerator.hardware.backend,
        "timed_by": accelerator.hardware.timed_by,
        "fps": fps,
        "latency_us": {f"p{p}": float(np.percentile(latencies, p)) for p in (50, 95, 99)},
        "repeats": repeats,
        "clock_mhz": accelerator.hardware.clock_mhz,
    }


def _timed(accelerator: Accelerator, n: int, repeats: int, warmup: int) -> list[float]:
    times, now = [], accelerator.hardware.now
    for index in range(warmup + repeats):
        began = now()
        accelerator.transfer(n)
        if index >= warmup:
            times.append(now() - began)
    return times
