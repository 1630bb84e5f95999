"""A stage's key: the values it read, the contents of the files they name, the code it ran; explore keys on it."""

import json
import shutil

import pytest
import yaml

from hwcompress.boards import BOARDS_DIR
from hwcompress.config import parse_flow
from hwcompress.data import SearchPath
from hwcompress.stages import DIRNAMES, run_stages, stage_named
from hwcompress.stages.exploring import study_name
from hwcompress.stages.keys import FileContents, code_identity
from hwcompress.stages.manifest import Manifest
from hwcompress.tools import Environment


def run(flow, *names, log=lambda _line: None):
    stages = [stage_named(name) for name in names]
    return {r.name: r.ran for r in run_stages(flow, stages, Environment(), dirnames=DIRNAMES, log=log)}


@pytest.fixture
def flow_in(tmp_path, tiny_flow):
    def make(**overrides):
        return parse_flow(tiny_flow(outputs={"dir": str(tmp_path / "runs")}, **overrides))

    return make


def test_each_stage_keys_on_the_code_it_runs_and_the_libraries_it_calls(flow_in, tmp_path):
    flow = flow_in()
    assert run(flow, "preflight", "train") == {"preflight": True, "train": True}
    preflight = Manifest.read(tmp_path / "runs" / "tiny" / DIRNAMES["preflight"]).code
    train = Manifest.read(tmp_path / "runs" / "tiny" / DIRNAMES["train"]).code
    finn_code = {"hwcompress/compile/finn_compat.py", "hwcompress/compile/steps.py", "hwcompress/hw/estimate.py"}
    assert finn_code <= set(preflight) and {"finn-plus", "qonnx", "brevitas", "torch"} <= set(preflight)
    assert {"hwcompress/train/loop.py", "hwcompress/models/quant.py", "torch", "brevitas"} <= set(train)
    assert not finn_code & set(train) and "finn-plus" not in train, "training does not rerun when FINN's code changes"
    assert not any(name.startswith(("hwcompress/report/", "hwcompress/stages/runner")) for name in preflight)

    path = tmp_path / "runs" / "tiny" / DIRNAMES["preflight"] / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["code"]["hwcompress/compile/finn_compat.py"] = "0" * 16
    path.write_text(json.dumps(manifest))
    logged = []
    assert run(flow, "preflight", "train", log=logged.append) == {"preflight": True, "train": False}
    assert "preflight: its code changed (hwcompress/compile/finn_compat.py); running it again" in logged


def test_editing_a_folding_file_or_a_board_file_reruns_compile_and_moving_one_does_not(flow_in, tmp_path):
    folding = tmp_path / "folding.json"
    folding.write_text(json.dumps({"Defaults": {}}))
    board = yaml.safe_load((BOARDS_DIR / "pynq-z2.yaml").read_text())
    (tmp_path / "boards").mkdir()
    (tmp_path / "boards" / "mine.yaml").write_text(yaml.safe_dump({**board, "name": "mine"}))
    flow = flow_in(board=str(tmp_path / "boards" / "mine.yaml"), compile={"folding_config": str(folding)})
    stages = ("train", "prune", "export", "compile")
    assert run(flow, *stages) == dict.fromkeys(stages, True)
    assert run(flow, *stages) == dict.fromkeys(stages, False)

    folding.write_text(json.dumps({"Defaults": {}, "MVAU_hls_0": {"PE": 1, "SIMD": 1}}))
    logged = []
    assert run(flow, *stages, log=logged.append) == {"train": False, "prune": False, "export": False, "compile": True}
    assert "compile: compile.folding_config (its file folding.json) changed; running it again" in logged

    (tmp_path / "boards" / "mine.yaml").write_text(yaml.safe_dump({**board, "name": "mine", "clock_mhz": 125}))
    assert run(flow, *stages) == {"train": False, "prune": False, "export": False, "compile": True}
    assert Manifest.read(tmp_path / "runs" / "tiny" / DIRNAMES["compile"]).summary["estimate.fps"] > 0

    (tmp_path / "elsewhere").mkdir()
    shutil.copy(tmp_path / "boards" / "mine.yaml", tmp_path / "elsewhere" / "mine.yaml")
    moved = flow.model_copy(update={"board": str(tmp_path / "elsewhere" / "mine.yaml")})
    assert run(moved, *stages) == dict.fromkeys(stages, False), "the same contents elsewhere change nothing"


def test_explore_and_run_agree_on_what_a_dataset_is(tiny_flow, tmp_path, write_idx_set):
    """The study's name keys on the train stage's own key: a dataset moved elsewhere retrains nothing and renames
    no study; a dataset with other contents does both."""
    for directory, seed in (("a", 0), ("b", 0), ("c", 1)):
        write_idx_set(tmp_path / directory / "mnist", n_train=60, n_test=20, seed=seed)
    search = SearchPath(cache=tmp_path / "cache")
    files = FileContents(search)

    def trained(directory):
        flow = parse_flow(
            tiny_flow(
                "ex",
                data={"name": "mnist", "path": str(tmp_path / directory / "mnist"), "val_fraction": 0.2},
                model={"hidden": [8]},
                train={"epochs": 1},
                explore={"weight_bits": [1, 2], "act_bits": [2], "trials": 2},
                outputs={"dir": str(tmp_path / "runs")},
            )
        )
        runs = run_stages(flow, [stage_named("train")], Environment(search=search), dirnames=DIRNAMES)
        return runs[0].ran, study_name(flow, files)

    ran_a, name_a = trained("a")
    ran_b, name_b = trained("b")
    ran_c, name_c = trained("c")
    assert ran_a and not ran_b and name_b == name_a, "same files elsewhere: neither retrains nor renames"
    assert ran_c and name_c != name_a, "other contents: both"


def test_code_identity_follows_imports_inside_functions_too():
    identity = code_identity("hwcompress.stages.train")
    assert "scikit-learn" in identity, "the digits loader imports scikit-learn inside its function"
    assert "hwcompress/data/digits.py" in identity and "hwcompress/driver/reference.py" not in identity
    assert all(len(digest) == 16 for name, digest in identity.items() if name.startswith("hwcompress/"))
