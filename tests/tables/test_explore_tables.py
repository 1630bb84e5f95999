"""Exploring table networks: candidates counted by the cost model, trained from scratch, the front written as
flows (test_flow.py takes such a flow through Yosys and Verilator)."""

from hwcompress.api import explore
from hwcompress.config import load_flow
from hwcompress.explore.space import TableDesign
from hwcompress.tables.cost import TableShape, estimate_cost


def test_an_exploration_of_table_networks_counts_trains_and_writes_each_front_design_as_a_flow(
    tmp_path, write_flow, tables_flow, tiny_flow
):
    space = {"tables": {"nodes": [[50], [100]], "thermometer": [1, 2], "epochs": 4}, "trials": 4, "population": 4}
    runs = tmp_path / "runs"
    exploration = explore(write_flow({**tables_flow(tmp_path), "explore": space}), runs_dir=runs)

    designs = {row.design for row in exploration.trials}
    assert len(designs) == 4 and all(isinstance(design, TableDesign) for design in designs)
    assert not (runs / "tn" / "01-train").exists(), "no parent network to train"
    for row in exploration.trials:
        shape = TableShape(64, row.design.thermometer, row.design.nodes, row.design.fan_in, 10)
        assert row.lut == estimate_cost(shape).lut and row.bram18 == 0
        assert row.fps == 100e6 / 8, "one image per 8 beats of the 64-bit stream at 100 MHz"
        assert 0.3 < row.val_accuracy <= 1.0
    report = (exploration.directory / "report.md").read_text()
    assert "cost-model estimate" in report and "4 epoch(s) of training from scratch" in report
    assert "FINN" not in report and not (exploration.directory / "bits.png").exists()

    best = max(exploration.front, key=lambda row: row.val_accuracy)
    flow_file = exploration.front_flows()[0]
    assert best.design.describe() in flow_file.read_text()
    tables = load_flow(flow_file).model.tables
    assert (tables.nodes, tables.fan_in, tables.thermometer) == (best.design.nodes, 6, best.design.thermometer)

    # a FINN exploration on the same dataset and board draws both fronts in one plot
    finn_space = {"weight_bits": [1, 2], "act_bits": [2], "trials": 2, "population": 2}
    finn = explore(write_flow(tiny_flow("mlp", explore=finn_space), "mlp.yaml"), runs_dir=runs)
    assert (finn.directory / "fronts.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    joint = (finn.directory / "report.md").read_text()
    assert "mlp (finn; LUT FINN estimate)" in joint and "tn (tables; LUT cost-model estimate)" in joint
