"""The whole flow from the command line, as a user runs it: the one full pipeline of the default tier.

The flow itself needs nothing but the project's install; only measuring over SSH needs an OpenSSH server and the
board's Python (its test skips where they are missing, the flow's never does).
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from hwcompress.boards import BOARDS_DIR


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory, repo, hwcompress_exe):
    """``hwcompress run flows/quickstart.yaml`` once, as a user runs it: (runs directory, its CompletedProcess)."""
    import os

    runs = tmp_path_factory.mktemp("quickstart") / "runs"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HWCOMPRESS_")}
    result = subprocess.run(
        [str(hwcompress_exe), "run", str(repo / "flows" / "quickstart.yaml"), "--runs-dir", str(runs)],
        cwd=runs.parent, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    return runs, result


def test_quickstart_end_to_end_from_the_cli(quickstart):
    runs, result = quickstart
    assert result.returncode == 0, result.stderr
    run_dir = runs / "quickstart"
    report = json.loads((run_dir / "report.json").read_text())
    assert report["schema_version"] == 2
    assert report["verify"]["samples"] == 359 and report["verify"]["mismatches"] == 0
    assert report["accuracy"]["dataflow"] == report["accuracy"]["torch"] == report["accuracy"]["qonnx"]
    assert report["accuracy"]["torch"] > 0.9
    for key in ("lut", "bram18", "dsp", "fps", "latency_us"):
        assert report["estimate"][key] >= 0
    assert report["board"]["name"] == "pynq-z2" and report["board"]["lut"] == 53_200
    assert report["estimate"]["kind"] == "estimate (FINN)"
    assert report["verify"]["kind"].startswith("simulated") and report["accuracy"]["kind"].startswith("simulated")
    assert [row.get("layer") for row in report["layers"] if "layer" in row] == ["fc0", "fc1", "out"]
    assert set(report["timings"]) == {"train", "prune", "export", "compile", "verify"}
    markdown = (run_dir / "report.md").read_text()
    assert "| fc0 | 64 → 64 | MVAU_hls_0 |" in markdown and "bit-exact" in markdown
    assert f"report        {run_dir / 'report.md'}" in result.stdout
    assert "  compile: FINN 2/14 step_hwc_streamline" in result.stdout, "FINN's steps show as they run"
    assert "  preflight: FINN 14/14 done" in result.stdout
    assert "  verify: dataflow graph 359/359 images" in result.stdout
    assert "bit-exact, 0 mismatches of 359" in result.stdout
    assert f"deploy        {run_dir / 'deploy'} (and .tar.gz), 359 test images; no bitfile" in result.stdout
    check_bundle(run_dir, report)


def test_quickstart_measured_over_ssh(quickstart, run_cli, tmp_path, repo, ssh_server, board_python):
    """`hwcompress measure` over a real sshd to the board's Python: only measure and report run again."""
    shutil.copytree(quickstart[0], tmp_path / "runs")
    run_dir = tmp_path / "runs" / "quickstart"
    flow = yaml.safe_load((repo / "flows" / "quickstart.yaml").read_text())
    flow["deploy"] = {
        "key_file": str(ssh_server.key),
        "known_hosts": str(ssh_server.known_hosts),
        "python": board_python,
        "remote_dir": str(tmp_path / "board"),
        "batch_sizes": [1, 10, 100],
        "repeats": 2,
    }
    (tmp_path / "measured.yaml").write_text(yaml.safe_dump(flow))
    host = f"{ssh_server.user}@127.0.0.1:{ssh_server.port}"
    result = run_cli("measure", "measured.yaml", "--host", host, "--runs-dir", str(tmp_path / "runs"))
    assert result.returncode == 0, result.stderr
    assert "train: up to date, skipped" in result.stdout and "package: up to date, skipped" in result.stdout
    report = json.loads((run_dir / "report.json").read_text())
    measured = report["measured"]
    assert measured["backend"] == "simulated-board" and measured["kind"].startswith("simulated-board")
    assert measured["accuracy"] == report["accuracy"]["dataflow"] and measured["mismatches"] == 0
    assert measured["fps_vs_estimate"] is None, "a simulated board's timings are not compared with the estimate"
    assert "(*simulated-board*)" in (run_dir / "report.md").read_text()
    assert f"  on {host}  accuracy" in result.stdout and "(simulated-board: host CPU timings" in result.stdout

    flow["deploy"]["known_hosts"] = str(tmp_path / "empty_known_hosts")
    (tmp_path / "empty_known_hosts").write_text("")
    (tmp_path / "unknown.yaml").write_text(yaml.safe_dump(flow))
    result = run_cli("measure", "unknown.yaml", "--host", host, "--runs-dir", str(tmp_path / "runs"))
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1 and "is not in" in lines[0] and "ssh-keyscan -p" in lines[0]


