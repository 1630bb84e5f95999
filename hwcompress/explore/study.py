"""The Optuna study behind an exploration: its storage, its sampler, and recovery after a killed run.

Storage is a journal file in the run directory by default (several processes on one machine share it through
its file lock); ``postgresql://USER@HOST:PORT/DB`` shares one study between machines through Optuna's RDB
storage (psycopg as the driver), with heartbeats so that a trial whose worker died is failed and run again.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import optuna
from optuna.storages import JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock
from optuna.trial import TrialState

from hwcompress.config import ExploreConfig, SamplerName
from hwcompress.errors import ConfigError, HwcompressError
from hwcompress.explore.front import SAME_AS_ATTR
from hwcompress.explore.objectives import DIRECTIONS

#: A worker of a shared (RDB) study beats this often; a trial silent for GRACE_S is failed and retried.
HEARTBEAT_S = 10
GRACE_S = 60
RETRIES = 3
OPEN_ATTEMPTS = 4
#: A sampler that has converged redraws designs it knows; the search stops after this many times
#: ``explore.trials`` finished trials even when fewer distinct designs were found.
REDRAWS_ALLOWED = 5


def open_storage(url: str | None, journal: Path) -> optuna.storages.BaseStorage:
    """The journal file ``journal`` when ``url`` is None, else the database at ``url``.

    Raises:
        ConfigError: a URL that is not a database URL.
        HwcompressError: the database cannot be reached (one line with the fix).
    """
    if url is None:
        journal.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(journal), lock_obj=JournalFileOpenLock(str(journal))))
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme in ("postgresql", "postgres"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    elif not scheme.startswith(("postgresql+", "sqlite", "mysql")):
        raise ConfigError(f"--storage {url!r} is not a database URL; e.g. postgresql://USER@HOST:5432/DB")
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)  # heartbeats are "experimental"
    for attempt in range(OPEN_ATTEMPTS):
        try:
            return RDBStorage(
                url,
                engine_kwargs={"pool_pre_ping": True},
                heartbeat_interval=HEARTBEAT_S,
                grace_period=GRACE_S,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=RETRIES),
            )
        except Exception as err:  # SQLAlchemy and the driver raise many types for an unreachable server
            # Workers that start together race to create Optuna's tables; the loser finds them on its next try.
            if attempt == OPEN_ATTEMPTS - 1:
                reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                raise HwcompressError(
                    f"cannot open the study storage {_redacted(url)}: {reason}; check the server runs and the URL"
                ) from None
            time.sleep(1.0 + attempt)
    raise AssertionError("unreachable")


def _redacted(url: str) -> str:
    """``url`` without its password."""
    head, sep, tail = url.partition("://")
    credentials, at, host = tail.rpartition("@")
    return f"{head}{sep}{credentials.split(':')[0]}{at}{host}" if at else url


def make_sampler(space: ExploreConfig) -> optuna.samplers.BaseSampler:
    """The sampler ``space.sampler`` names, seeded; constraints come from each trial (``set_constraint``)."""
    if space.sampler is SamplerName.NSGA2:
        return optuna.samplers.NSGAIISampler(population_size=space.population, seed=space.seed)
    if space.sampler is SamplerName.TPE:
        return optuna.samplers.TPESampler(seed=space.seed, multivariate=True, group=True)
    return optuna.samplers.RandomSampler(seed=space.seed)


def load_study(storage: optuna.storages.BaseStorage, name: str, space: ExploreConfig) -> optuna.Study:
    """The study ``name`` in ``storage``, created when new (every worker calls this with the same name)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    directions = [DIRECTIONS[objective] for objective in space.objectives]
    study = optuna.create_study(
        storage=storage, study_name=name, sampler=make_sampler(space), directions=directions, load_if_exists=True
    )
    if list(study.directions) != [optuna.study.StudyDirection[d.upper()] for d in directions]:
        raise HwcompressError(f"study {name} in this storage has other objectives; use a new storage or flow name")
    return study


def requeue_interrupted(study: optuna.Study) -> list[int]:
    """Fail the trials a killed run left RUNNING and queue their designs again; the trial numbers requeued.

    Only for a storage no live worker shares (the journal file, under the exploration's lock): a shared
    database uses heartbeats instead.
    """
    requeued = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study._storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
        study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number}, skip_if_exists=False)
        requeued.append(trial.number)
    return requeued


def finished(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """The study's completed trials, each design once: not the trials in which the sampler drew a finished
    design again (they only hand the sampler that design's results)."""
    return [trial for trial in _complete(study) if _first_of_design(trial)]


def _complete(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def _first_of_design(trial: optuna.trial.FrozenTrial) -> bool:
    return SAME_AS_ATTR not in trial.user_attrs


class DesignBudget:
    """Stops a worker's search once the study has finished ``designs`` distinct designs, or every design of a
    space that holds fewer, or ``REDRAWS_ALLOWED`` times ``designs`` trials in all (an Optuna callback)."""

    def __init__(self, designs: int, space_size: int) -> None:
        self.designs = min(designs, space_size)
        self.trials = REDRAWS_ALLOWED * designs

    def reached(self, study: optuna.Study) -> bool:
        complete = _complete(study)
        return sum(map(_first_of_design, complete)) >= self.designs or len(complete) >= self.trials

    def __call__(self, study: optuna.Study, _trial: optuna.trial.FrozenTrial) -> None:
        if self.reached(study):
            study.stop()
