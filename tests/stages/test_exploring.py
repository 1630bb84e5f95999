"""Exploration glue that needs no parent: finding a design the study has already finished."""

from __future__ import annotations

import optuna

from hwcompress.stages.exploring import _finished_with


def test_a_design_drawn_again_is_found_among_the_finished_trials():
    study = optuna.create_study()
    for params in ({"w.fc0": 2}, {"w.fc0": 1}, {"w.fc0": 2}):
        study.enqueue_trial(params)
    found = []

    def objective(trial) -> float:
        trial.suggest_categorical("w.fc0", [1, 2])
        earlier = _finished_with(trial)
        found.append(None if earlier is None else earlier.number)
        return 0.0

    study.optimize(objective, n_trials=3)
    assert found == [None, None, 0]