def check_bundle(run_dir: Path, report: dict) -> None:
    """The deployment bundle: every file as its manifest says, and its driver validates on the simulated board."""
    import tarfile

    from hwcompress.driver.bundle import Bundle

    bundle = Bundle(run_dir / "deploy")
    bundle.verify()
    assert bundle.manifest["bitfile"] is None and "Vivado" in bundle.manifest["bitfile_missing"]
    assert bundle.manifest["estimate"]["fps"] == report["estimate"]["fps"]
    with tarfile.open(run_dir / "deploy.tar.gz") as tar:
        assert "deploy/manifest.json" in tar.getnames() and "deploy/driver/__main__.py" in tar.getnames()
    validated = subprocess.run(
        [sys.executable, "-m", "driver", "validate"], cwd=run_dir / "deploy", capture_output=True, text=True
    )
    assert validated.returncode == 0, validated.stderr
    result = json.loads(validated.stdout)
    assert result["backend"] == "simulated-board" and result["samples"] == 359
    assert result["accuracy"] == report["accuracy"]["dataflow"] and result["mismatches"] == 0
    assert result["reference_agrees"] is None, "the simulated board computes with the reference itself"


@pytest.fixture
def tiny_board(tmp_path):
    """A board file like PYNQ-Z2 with 500 LUT, next to the flows."""
    board = yaml.safe_load((BOARDS_DIR / "pynq-z2.yaml").read_text())
    board.update(name="tiny-board", resources={**board["resources"], "lut": 500})
    (tmp_path / "tiny-board.yaml").write_text(yaml.safe_dump(board))
    return "tiny-board.yaml"


def test_a_design_that_cannot_fit_fails_before_training_with_one_line(
    run_cli, write_flow, tmp_path, tiny_board, tiny_flow
):
    path = write_flow(tiny_flow(board=tiny_board, train={"epochs": 50}))
    result = run_cli("run", str(path))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith("error: design does not fit tiny-board: needs ")
    assert " LUT of 425 allowed (85% of 500) (FINN estimate of the untrained network: the layers, " in lines[0]
    assert not (tmp_path / "runs" / "tiny" / "01-train").exists(), "nothing was trained"
    assert not (tmp_path / "runs" / ".incomplete" / "tiny" / "01-train").exists()


@pytest.mark.slow
def test_a_design_over_the_ceiling_is_reported_when_fit_is_not_enforced(
    run_cli, write_flow, tmp_path, tiny_board, tiny_flow
):
    path = write_flow(tiny_flow(board=tiny_board, train={"epochs": 1}, target={"enforce_fit": False}))
    result = run_cli("run", str(path))
    assert result.returncode == 0, result.stderr
    assert "preflight" not in result.stdout.splitlines()[0]
    assert "DOES NOT FIT tiny-board (LUT over the ceiling)" in result.stdout
    report = json.loads((tmp_path / "runs" / "tiny" / "report.json").read_text())
    assert report["utilization"]["lut"]["fits"] is False and report["verify"]["mismatches"] == 0


def test_bring_your_own_qonnx_compiles_and_verifies_from_the_cli(run_cli, tmp_path, foreign_model):
    result = run_cli(
        "compile",
        "foreign.onnx",
        "--inputs",
        "x.npy",
        "--expected",
        "expected.npy",
        "--labels",
        "labels.npy",
        "--fps",
        "1000",
        "--out",
        "byo",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "byo" / "report.json").read_text())
    assert report["verify"]["samples"] == 40 and report["verify"]["mismatches"] == 0
    assert report["accuracy"]["dataflow"] == 1.0, "labels are the model's own predictions"
    assert "bit-exact, 0 mismatches of 40" in result.stdout


@pytest.mark.parametrize("inputs", [["--inputs", "x.npy"], []], ids=["with-inputs", "without-inputs"])
def test_broken_onnx_fails_with_one_line_and_leaves_no_directory(run_cli, tmp_path, inputs):
    (tmp_path / "broken.onnx").write_bytes(b"\x08\x07garbage")
    np.save(tmp_path / "x.npy", np.zeros((2, 4), dtype=np.float32))
    result = run_cli("compile", "broken.onnx", *inputs)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith("error: broken.onnx: not a readable ONNX model"), "the model is read first"
    assert not (tmp_path / "runs").exists()


def test_a_text_file_as_inputs_fails_with_one_line(run_cli, tmp_path, foreign_model):
    (tmp_path / "x.txt").write_text("1 2 3\n")
    result = run_cli("compile", "foreign.onnx", "--inputs", "x.txt")
    assert result.returncode == 1 and "pickle" not in result.stderr
    assert result.stderr.strip() == (
        "error: x.txt: the inputs must be a .npy file written by numpy.save; this one is not (text or another format)"
    )


def test_inputs_that_do_not_fit_the_model_fail_with_one_line(run_cli, tmp_path, foreign_model):
    np.save(tmp_path / "wrong.npy", np.zeros((3, 15), dtype=np.float32))
    result = run_cli("compile", "foreign.onnx", "--inputs", "wrong.npy")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: inputs of shape (15,) do not fit the model's input (16,); "
        "give one row per sample with the model's input size"
    )
