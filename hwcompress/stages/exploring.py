"""Exploration glue: each trial's estimate (cached) and fine-tune from the parent, the worker processes, and the
results under ``runs/<flow>/explore/``.

The parent is the flow's own network, trained by the train stage. A trial asks FINN for an estimate first and
trains only a design that meets every hardware constraint. A table network's trial has no parent: the cost model
counts it and it trains from scratch (``stages/tables/explore.py``). Workers on one machine share the study's
journal; workers on several share a database (``--storage``).
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import multiprocessing
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from hwcompress.boards import get_board
from hwcompress.config import FlowConfig
from hwcompress.data import Splits, load_splits
from hwcompress.errors import HwcompressError
from hwcompress.explore.front import (
    ACCURACY_ATTR,
    ESTIMATE_ATTR,
    SAME_AS_ATTR,
    SECONDS_ATTR,
    TrialRow,
    row_of,
)
from hwcompress.explore.inherit import PaddedTeacher, inherit
from hwcompress.explore.objectives import Limits, accuracy_violation, hardware_violations, objective_values
from hwcompress.explore.space import design_flow, space_size, suggest_design
from hwcompress.fileio import sha256_json, write_json
from hwcompress.hw.estimate import Estimate
from hwcompress.models import build_model
from hwcompress.progress import Progress, no_progress
from hwcompress.stages.artifacts import TRAINED_WEIGHTS, TRAINING
from hwcompress.stages.backend import backend_name
from hwcompress.stages.config_reads import ConfigReads, whole
from hwcompress.stages.estimating import estimate_module, estimate_settings
from hwcompress.stages.keys import FileContents, code_identity
from hwcompress.stages.manifest import Manifest
from hwcompress.stages.runner import run_dir_of
from hwcompress.stages.table import DIRNAMES
from hwcompress.stages.tables.explore import study_inputs, table_estimate, train_candidate
from hwcompress.tools import Environment
from hwcompress.train.distill import Distillation
from hwcompress.train.loop import accuracy, fit

EXPLORE_DIR = "explore"
JOURNAL = "study.journal"
ESTIMATES = "estimates"
LOCK = ".lock"
WORKER_ATTR = "worker"
HEADLINE = ("lut", "bram18", "dsp", "fps", "latency_us")


def explore_dir(flow: FlowConfig) -> Path:
    return run_dir_of(flow) / EXPLORE_DIR


def study_name(flow: FlowConfig, files: FileContents) -> str:
    """The study's name: the flow's, and a hash of what decides a trial's result, by the runner's own keys (files
    by their contents, the code that ran): the search space but its budget, the parent's train stage, what every
    estimate reads (for a table network: what a candidate's training and count read). Every worker of one
    search, on any machine, names the same study.

    Raises:
        HwcompressError: the parent has not been trained yet.
    """
    space = flow.explore.model_dump(mode="json", exclude={"trials", "timeout_minutes", "finalize"})
    if is_tables(flow):
        return f"{flow.name}-{sha256_json([space, *study_inputs(flow)])[:10]}"
    parent = Manifest.read(run_dir_of(flow) / DIRNAMES["train"])
    if parent is None:
        raise HwcompressError(f"{flow.name}: the parent network is not trained; `hwcompress explore` trains it first")
    decides = [space, parent.config_hash, parent.code, estimate_reads(flow, files)]
    return f"{flow.name}-{sha256_json(decides)[:10]}"


def is_tables(flow: FlowConfig) -> bool:
    """Whether ``flow`` explores table networks (no parent, the cost model's counts)."""
    return backend_name(flow) == "tables"


def estimate_reads(flow: FlowConfig, files: FileContents) -> dict:
    """What an estimate of ``flow``'s untrained network depends on: the flow values it reads (files by their
    contents: the board's) and the code that builds and estimates the network."""
    reads = ConfigReads(flow, files)
    view = reads.view()
    estimate_settings(view)
    whole(view.model), whole(view.quant)  # the network estimated
    code = {**code_identity(estimate_module.__module__), **code_identity(build_model.__module__)}
    return {"values": reads.values(), "code": code}


class TrialObjective:
    """One worker's objective: estimate a candidate with FINN (cached), fine-tune it from the parent only when it
    meets every hardware constraint, and report its objectives and constraint values to the study. A table
    network: the cost model's count, and a short training from scratch."""

    def __init__(self, flow: FlowConfig, env: Environment, threads: int | None = None) -> None:
        self.flow, self.space, self.env = flow, flow.explore, env
        self.board = get_board(flow.board)
        self.limits = Limits.of(self.board, flow.target.max_utilization, self.space)
        self.directory = explore_dir(flow)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.files = FileContents(env.search)
        self.threads = flow.train.threads or threads
        self._data: dict[int | None, Splits] = {}
        self._parent: nn.Module | None = None
        if is_tables(flow):
            return
        train_dir = run_dir_of(flow) / DIRNAMES["train"]
        training = TRAINING.load(train_dir / TRAINING.name)
        self.parent_shape, self.classes = tuple(training.input_shape), training.num_classes
        self.parent_state = TRAINED_WEIGHTS.load(train_dir / TRAINED_WEIGHTS.name)

    def __call__(self, trial) -> list[float]:
        began = time.perf_counter()
        design = suggest_design(trial, self.flow, self.space)
        trial.set_user_attr(WORKER_ATTR, f"{socket.gethostname()}:{os.getpid()}")
        earlier = _finished_with(trial)
        if earlier is not None:  # samplers draw a design again; estimate and fine-tune are deterministic
            return _repeat(trial, earlier)
        child = design_flow(self.flow, design, f"{self.flow.name}-d{trial.number}")
        data = self.data(child)
        estimate = self.estimate(child, data)
        trial.set_user_attr(ESTIMATE_ATTR, {name: getattr(estimate, name) for name in HEADLINE})
        hardware = hardware_violations(estimate, child.target.fps, self.limits)
        for key, value in hardware.items():
            trial.set_constraint(key, value)
        val_accuracy = 0.0  # a design that cannot meet the hardware constraints is never trained
        if all(value <= 0 for value in hardware.values()):
            val_accuracy = self.finetune(child, data)
            trial.set_user_attr(ACCURACY_ATTR, val_accuracy)
        trial.set_constraint("accuracy", accuracy_violation(val_accuracy, self.limits) if val_accuracy else 0.0)
        trial.set_user_attr(SECONDS_ATTR, time.perf_counter() - began)
        return objective_values(self.space.objectives, val_accuracy, estimate)

    def data(self, child: FlowConfig) -> Splits:
        """The child's data (its crop), loaded once per worker."""
        if child.data.crop_to not in self._data:
            self._data[child.data.crop_to] = load_splits(child.data, self.env.search)
        return self._data[child.data.crop_to]

    def estimate(self, child: FlowConfig, data: Splits) -> Estimate:
        """FINN's estimate of ``child``'s untrained network, cached by a hash of everything it depends on (a table
        network: the cost model's count, too cheap to cache)."""
        shape = data.input_shape
        if is_tables(child):
            return table_estimate(child, shape, data.num_classes)
        key = sha256_json([estimate_reads(child, self.files), list(shape), self.classes])
        cached = self.directory / ESTIMATES / f"{key[:24]}.json"
        if cached.exists():
            return Estimate.from_json(json.loads(cached.read_text()))
        torch.manual_seed(0)
        model = build_model(child.model, child.quant, shape, self.classes)
        with tempfile.TemporaryDirectory(prefix=".estimate-", dir=self.directory) as building:
            compiled = estimate_module(model, shape, Path(building), estimate_settings(child), self.env.tools)
        cached.parent.mkdir(exist_ok=True)
        write_json(cached, compiled.estimate.to_json())
        return compiled.estimate

    def finetune(self, child: FlowConfig, data: Splits) -> float:
        """Validation accuracy of ``child`` after inheriting the parent's weights and a short QAT fine-tune (a table
        network: after ``explore.tables.epochs`` from scratch)."""
        if is_tables(child):
            return train_candidate(child, data, self.space.tables.epochs, self.threads, self.directory)
        shape = data.input_shape
        model = inherit(self.parent_state, self.flow.model, child.model, child.quant, self.parent_shape, shape,
                        self.classes)  # fmt: skip
        if self.space.finetune_epochs == 0:
            return accuracy(model, data.val_x, data.val_y)
        train = self.flow.train.model_copy(
            update={
                "epochs": self.space.finetune_epochs,
                "lr": self.space.finetune_lr or self.flow.train.lr / 10,
                "threads": self.threads,
            }
        )
        with tempfile.TemporaryDirectory(prefix=".finetune-", dir=self.directory) as building:
            history = fit(model, data, train, Path(building) / "checkpoint.pt", "explore", None, self.teacher(shape))
        return history[-1].val_acc

    def teacher(self, shape: tuple[int, ...]) -> Distillation | None:
        distill = self.space.distill
        if not distill.enabled:
            return None
        if self._parent is None:  # built once per worker; Distillation freezes it
            self._parent = build_model(self.flow.model, self.flow.quant, self.parent_shape, self.classes)
            self._parent.load_state_dict(self.parent_state)
        parent = self._parent
        if shape != self.parent_shape:
            parent = PaddedTeacher(parent, self.parent_shape)
        return Distillation(parent, distill.alpha, distill.temperature)


def _finished_with(trial):
    """A finished trial of the same study with exactly ``trial``'s parameters, or None."""
    from optuna.trial import TrialState

    done = trial.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return next((other for other in done if other.params == trial.params), None)


def _repeat(trial, earlier) -> list[float]:
    """``trial`` takes the results of ``earlier``, a finished trial of the same design."""
    for key, value in earlier.constraints.items():
        trial.set_constraint(key, value)
    for key in (ESTIMATE_ATTR, ACCURACY_ATTR):
        if key in earlier.user_attrs:
            trial.set_user_attr(key, earlier.user_attrs[key])
    trial.set_user_attr(SAME_AS_ATTR, earlier.number)
    return list(earlier.values)


def run_worker(
    flow: FlowConfig,
    env: Environment,
    storage_url: str | None,
    threads: int | None,
    stop_at: float | None,
    on_trial: Callable | None = None,
) -> None:
    """Run trials of the shared study until it holds ``explore.trials`` distinct finished designs (see
    ``DesignBudget``) or ``stop_at`` passes."""
    from hwcompress.explore.study import DesignBudget, load_study, open_storage

    name = study_name(flow, FileContents(env.search))
    study = load_study(open_storage(storage_url, explore_dir(flow) / JOURNAL), name, flow.explore)
    budget = DesignBudget(flow.explore.trials, space_size(flow, flow.explore))
    if budget.reached(study):
        return
    timeout = None if stop_at is None else max(0.0, stop_at - time.time())
    study.optimize(
        TrialObjective(flow, env, threads), timeout=timeout, callbacks=[budget] + ([on_trial] if on_trial else [])
    )


def _worker_process(flow_json: dict, env: Environment, storage_url: str | None, threads: int, stop_at) -> None:
    """A worker process: dies with its parent; prints one line and exits 1 on a known error."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: no orphan keeps training after a kill
    try:
        run_worker(FlowConfig.model_validate(flow_json), env, storage_url, threads, stop_at)
    except HwcompressError as err:
        print(f"error: explore worker {os.getpid()}: {err}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None


@contextmanager
def exclusive(directory: Path) -> Iterator[None]:
    """Hold the exploration's lock: one ``hwcompress explore`` per journal on this machine.

    Raises:
        HwcompressError: another exploration of the flow holds it.
    """
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / LOCK, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise HwcompressError(
                f"another `hwcompress explore` of this flow is running ({directory / LOCK}); wait for it, or add "
                "workers with --workers, or share a database with --storage"
            ) from None
        yield


@dataclass(frozen=True)
class ExploreProgress:
    """Trials finished, how many of them meet every constraint, and the most accurate of those."""

    done: int
    total: int
    feasible: int
    best: TrialRow | None

    def detail(self) -> str:
        best = self.best
        lead = f", best {best.val_accuracy:.2%} at {best.lut:,.0f} LUT (#{best.number})" if best else ""
        return f"{self.feasible}/{self.done} feasible{lead}"


def progress_of(study, total: int) -> ExploreProgress:
    from hwcompress.explore.study import finished

    rows = [row_of(trial) for trial in finished(study)]
    feasible = [row for row in rows if row.feasible and row.trained]
    best = max(feasible, key=lambda r: (r.val_accuracy, -r.lut), default=None)
    return ExploreProgress(len(rows), total, len(feasible), best)


def explore_study(
    flow: FlowConfig,
    env: Environment,
    storage_url: str | None = None,
    workers: int = 1,
    progress: Progress = no_progress,
    log: Callable[[str], None] = lambda _msg: None,
):
    """Run the search with ``workers`` processes (this one when 1) and return the study.

    With the default journal, the exploration holds a lock, and trials a killed run left unfinished are failed
    and queued again, so a rerun loses no trial and repeats none that finished.
    """
    from hwcompress.explore.study import load_study, open_storage, requeue_interrupted

    directory = explore_dir(flow)
    space = flow.explore
    with exclusive(directory) if storage_url is None else nullcontext():
        name = study_name(flow, FileContents(env.search))
        study = load_study(open_storage(storage_url, directory / JOURNAL), name, space)
        if storage_url is None:
            requeued = requeue_interrupted(study)
            if requeued:
                log(f"explore: trial(s) {', '.join(map(str, requeued))} were cut off by an earlier run; running again")
        stop_at = time.time() + 60 * space.timeout_minutes if space.timeout_minutes else None
        threads = max(1, (os.cpu_count() or 1) // workers)

        shown: list[ExploreProgress] = []
        total = min(space.trials, space_size(flow, space))

        def report(study, _trial=None) -> None:
            state = progress_of(study, total)
            if not shown or state != shown[-1]:
                progress("explore", min(state.done, state.total), state.total, state.detail())
                shown.append(state)

        report(study)
        if workers == 1:
            run_worker(flow, env, storage_url, threads, stop_at, on_trial=report)
        else:
            _run_processes(flow, env, storage_url, workers, threads, stop_at, lambda: report(study))
        report(study)
    return study


def _run_processes(flow, env, storage_url, workers, threads, stop_at, report: Callable[[], None]) -> None:
    context = multiprocessing.get_context("spawn")
    flow_json = flow.model_dump(mode="json")
    processes = [
        context.Process(target=_worker_process, args=(flow_json, env, storage_url, threads, stop_at))
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        while any(process.is_alive() for process in processes):
            report()
            time.sleep(2.0)
    finally:
        for process in processes:
            process.join(timeout=1.0)
            if process.is_alive():
                process.kill()
    failed = [process.pid for process in processes if process.exitcode != 0]
    if failed:
        raise HwcompressError(f"explore worker(s) {failed} failed (see above); rerun the same command to continue")
