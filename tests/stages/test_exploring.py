"""Exploration glue that needs no parent: finding a design the study has already finished, and a budget of
distinct designs that redraws do not use up."""

from __future__ import annotations

import optuna

from hwcompress.explore.study import REDRAWS_ALLOWED, DesignBudget, finished
from hwcompress.stages.exploring import _finished_with, _repeat


def _objective(trial) -> list[float]:
    bits = trial.suggest_categorical("w.fc0", [1, 2])
    earlier = _finished_with(trial)
    return _repeat(trial, earlier) if earlier is not None else [float(bits)]


def _complete(study) -> list:
    return study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))  # not the queued ones


def test_a_design_drawn_again_is_found_among_the_finished_trials():
    study = optuna.create_study()
    for params in ({"w.fc0": 2}, {"w.fc0": 1}, {"w.fc0": 2}):
        study.enqueue_trial(params)
    study.optimize(_objective, n_trials=3)
    assert [t.user_attrs.get("same_as") for t in study.trials] == [None, None, 0]
    assert study.trials[2].values == study.trials[0].values
    assert [t.number for t in finished(study)] == [0, 1]


def test_redraws_do_not_count_against_the_budget_of_designs():
    study = optuna.create_study()
    for bits in (1, 1, 1, 2, 1):
        study.enqueue_trial({"w.fc0": bits})
    study.optimize(_objective, n_trials=50, callbacks=[DesignBudget(designs=2, space_size=10)])
    assert len(_complete(study)) == 4 and len(finished(study)) == 2


def test_the_search_stops_when_the_space_is_exhausted():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(_objective, n_trials=50, callbacks=[DesignBudget(designs=10, space_size=2)])
    assert len(finished(study)) == 2 and len(_complete(study)) < 50


def test_a_sampler_that_only_redraws_stops_after_a_bounded_number_of_trials():
    study = optuna.create_study()
    for _ in range(50):
        study.enqueue_trial({"w.fc0": 1})
    study.optimize(_objective, n_trials=50, callbacks=[DesignBudget(designs=2, space_size=2)])
    assert len(_complete(study)) == REDRAWS_ALLOWED * 2 and len(finished(study)) == 1
