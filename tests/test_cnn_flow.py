"""A residual network pruned and taken through the whole flow by ``hwcompress.run``: the stages see CNNs too."""

import json

import hwcompress
from hwcompress.driver.reference import ReferenceModel


def test_a_pruned_resnet_runs_to_a_bit_exact_design_and_a_bundle(tiny_flow, write_flow, tmp_path):
    flow = tiny_flow(
        "resnet",
        model={"arch": "resnet8", "width": 0.5, "dropout": 0.0, "hidden": None},
        prune={"criterion": "l1", "rate": 0.3, "finetune_epochs": 1},
        target={"fps": 20000},
    )
    del flow["model"]["hidden"]
    run = hwcompress.run(write_flow(flow), runs_dir=tmp_path / "runs", until="package")
    summaries = {stage.name: stage.summary for stage in run.stages}
    assert summaries["verify"]["verify.mismatches"] == 0 and summaries["verify"]["verify.samples"] == 359
    prune = json.loads((run.run_dir / "02-prune" / "prune.json").read_text())
    kept = {layer["name"]: (layer["before"], layer["after"]) for layer in prune["layers"]}
    assert set(kept) == {"stage0", "conv1", "conv3", "stage1", "conv6", "stage2"}
    assert sum(after for _, after in kept.values()) < sum(before for before, _ in kept.values())
    deploy = run.run_dir / "deploy" / "reference"
    reference = ReferenceModel.load(deploy / "reference.json", deploy / "reference.npz")
    ops = [layer["op"] for layer in reference.layers]
    assert reference.supported and ops.count("ElementwiseAdd") == 3 and ops.count("DuplicateStreams") == 3
    assert 0.1 < summaries["verify"]["accuracy.dataflow"] <= 1.0
