"""The runner: cache keys from what a stage reads, staging, failed reruns that lose nothing, set-aside outputs."""

import json
import os
import stat

import pytest
import yaml

from hwcompress.config import parse_flow
from hwcompress.errors import HwcompressError
from hwcompress.hw.fit import BoardFitError
from hwcompress.stages import DIRNAMES, plan, run_stages, stage_named
from hwcompress.stages.manifest import Manifest
from hwcompress.tools import Environment


@pytest.fixture
def flow_in(tmp_path, tiny_flow):
    def make(**overrides):
        return parse_flow(tiny_flow(outputs={"dir": str(tmp_path / "runs")}, **overrides))

    return make


def stages(*names):
    return [stage_named(name) for name in names]


def run(flow, *names, **kwargs):
    return run_stages(flow, stages(*names), Environment(), dirnames=DIRNAMES, **kwargs)


def ran(results):
    return {r.name: r.ran for r in results}


def snapshot(directory):
    """Every file under ``directory`` with its bytes and permission bits."""
    return {
        path.relative_to(directory): (path.read_bytes(), stat.S_IMODE(path.stat().st_mode))
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def test_rerun_skips_a_finished_stage_and_its_manifest_records_what_it_read(flow_in, tmp_path):
    flow = flow_in()
    first = run(flow, "train")
    again = run(flow, "train")
    assert ran(first) == {"train": True} and ran(again) == {"train": False}
    assert again[0].summary == first[0].summary
    manifest = Manifest.read(tmp_path / "runs" / "tiny" / "01-train")
    assert set(manifest.outputs) == {"model.pt", "train.json"}
    assert {"data", "model", "quant", "train!device,threads"} <= set(manifest.config)
    assert not {"target", "board", "train.threads", "train.device"} & set(manifest.config)
    train = manifest.config["train!device,threads"]
    assert train["epochs"] == 2 and train["augment"] == {"flip": False, "shift": 0}
    assert not {"threads", "device"} & set(train), "execution settings are left out of the record"


def test_a_damaged_output_makes_the_stage_run_again(flow_in, tmp_path):
    flow = flow_in()
    run(flow, "train")
    (tmp_path / "runs" / "tiny" / "01-train" / "train.json").write_text("{}")
    assert ran(run(flow, "train")) == {"train": True}


def test_force_reruns_and_an_unknown_stage_is_an_error(flow_in):
    flow = flow_in()
    run(flow, "train")
    assert ran(run(flow, "train", force=["train"])) == {"train": True}
    with pytest.raises(HwcompressError, match=r"unknown stage\(s\) \['tran'\]"):
        run(flow, "train", force=["tran"])


def test_target_fps_reruns_prune_only_when_auto_granularity_reads_it(flow_in):
    prune = {"criterion": "l1", "rate": 0.5, "finetune_epochs": 0}
    auto = flow_in(prune={**prune, "granularity": "auto"})
    fixed = flow_in(name="fixed", prune={**prune, "granularity": 4})
    assert ran(run(auto, "train", "prune")) == {"train": True, "prune": True}
    assert ran(run(fixed, "train", "prune")) == {"train": True, "prune": True}
    retarget = {"target": {"fps": 5000}}
    logged = []
    assert ran(
        run(flow_in(prune={**prune, "granularity": "auto"}, **retarget), "train", "prune", log=logged.append)
    ) == {
        "train": False,
        "prune": True,
    }
    assert "prune: target.fps 100000.0 → 5000.0 changed; running it again" in logged
    assert ran(run(flow_in(name="fixed", prune={**prune, "granularity": 4}, **retarget), "train", "prune")) == {
        "train": False,
        "prune": False,
    }


def test_a_change_reruns_the_stages_that_read_it_and_what_follows_from_their_outputs(flow_in):
    run(flow_in(), "train", "prune")
    # verify.samples is read by the verify stage only: nothing here reruns
    assert ran(run(flow_in(verify={"samples": 10}), "train", "prune")) == {"train": False, "prune": False}
    # where and how fast training runs is not what it computes: its checkpoint survives a move to another device
    assert ran(run(flow_in(train={"threads": 1, "device": "cpu"}), "train", "prune")) == {
        "train": False,
        "prune": False,
    }
    # a new learning rate retrains; prune reads the new weights and runs again
    assert ran(run(flow_in(train={"lr": 0.01}), "train", "prune")) == {"train": True, "prune": True}
    # so does any other training setting, nested ones included, named as the flow spells it
    logged = []
    changed = run(flow_in(train={"lr": 0.01, "augment": {"shift": 1}}), "train", log=logged.append)
    assert ran(changed) == {"train": True}
    assert any("train.augment.shift 0 → 1 changed" in line for line in logged), logged


def test_replaced_outputs_are_set_aside_and_files_get_normal_permissions(flow_in, tmp_path):
    run(flow_in(), "train")
    old = (tmp_path / "runs" / "tiny" / "01-train" / "model.pt").read_bytes()
    logged = []
    run(flow_in(model={"hidden": [16]}), "train", log=logged.append)
    previous = tmp_path / "runs" / "tiny" / "previous" / "01-train"
    assert (previous / "model.pt").read_bytes() == old and (previous / "checkpoint.pt").exists()
    assert f"train: the previous checkpoint.pt, model.pt, train.json set aside in {previous}" in logged
    umask = os.umask(0)
    os.umask(umask)
    for path in (tmp_path / "runs" / "tiny" / "01-train").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path


def test_a_failed_compile_leaves_the_previous_run_directory_byte_identical(flow_in, tmp_path, repo):
    good = flow_in(train={"epochs": 1})
    run(good, "train", "prune", "export", "compile")
    run_dir = tmp_path / "runs" / "tiny"
    before = snapshot(run_dir)
    umask = os.umask(0)
    os.umask(umask)
    assert {mode for _, mode in before.values()} == {0o666 & ~umask}, "every file the run wrote, FINN's included"
    board = yaml.safe_load((repo / "boards" / "pynq-z2.yaml").read_text())
    board.update(name="tiny-board", resources={**board["resources"], "lut": 500})
    (tmp_path / "tiny-board.yaml").write_text(yaml.safe_dump(board))
    bad = flow_in(train={"epochs": 1}, board=str(tmp_path / "tiny-board.yaml"))
    with pytest.raises(BoardFitError, match="design does not fit tiny-board"):
        run(bad, "train", "prune", "export", "compile")
    assert snapshot(run_dir) == before, "the run directory describes the last good run"
    assert json.loads((run_dir / "flow.json").read_text())["board"] == "pynq-z2"
    building = tmp_path / "runs" / ".incomplete" / "tiny" / "05-compile"
    assert (building / "estimate.json").exists() and not (building / "manifest.json").exists()
    # back to the good flow: nothing reruns, and the abandoned attempt is cleared away
    assert not any(r.ran for r in run(good, "train", "prune", "export", "compile"))
    assert not building.exists()


def test_a_compile_short_of_the_target_fps_says_which_layer_limits_it_and_what_helps(flow_in):
    flow = flow_in(model={"hidden": [256]}, train={"epochs": 1}, target={"fps": 1_000_000},
                   compile={"mvau_wwidth_max": 2})  # fmt: skip
    logged = []
    results = run(flow, "train", "prune", "export", "compile", log=logged.append)
    fps = results[-1].summary["estimate.fps"]
    assert fps < 1_000_000
    line = next(line for line in logged if "short of target.fps" in line)
    assert line.startswith(f"compile: FINN folded for {fps:,.0f} fps, short of target.fps 1,000,000 (estimate): MVAU")
    assert "SIMD 1) limits it; raise compile.mvau_wwidth_max (2 bits now) so its SIMD can grow" in line


def test_an_interrupted_replacement_is_undone(flow_in, tmp_path):
    """A kill between the two renames of a replacement leaves the old outputs parked; the next run restores them."""
    flow = flow_in()
    run(flow, "train")
    final = tmp_path / "runs" / "tiny" / "01-train"
    parked = tmp_path / "runs" / "tiny" / "previous" / "01-train"
    parked.parent.mkdir(parents=True)
    os.replace(final, parked)
    assert ran(run(flow, "train")) == {"train": False}
    assert (final / "model.pt").exists()


def test_the_plan_switches_off_preflight_and_sparsify_as_the_flow_says(flow_in):
    names = lambda *args, **kwargs: [s.name for s in plan(*args, **kwargs)]  # noqa: E731
    assert names(flow_in()) == ["preflight", "train", "prune", "export", "compile", "verify", "package", "report"]
    assert names(flow_in(target={"enforce_fit": False}, sparsify={"enabled": True}))[:4] == [
        "train",
        "prune",
        "sparsify",
        "export",
    ]
    assert names(flow_in(), until="prune") == ["train", "prune"]
    assert names(flow_in(), only=("train", "prune", "sparsify")) == ["train", "prune", "sparsify"]
