import subprocess
import sys

import pytest


def test_import_is_lean():
    code = "import hwcompress, hwcompress.cli, sys; print(*(m in sys.modules for m in ('finn', 'pynq', 'torch')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False", "False"]


@pytest.mark.parametrize(
    "command", [[], ["run"], ["train"], ["prune"], ["sparsify"], ["compile"], ["boards"], ["doctor"]]
)
def test_help_everywhere(run_cli, command):
    result = run_cli(*command, "--help")
    assert result.returncode == 0 and "Usage: hwcompress" in result.stdout


def test_boards_lists_every_board_with_its_part(run_cli):
    result = run_cli("boards")
    assert result.returncode == 0
    for text in ("pynq-z2", "xc7z020clg400-1", "53,200", "kv260", "xck26-sfvc784-2LV-c", "zcu104", "ultra96-v2"):
        assert text in result.stdout


def test_doctor_reports_versions_and_what_works(run_cli):
    result = run_cli("doctor", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    for text in ("torch", "2.13.0", "brevitas", "0.13.4", "qonnx", "1.0.0", "finn-plus", "1.6.1", "onnx"):
        assert text in result.stdout
    assert "FINN estimates and bit-exact simulation: yes" in result.stdout
    assert "bitfile: no — Vivado and Vitis HLS not found" in result.stdout


def one_line_error(result) -> str:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    return lines[0]


def test_misspelt_key_fails_with_one_line_naming_it(run_cli, write_flow, tiny_flow):
    path = write_flow({**tiny_flow(), "train": {"epohcs": 3}})
    line = one_line_error(run_cli("train", str(path)))
    assert line == f"error: {path}: unknown key 'train.epohcs'; did you mean 'train.epochs'?"


def test_missing_dataset_fails_with_one_line_saying_where_to_put_it(run_cli, write_flow, cli_env, tiny_flow):
    path = write_flow(tiny_flow(data={"name": "cifar10", "download": False}))
    result = run_cli("train", str(path))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: dataset 'cifar10' not found: put cifar-10-batches-py/data_batch_1..5")
    assert f"{cli_env['HWCOMPRESS_CACHE']}/cifar10" in line


def test_debug_shows_the_traceback(run_cli, write_flow, tiny_flow):
    path = write_flow({**tiny_flow(), "train": {"epohcs": 3}})
    result = run_cli("--debug", "train", str(path))
    assert result.returncode != 0 and "Traceback" in result.stderr and "ConfigError" in result.stderr


def test_train_command_trains_and_a_rerun_skips(run_cli, write_flow, tmp_path, tiny_flow):
    path = write_flow(tiny_flow(train={"epochs": 3}))
    first = run_cli("train", str(path))
    assert first.returncode == 0, first.stderr
    assert "epoch 3/3" in first.stdout and (tmp_path / "runs" / "tiny" / "01-train" / "model.pt").exists()
    second = run_cli("train", str(path))
    assert second.returncode == 0 and "train: up to date, skipped" in second.stdout


def test_quickstart_flow_is_shipped(repo):
    assert (repo / "flows" / "quickstart.yaml").exists()


def test_measure_without_a_board_says_how_to_name_one(run_cli, write_flow, tiny_flow, tmp_path):
    line = one_line_error(run_cli("measure", str(write_flow(tiny_flow()))))
    assert line == "error: no board to measure on: set deploy.host in the flow or give --host USER@HOST[:PORT]"
    assert not (tmp_path / "runs").exists(), "nothing ran"


def test_a_flow_that_is_not_utf8_fails_with_one_line(run_cli, tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: café\nmodel: {arch: tfc}\n".encode("latin-1"))
    line = one_line_error(run_cli("run", str(path)))
    assert line == f"error: {path}: not UTF-8 text (byte 0xe9 at offset 9); save it as UTF-8"
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("host", "problem"),
    [
        ("xilinx@", "no host name"),
        ("@pynq", "an empty user before '@'"),
        ("xilinx@127.0.0.1:notaport", "the port 'notaport' is not a number from 1 to 65535"),
        ("xilinx@127.0.0.1:70000", "the port '70000' is not a number from 1 to 65535"),
    ],
)
def test_a_malformed_board_address_fails_when_it_is_read(host, problem, run_cli, write_flow, tiny_flow, tmp_path):
    in_flow = one_line_error(run_cli("run", str(write_flow(tiny_flow(deploy={"host": host})))))
    assert in_flow.startswith(f"error: {tmp_path / 'flow.yaml'}: deploy.host: {problem}; write USER@HOST[:PORT]")
    as_option = one_line_error(run_cli("measure", str(write_flow(tiny_flow())), "--host", host))
    assert as_option.startswith(f"error: --host '{host}': {problem}; write USER@HOST[:PORT]")
    assert not (tmp_path / "runs").exists(), "no stage ran"
