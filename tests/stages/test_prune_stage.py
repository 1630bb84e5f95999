import json

import pytest

from hwcompress.config import parse_flow
from hwcompress.stages import DIRNAMES, plan, run_stages
from hwcompress.stages.artifacts import PRUNING
from hwcompress.tools import Environment


@pytest.fixture
def flow(tmp_path, tiny_flow):
    def make(name, **prune):
        return parse_flow(
            tiny_flow(
                name=name,
                model={"hidden": [32, 32]},
                train={"epochs": 4},
                prune=prune,
                outputs={"dir": str(tmp_path / "runs")},
            )
        )

    return make


def run(flow, **kwargs):
    return run_stages(flow, plan(flow, **kwargs), Environment(), dirnames=DIRNAMES)


@pytest.mark.slow
def test_a_pruned_flow_has_fewer_channels_fewer_luts_and_stays_bit_exact(flow, tmp_path):
    run(flow("dense"))
    run(flow("pruned", criterion="l1", rate=0.5, granularity=4, finetune_epochs=1))
    dense = json.loads((tmp_path / "runs" / "dense" / "report.json").read_text())
    pruned = json.loads((tmp_path / "runs" / "pruned" / "report.json").read_text())
    assert dense["prune"] is None
    assert pruned["prune"]["criterion"]["name"] == "l1" and pruned["prune"]["achieved_rate"] == pytest.approx(0.5)
    layers = {row["name"]: row for row in pruned["prune"]["layers"]}
    assert all(row["after"] < row["before"] and row["after"] % 4 == 0 for row in layers.values())
    assert pruned["estimate"]["lut"] < dense["estimate"]["lut"]
    assert pruned["verify"]["mismatches"] == 0 and pruned["verify"]["samples"] == 359
    assert pruned["accuracy"]["dataflow"] == pruned["accuracy"]["torch"]
    rows = [row for row in pruned["layers"] if "channels_after" in row]
    assert [(r["layer"], r["channels_after"]) for r in rows] == [(k, v["after"]) for k, v in layers.items()]


def test_iterative_schedule_reaches_the_rate_in_steps(flow, tmp_path):
    cfg = flow(
        "iter",
        criterion={"name": "bn", "normalization": "max"},
        rate=0.5,
        schedule="iterative",
        steps=2,
        finetune_epochs=1,
        distill={"enabled": False},
    )
    run(cfg, until="prune")
    info = PRUNING.load(tmp_path / "runs" / "iter" / "02-prune" / "prune.json")
    assert [round(step["rate"], 2) for step in info.steps] == [0.25, 0.5]
    assert info.achieved_rate == pytest.approx(0.5)
    assert info.criterion == {"name": "bn", "normalization": "max", "group_reduction": "none"}
    for name, keep in info.keep.items():
        assert keep == sorted(set(keep)) and max(keep) < 32, name
        assert len(keep) == next(layer.after for layer in info.layers if layer.name == name)


def test_keep_macs_prunes_until_that_share_of_the_computation_is_left(flow, tmp_path):
    cfg = flow("macs", criterion="l1", keep_macs=0.5, schedule="iterative", steps=2, finetune_epochs=1, granularity=1)
    run(cfg, until="prune")
    info = PRUNING.load(tmp_path / "runs" / "macs" / "02-prune" / "prune.json")
    full, widest = 64 * 32 + 32 * 32 + 32 * 10, 64 + 32  # digits into 32-32-10; a first-layer channel's MACs
    macs = [step["macs"] for step in info.steps]
    assert macs[0] <= 0.75 * full < macs[0] + widest, "the first step leaves three quarters, within a channel"
    assert macs[1] <= 0.5 * full < macs[1] + widest, "the second half"
