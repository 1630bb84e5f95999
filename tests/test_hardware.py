"""The parts only real Xilinx tools and a real board can check. Deselected by default; they skip cleanly where
Vivado and Vitis HLS are missing, or where no board is given (``HWCOMPRESS_BOARD=user@host[:port]``)."""

import json
import os

import pytest
import yaml

from hwcompress.tools import Toolchain

TOOLS = Toolchain.detect(os.environ)
needs_vivado = pytest.mark.skipif(not TOOLS.can_build_bitfile, reason=f"{TOOLS.missing_for_bitfile}")


@pytest.fixture
def quickstart_with_bitfile(repo):
    flow = yaml.safe_load((repo / "flows" / "quickstart.yaml").read_text())
    flow["compile"] = {"bitfile": "always"}
    return flow


@pytest.mark.vivado
@needs_vivado
def test_the_bundle_carries_finns_bitfile_hwh_and_settings(run_cli, write_flow, quickstart_with_bitfile, tmp_path):
    result = run_cli("run", str(write_flow(quickstart_with_bitfile)), timeout=4 * 3600)
    assert result.returncode == 0, result.stderr
    deploy = tmp_path / "runs" / "quickstart" / "deploy"
    manifest = json.loads((deploy / "manifest.json").read_text())
    assert manifest["bitfile"].endswith(".bit") and manifest["bitfile_missing"] is None
    assert list((deploy / "bitfile").glob("*.hwh")), "the .hwh travels with the .bit"
    settings = json.loads((deploy / "driver" / "settings.json").read_text())["driver_information"]
    assert settings["platform"] == "zynq-iodma" and settings["io_shape_dict"]["idma_names"]


@pytest.mark.board
@needs_vivado
def test_the_quickstart_on_a_board_matches_the_simulation(run_cli, write_flow, quickstart_with_bitfile, tmp_path):
    board = os.environ.get("HWCOMPRESS_BOARD")
    if not board:
        pytest.skip("no board: set HWCOMPRESS_BOARD=user@host[:port] (and HWCOMPRESS_BOARD_PYTHON if not PYNQ's)")
    quickstart_with_bitfile["deploy"] = {
        "python": os.environ.get("HWCOMPRESS_BOARD_PYTHON", "/usr/local/share/pynq-venv/bin/python3"),
        "sudo": True,
        "batch_sizes": [1, 100, 10000],
    }
    path = write_flow(quickstart_with_bitfile)
    assert run_cli("run", str(path), timeout=4 * 3600).returncode == 0
    result = run_cli("measure", str(path), "--host", board, timeout=1800)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "runs" / "quickstart" / "report.json").read_text())
    measured = report["measured"]
    assert measured["backend"] == "board" and measured["kind"].startswith("measured")
    assert measured["accuracy"] == report["accuracy"]["dataflow"], "on-device accuracy equals the simulation"
    assert measured["mismatches"] == 0, "every output equals the golden one"
    assert measured["fps_vs_estimate"]["10000"] >= 0.9, "at least 90 % of FINN's estimate at the largest batch"


@pytest.fixture
def tables_with_bitfile(repo):
    flow = yaml.safe_load((repo / "flows" / "tables-digits.yaml").read_text())
    flow["compile"] = {"bitfile": "always"}
    return flow


needs_vivado_alone = pytest.mark.skipif(TOOLS.vivado is None, reason="Vivado not found (a table network needs no HLS)")


@pytest.mark.vivado
@needs_vivado_alone
def test_a_table_network_bundle_carries_its_bitfile(run_cli, write_flow, tables_with_bitfile, tmp_path):
    result = run_cli("run", str(write_flow(tables_with_bitfile)), timeout=2 * 3600)
    assert result.returncode == 0, result.stderr
    deploy = tmp_path / "runs" / "tables-digits" / "deploy"
    manifest = json.loads((deploy / "manifest.json").read_text())
    assert manifest["bitfile"] == "bitfile/tn.bit" and manifest["bitfile_missing"] is None
    assert (deploy / "bitfile" / "tn.hwh").is_file(), "PYNQ's Overlay reads the .hwh beside the .bit"


@pytest.mark.board
@needs_vivado_alone
def test_a_table_network_on_a_board_matches_its_verilog(run_cli, write_flow, tables_with_bitfile, tmp_path):
    board = os.environ.get("HWCOMPRESS_BOARD")
    if not board:
        pytest.skip("no board: set HWCOMPRESS_BOARD=user@host[:port] (and HWCOMPRESS_BOARD_PYTHON if not PYNQ's)")
    tables_with_bitfile["deploy"] = {
        "python": os.environ.get("HWCOMPRESS_BOARD_PYTHON", "/usr/local/share/pynq-venv/bin/python3"),
        "sudo": True,
        "batch_sizes": [1, 100, 1000],
    }
    path = write_flow(tables_with_bitfile)
    result = run_cli("measure", str(path), "--host", board, timeout=2 * 3600)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "runs" / "tables-digits" / "report.json").read_text())
    measured = report["measured"]
    assert measured["backend"] == "board" and measured["kind"].startswith("measured")
    assert measured["accuracy"] == report["accuracy"]["rtl"] and measured["mismatches"] == 0
    assert measured["fps"]["1000"] <= report["performance"]["dma_bound"]["fps"], "the DMA bounds the board"
