"""Exploring table networks: candidates counted by the cost model, trained from scratch, the best one taken through
the whole flow (Yosys, Verilator)."""

import json

from hwcompress.api import explore
from hwcompress.explore.space import TableDesign
from hwcompress.tables.cost import TableShape, estimate_cost


def test_an_exploration_of_table_networks_counts_trains_and_builds_its_best_design(tmp_path, write_flow, tables_flow,
                                                                                    tiny_flow):  # fmt: skip
    space = {"tables": {"nodes": [[50], [100]], "thermometer": [1, 2], "epochs": 4}, "trials": 4, "population": 4,
             "finalize": 1}  # fmt: skip
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
    built = runs / flow_file.stem
    assert json.loads((built / "00-preflight" / "cost.json").read_text())["lut"] == best.lut
    built_report = json.loads((built / "report.json").read_text())
    assert built_report["backend"] == "tables" and built_report["verify"]["bit_exact"]
    assert built_report["network"]["layers"] == list(best.design.nodes)

    # a FINN exploration on the same dataset and board draws both fronts in one plot
    finn_space = {"weight_bits": [1, 2], "act_bits": [2], "trials": 2, "population": 2}
    finn = explore(write_flow(tiny_flow("mlp", explore=finn_space), "mlp.yaml"), runs_dir=runs)
    assert (finn.directory / "fronts.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    joint = (finn.directory / "report.md").read_text()
    assert "mlp (finn; LUT FINN estimate)" in joint and "tn (tables; LUT cost-model estimate)" in joint
