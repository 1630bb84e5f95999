"""What an exploration writes, from a study whose trials are set by hand: the front once per design, and a
front per target fps when the space has several."""

from __future__ import annotations

import optuna

from hwcompress.config import parse_flow
from hwcompress.explore.front import ACCURACY_ATTR, ESTIMATE_ATTR, SAME_AS_ATTR, fronts_by_fps, row_of
from hwcompress.explore.objectives import DIRECTIONS
from hwcompress.explore.space import suggest_design
from hwcompress.stages.explore_results import write_results

SPACE = {"weight_bits": [1, 2], "act_bits": [2], "fps": [10_000, 100_000], "objectives": ["accuracy", "lut", "bram18"]}


def _study_of(flow, designs: list[tuple[int, float, float, float]]) -> optuna.Study:
    """A study with one finished trial per (fc0 weight bits, target fps, accuracy, LUT); a repeat of an earlier
    design is marked as the objective marks a sampler's redraw."""
    study = optuna.create_study(directions=[DIRECTIONS[o] for o in flow.explore.objectives])
    seen: dict[tuple, int] = {}
    for bits, fps, val_accuracy, lut in designs:
        study.enqueue_trial({"w.fc0": bits, "w.out": 2, "a.fc0": 2, "crop": 0, "fps": fps})
        trial = study.ask()
        suggest_design(trial, flow, flow.explore)
        estimate = {"lut": lut, "bram18": 2.0, "dsp": 0.0, "fps": fps, "latency_us": 10.0}
        trial.set_user_attr(ESTIMATE_ATTR, estimate)
        trial.set_user_attr(ACCURACY_ATTR, val_accuracy)
        if (bits, fps) in seen:
            trial.set_user_attr(SAME_AS_ATTR, seen[(bits, fps)])
        seen.setdefault((bits, fps), trial.number)
        trial.set_constraint("lut", -1.0)
        study.tell(trial, [val_accuracy, lut, 2.0])
    return study


def test_the_front_lists_each_design_once_and_each_target_fps_gets_its_own(tiny_flow, tmp_path):
    flow = parse_flow(tiny_flow("ex", explore=SPACE, outputs={"dir": str(tmp_path)}))
    study = _study_of(flow, [(1, 100_000, 0.90, 100.0),   # 0: on the 100k front only (2 beats it overall)
                             (2, 100_000, 0.95, 200.0),   # 1: on both
                             (1, 10_000, 0.93, 50.0),     # 2: on both
                             (2, 10_000, 0.92, 80.0),     # 3: beaten by 2 at the same fps
                             (2, 100_000, 0.95, 200.0)])  # 4: the sampler drew 1 again  # fmt: skip
    exploration = write_results(flow, study)
    assert sorted(row.number for row in exploration.front) == [1, 2]
    assert [row.number for row in exploration.trials] == [0, 1, 2, 3]
    assert sorted(exploration.flows) == [0, 1, 2]
    report = (exploration.directory / "report.md").read_text()
    ten, hundred = report.index("### 10,000 fps"), report.index("### 100,000 fps")
    assert report.count("| 2 | 93.00%") == 2 and report.index("| 0 | 90.00%") > hundred > ten


def test_a_front_per_fps_keeps_only_the_designs_nothing_at_that_fps_beats(tiny_flow):
    flow = parse_flow(tiny_flow("ex", explore=SPACE))
    study = _study_of(flow, [(1, 10_000, 0.90, 10.0), (2, 10_000, 0.80, 20.0), (2, 100_000, 0.80, 20.0)])
    fronts = fronts_by_fps([row_of(trial) for trial in study.trials])
    assert {fps: [row.number for row in rows] for fps, rows in fronts.items()} == {10_000: [0], 100_000: [2]}
