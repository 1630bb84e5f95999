"""The optional sparsify stage and the pre-flight fit check, each through the runner as a flow runs them."""

import pytest

from hwcompress.config import parse_flow
from hwcompress.stages import DIRNAMES, plan, run_stages
from hwcompress.stages.artifacts import SPARSIFIED
from hwcompress.stages.finn.artifacts import PREFLIGHT_DESIGN
from hwcompress.stages.manifest import Manifest
from hwcompress.tools import Environment


def run(flow, **kwargs):
    return run_stages(flow, plan(flow, **kwargs), Environment(), dirnames=DIRNAMES)


def test_sparsify_stage_reports_the_stored_size_from_the_flow(tmp_path, tiny_flow):
    flow = parse_flow(
        tiny_flow(
            model={"hidden": [64]},
            quant={"weight_bits": 4, "act_bits": 4},
            train={"epochs": 4},
            sparsify={"enabled": True, "sparsity": 0.8, "tolerance": 0.01, "sharing": {"bits": 3}},
            outputs={"dir": str(tmp_path / "runs")},
        )
    )
    results = run(flow, only=("train", "prune", "sparsify"))
    assert [r.name for r in results] == ["train", "prune", "sparsify"]
    result = SPARSIFIED.load(tmp_path / "runs" / "tiny" / "03-sparsify" / "sparsify.json")
    assert result.sparsity == pytest.approx(0.8, abs=0.01)
    assert result.storage.ratio_vs_float > 10 and result.storage.ratio_vs_int > 1.5, "smaller than dense 4-bit"
    assert result.accuracy > 0.8 and result.schedule == "dynamic"
    assert all(layer.nonzero <= 0.95 * layer.weights for layer in result.storage.layers)
    manifest = Manifest.read(tmp_path / "runs" / "tiny" / "03-sparsify")
    assert "sparsify" in manifest.config and set(manifest.inputs) >= {"02-prune/model.pt", "01-train/train.json"}


def test_preflight_estimates_the_uniformly_pruned_untrained_network(tmp_path, tiny_flow):
    prune = {"criterion": "l1", "rate": 0.5, "allocation": "uniform", "granularity": 4, "finetune_epochs": 0}
    flow = parse_flow(tiny_flow(prune=prune, outputs={"dir": str(tmp_path / "runs")}))
    results = run(flow, only=("preflight",))
    assert results[0].ran and results[0].summary["estimate.lut"] > 0
    design = PREFLIGHT_DESIGN.load(tmp_path / "runs" / "tiny" / "00-preflight" / "estimate.json")
    weights = sum(v for k, v in design.estimate.op_counts.items() if k.startswith("param_weight_"))
    assert weights == 64 * 16 + 16 * 10, "32 hidden units, half of them kept, as pruning will keep"
    skipped = {"preflight": "skipped (pruning sized after training)"}
    by_macs = {**prune, "rate": 0.0, "keep_macs": 0.5}
    macs_flow = parse_flow(tiny_flow(name="macs", prune=by_macs, outputs={"dir": str(tmp_path / "runs")}))
    assert run(macs_flow, only=("preflight",))[0].summary == skipped, "the counts depend on the trained scores"


def test_preflight_with_global_pruning_estimates_the_cheapest_allocation_of_the_rate(tmp_path, tiny_flow):
    """fc0's channels cost 64 + 32 MACs each, fc1's 32 + 10: removing half of all 64 channels, costliest first,
    leaves fc0 at its floor of 4 and fc1 at 28; no allocation of that rate has fewer weights."""
    prune = {"criterion": "l1", "rate": 0.5, "granularity": 4, "finetune_epochs": 0}
    flow = parse_flow(tiny_flow(model={"hidden": [32, 32]}, prune=prune, outputs={"dir": str(tmp_path / "runs")}))
    assert run(flow, only=("preflight",))[0].ran
    design = PREFLIGHT_DESIGN.load(tmp_path / "runs" / "tiny" / "00-preflight" / "estimate.json")
    weights = sum(v for k, v in design.estimate.op_counts.items() if k.startswith("param_weight_"))
    assert weights == 64 * 4 + 4 * 28 + 28 * 10


def test_global_pruning_that_no_allocation_can_fit_fails_before_training(tmp_path, tiny_flow):
    """3 x 1024 w4a4 at 10 M fps on 784 inputs (digits padded to 28 x 28): even the cheapest half is too big."""
    import hwcompress
    from hwcompress.hw.fit import BoardFitError

    flow = tiny_flow(
        data={"name": "digits", "pad_to": 28},
        model={"hidden": [1024, 1024, 1024]},
        quant={"weight_bits": 4, "act_bits": 4},
        prune={"criterion": "l1", "rate": 0.5},
        target={"fps": 10_000_000},
        outputs={"dir": str(tmp_path / "runs")},
    )
    with pytest.raises(BoardFitError, match=r"cheapest allocation of prune\.rate 0\.5, costliest channels first"):
        hwcompress.run(parse_flow(flow))
    assert not (tmp_path / "runs" / "tiny" / DIRNAMES["train"]).exists(), "nothing trained"


def test_preflight_estimates_fixed_low_rank_factors_and_skips_ranks_chosen_later(tmp_path, tiny_flow):
    runs = {"dir": str(tmp_path / "runs")}
    fixed = parse_flow(tiny_flow(lowrank={"layers": ["fc0"], "ranks": {"fc0": 8}}, outputs=runs))
    results = run(fixed, only=("preflight",))
    design = PREFLIGHT_DESIGN.load(tmp_path / "runs" / "tiny" / "00-preflight" / "estimate.json")
    weights = sum(v for k, v in design.estimate.op_counts.items() if k.startswith("param_weight_"))
    assert results[0].ran and weights == 64 * 8 + 8 * 32 + 32 * 10, "fc0 as 64 -> 8 -> 32, as it will be built"
    by_energy = parse_flow(tiny_flow(name="energy", lowrank={"layers": ["fc0"]}, outputs=runs))
    assert run(by_energy, only=("preflight",))[0].summary == {"preflight": "skipped (ranks chosen after training)"}


def test_preflight_sizes_the_input_after_the_flows_crop_and_padding(tmp_path, tiny_flow):
    data = {"name": "digits", "crop_to": 6, "pad_to": 7}  # 8x8 digits, cropped to 6x6, padded to 7x7
    flow = parse_flow(tiny_flow(data=data, outputs={"dir": str(tmp_path / "runs")}))
    run(flow, only=("preflight",))
    design = PREFLIGHT_DESIGN.load(tmp_path / "runs" / "tiny" / "00-preflight" / "estimate.json")
    weights = sum(v for k, v in design.estimate.op_counts.items() if k.startswith("param_weight_"))
    assert weights == 49 * 32 + 32 * 10
