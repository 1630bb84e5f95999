"""A low-rank factorized network through the whole flow: FINN builds the two factors as two MVAUs and the
dataflow graph is bit-exact."""

import json

import hwcompress


def test_a_factorized_layer_compiles_as_two_matrix_units_and_verifies_bit_exactly(tiny_flow, write_flow, tmp_path):
    flow = tiny_flow(
        "lowrank",
        model={"hidden": [32, 32]},
        train={"epochs": 4},
        lowrank={"layers": ["fc0"], "energy": 0.6, "finetune_epochs": 1},
        target={"fps": 50000},
    )
    run = hwcompress.run(write_flow(flow), runs_dir=tmp_path / "runs", until="report")
    summaries = {stage.name: stage.summary for stage in run.stages}
    assert summaries["verify"]["verify.mismatches"] == 0 and summaries["verify"]["verify.samples"] == 359
    factors = json.loads((run.run_dir / "02-prune" / "prune.json").read_text())["lowrank"]["factors"]
    assert len(factors) == 1 and factors[0]["layer"] == "fc0" and 1 <= factors[0]["rank"] < 32
    report = json.loads((run.run_dir / "report.json").read_text())
    units = [row for row in report["layers"] if row["op_type"].startswith("MVAU")]
    assert [row["layer"] for row in units] == ["fc0_lr", "fc0", "fc1", "out"]
    rank = factors[0]["rank"]
    assert [row["params"] for row in units[:2]] == [64 * rank, rank * 32]
    assert "## Low-rank factorization" in (run.run_dir / "report.md").read_text()
    assert summaries["prune"]["accuracy.factorized"] == report["lowrank"]["accuracy"] > 0.3
    assert report["accuracy"]["torch"] == report["lowrank"]["accuracy"], "the reference is the factorized network"
