"""What the compile stage says when FINN cannot fold for the target fps."""

from __future__ import annotations

from hwcompress.hw.estimate import Estimate, LayerEstimate
from hwcompress.stages.finn.compile import fps_shortfall


def _estimate(bottleneck: LayerEstimate, fps: float) -> Estimate:
    return Estimate(layers=(bottleneck,), lut=1.0, bram18=0.0, uram=0.0, dsp=0.0, fps=fps, latency_us=1.0,
                    max_cycles=round(1e8 / fps), bottleneck=bottleneck.name, clock_mhz=100.0, op_counts={})  # fmt: skip


def test_a_layer_finn_does_not_fold_is_named_without_advice_about_folding_it():
    reshape = LayerEstimate("Reshape_rtl_0", "Reshape_rtl", None, None, 64, 0.0, 0.0, 0.0, 0.0)
    line = fps_shortfall(_estimate(reshape, 1_562_500), 10_000_000, 36)
    assert line == ("FINN folded for 1,562,500 fps, short of target.fps 10,000,000 (estimate): Reshape_rtl_0 "
                    "limits it; FINN does not fold it, or lower target.fps")  # fmt: skip


def test_a_met_target_says_nothing():
    mvau = LayerEstimate("MVAU_hls_0", "MVAU_hls", 4, 4, 1000, 10.0, 0.0, 0.0, 0.0)
    assert fps_shortfall(_estimate(mvau, 99_500), 100_000, 36) is None
