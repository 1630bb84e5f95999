import json

import pytest

from hwcompress.config import parse_flow
from hwcompress.errors import HwcompressError
from hwcompress.flow import Environment, config_hash, run_stages
from hwcompress.pipeline import STAGES
from tests.conftest import tiny_flow


def flow_in(tmp_path, **overrides):
    return parse_flow(tiny_flow(outputs={"dir": str(tmp_path / "runs")}, **overrides))


def test_rerun_skips_a_finished_stage_and_reports_its_numbers(tmp_path):
    flow = flow_in(tmp_path)
    first = run_stages(flow, STAGES, Environment())
    again = run_stages(flow, STAGES, Environment())
    assert [r.ran for r in first] == [True] and [r.ran for r in again] == [False]
    assert again[0].summary == first[0].summary
    manifest = json.loads((tmp_path / "runs" / "tiny" / "01-train" / "manifest.json").read_text())
    assert set(manifest["outputs"]) == {"model.pt", "train.json"}
    assert manifest["config_hash"] == config_hash(flow, STAGES[0].config_sections)


def test_changing_a_section_the_stage_reads_reruns_it_other_sections_do_not(tmp_path):
    run_stages(flow_in(tmp_path), STAGES, Environment())
    unrelated = run_stages(flow_in(tmp_path, target={"fps": 5}), STAGES, Environment())
    related = run_stages(flow_in(tmp_path, train={"lr": 0.01}), STAGES, Environment())
    assert [r.ran for r in unrelated] == [False]
    assert [r.ran for r in related] == [True]


def test_a_damaged_output_makes_the_stage_run_again(tmp_path):
    flow = flow_in(tmp_path)
    run_stages(flow, STAGES, Environment())
    (tmp_path / "runs" / "tiny" / "01-train" / "train.json").write_text("{}")
    assert [r.ran for r in run_stages(flow, STAGES, Environment())] == [True]


def test_force_reruns_from_scratch_and_unknown_stage_is_an_error(tmp_path):
    flow = flow_in(tmp_path)
    run_stages(flow, STAGES, Environment())
    assert [r.ran for r in run_stages(flow, STAGES, Environment(), force=["train"])] == [True]
    with pytest.raises(HwcompressError, match=r"unknown stage\(s\) \['tran'\]"):
        run_stages(flow, STAGES, Environment(), force=["tran"])
