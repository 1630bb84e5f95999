import json

import pytest

from hwcompress.config import parse_flow
from hwcompress.errors import HwcompressError
from hwcompress.flow import Environment, config_hash, run_stages
from hwcompress.pipeline import STAGES, stages_until
from tests.conftest import tiny_flow

TRAIN = stages_until("train")


def flow_in(tmp_path, **overrides):
    return parse_flow(tiny_flow(outputs={"dir": str(tmp_path / "runs")}, **overrides))


def ran(results):
    return {r.name: r.ran for r in results}


def test_rerun_skips_a_finished_stage_and_reports_its_numbers(tmp_path):
    flow = flow_in(tmp_path)
    first = run_stages(flow, TRAIN, Environment())
    again = run_stages(flow, TRAIN, Environment())
    assert ran(first) == {"train": True} and ran(again) == {"train": False}
    assert again[0].summary == first[0].summary
    manifest = json.loads((tmp_path / "runs" / "tiny" / "01-train" / "manifest.json").read_text())
    assert set(manifest["outputs"]) == {"model.pt", "train.json"}
    assert manifest["config_hash"] == config_hash(flow, TRAIN[0].config_sections)


def test_a_damaged_output_makes_the_stage_run_again(tmp_path):
    flow = flow_in(tmp_path)
    run_stages(flow, TRAIN, Environment())
    (tmp_path / "runs" / "tiny" / "01-train" / "train.json").write_text("{}")
    assert ran(run_stages(flow, TRAIN, Environment())) == {"train": True}


def test_force_reruns_from_scratch_and_unknown_stage_is_an_error(tmp_path):
    flow = flow_in(tmp_path)
    run_stages(flow, TRAIN, Environment())
    assert ran(run_stages(flow, TRAIN, Environment(), force=["train"])) == {"train": True}
    with pytest.raises(HwcompressError, match=r"unknown stage\(s\) \['tran'\]"):
        run_stages(flow, TRAIN, Environment(), force=["tran"])


def test_a_change_reruns_exactly_the_stages_that_depend_on_it(tmp_path):
    first = run_stages(flow_in(tmp_path), STAGES, Environment())
    assert all(r.ran for r in first)
    retarget = run_stages(flow_in(tmp_path, target={"fps": 5000}), STAGES, Environment())
    assert ran(retarget) == {
        "train": False,
        "prune": False,
        "export": False,
        "compile": True,
        "verify": True,
        "report": True,
    }
    retrain = run_stages(flow_in(tmp_path, target={"fps": 5000}, train={"lr": 0.01}), STAGES, Environment())
    assert all(r.ran for r in retrain)
    report = json.loads((tmp_path / "runs" / "tiny" / "report.json").read_text())
    assert report["verify"]["mismatches"] == 0
