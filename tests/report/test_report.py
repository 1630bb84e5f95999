"""report.json and report.md from typed parts: pairing FINN's layers with the model's, every number labelled."""

import pytest

from hwcompress.boards import get_board
from hwcompress.config import Utilization
from hwcompress.hw.cost import LayerCost
from hwcompress.hw.estimate import Estimate, LayerEstimate
from hwcompress.prune.result import LayerChannels, PruneSummary
from hwcompress.report.build import ReportInputs, build_report, merge_layers
from hwcompress.report.format import count
from hwcompress.report.markdown import render_markdown
from hwcompress.sparse.deep_compression import LayerStorage, Storage
from hwcompress.sparse.engine import Sparsified
from hwcompress.verify.accelerator import Verification


def layer(name, op_type, pe=None, simd=None, lut=100.0):
    return LayerEstimate(name, op_type, pe, simd, cycles=1000, lut=lut, bram18=1.0, uram=0.0, dsp=0.0)


@pytest.fixture
def estimate():
    layers = (
        layer("ConvolutionInputGenerator_rtl_0", "ConvolutionInputGenerator_rtl"),
        layer("MVAU_hls_0", "MVAU_hls", pe=4, simd=5),
        layer("StreamingMaxPool_hls_0", "StreamingMaxPool_hls"),
        layer("MVAU_rtl_1", "MVAU_rtl", pe=2, simd=8),
        layer("Thresholding_rtl_0", "Thresholding_rtl"),
    )
    return Estimate(layers, 500.0, 5.0, 0.0, 0.0, 1e5, 12.0, 1000, "MVAU_hls_0", 100.0, {})


COSTS = [LayerCost("conv0", "conv", 500, 50_000, 2, 8), LayerCost("out", "linear", 200, 200, 2, 2)]
PRUNE = PruneSummary(
    criterion={"name": "l1", "p": 1, "normalization": "mean"},
    rate=0.5,
    achieved_rate=0.5,
    allocation="global",
    granularity=4,
    schedule="oneshot",
    layers=(LayerChannels("conv0", 20, 8, 4),),
    keep={"conv0": list(range(8))},
    accuracy_unpruned=0.99,
    accuracy=0.98,
)


def test_merge_layers_pairs_compute_layers_in_order_and_leaves_the_rest_alone(estimate):
    rows = merge_layers(estimate, COSTS, PRUNE)
    assert [row["finn_node"] for row in rows] == [layer.name for layer in estimate.layers]
    assert [row.get("layer") for row in rows] == [None, "conv0", None, "out", None], "MVAU_hls and MVAU_rtl both"
    conv = rows[1]
    assert (conv["pe"], conv["simd"], conv["params"], conv["macs"]) == (4, 5, 500, 50_000)
    assert (conv["channels_before"], conv["channels_after"]) == (20, 8)
    assert "channels_after" not in rows[3], "the classifier is not pruned"
    assert merge_layers(estimate, None)[1].get("layer") is None, "no costs: FINN's layers alone"


def test_a_report_labels_every_number_and_shows_stored_size_apart_from_the_accelerator(estimate):
    storage = Storage([LayerStorage("fc0", 1000, 100, 2, 32_000, 2_000, 1_500, 1_000)], other_bits=640)
    sparse = Sparsified("dynamic", 0.9, 0.9, 2, 1.0, 0.97, 0.965, 0.968, storage)
    verify = Verification(359, 1, 17, 1.0, 0.95, 0.95, 0.1)
    report = build_report(
        ReportInputs(
            name="x",
            board=get_board("pynq-z2"),
            estimate=estimate,
            ceiling=Utilization(),
            verify=verify,
            costs=COSTS,
            prune=PRUNE,
            sparsify=sparse,
        )
    )
    assert report["estimate"]["kind"].startswith("estimate")
    assert report["verify"]["kind"] == "simulated (executed here; NOT bit-exact: 1 of 359 inputs differ)"
    assert "bit-exact" not in report["kinds"]["simulated"], "the label claims only where the numbers come from"
    assert report["sparsify"]["kind"].startswith("stored-model size")
    assert report["sparsify"]["bits"] == {"dense_float32": 32_640, "dense_integer": 2_640, "compressed": 1_640}
    assert report["sparsify"]["ratio_vs_float32"] == pytest.approx(32_640 / 1_640)
    assert report["prune"]["criterion"]["name"] == "l1" and "keep" not in report["prune"]
    text = render_markdown(report)
    assert "**1 mismatching sample**" in text
    assert "## Stored model (Deep Compression; *stored-model size*, not the accelerator)" in text
    assert "l1 (p 1, normalization mean) criterion" in text


def test_counts_agree_with_their_nouns():
    assert count(1, "mismatch", "mismatches") == "1 mismatch"
    assert count(3, "mismatch", "mismatches") == "3 mismatches"
    assert count(1_000, "input") == "1,000 inputs"
