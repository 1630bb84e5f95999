"""hwcompress explore end to end on digits: the front and its flows, resume after SIGKILL, two workers sharing a
real PostgreSQL server, and a budget nothing meets."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

import hwcompress
from hwcompress.api import explore
from hwcompress.config import OutputsConfig, load_flow
from hwcompress.errors import ConfigError
from hwcompress.explore.study import finished, open_storage
from hwcompress.stages.exploring import JOURNAL, study_name
from hwcompress.stages.keys import FileContents

SPACE = {
    "weight_bits": [1, 2],
    "act_bits": [1, 2],
    "widths": [0.5, 1.0],
    "trials": 4,
    "population": 4,
    "finetune_epochs": 1,
}


@pytest.fixture
def explore_flow(tiny_flow, write_flow):
    """A digits MLP (32 units, w2a2, trained 4 epochs) with a small explore section."""

    def make(**space) -> Path:
        return write_flow(tiny_flow("ex", train={"epochs": 4}, explore={**SPACE, **space}))

    return make


def _study(flow_path: Path, runs: Path, storage: str | None = None) -> optuna.Study:
    flow = load_flow(flow_path).model_copy(update={"outputs": OutputsConfig(dir=runs)})
    journal = runs / flow.name / "explore" / JOURNAL
    return optuna.load_study(study_name=study_name(flow, FileContents()), storage=open_storage(storage, journal))


def test_a_small_exploration_writes_a_front_whose_flows_reproduce_their_designs(explore_flow, tmp_path):
    exploration = explore(explore_flow(allocator=2), runs_dir=tmp_path / "runs")
    directory = exploration.directory
    assert len(exploration.trials) == 4 and exploration.front
    assert exploration.trials[0].proposed_by == "allocator"  # its designs are the study's first trials
    assert (directory / "trials.csv").read_text().count("\n") == 5
    for picture in ("front.png", "bits.png"):
        assert (directory / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| trial | val. accuracy | LUT (estimate)" in (directory / "report.md").read_text()
    best = max(exploration.front, key=lambda row: row.val_accuracy)
    assert best.feasible and 0.5 < best.val_accuracy <= 1.0

    flow_file = exploration.front_flows()[0]
    assert flow_file == exploration.flows[best.number]
    run = hwcompress.run(flow_file)
    summary = {result.name: result.summary for result in run.stages}
    assert summary["preflight"]["estimate.lut"] == best.lut  # the same untrained design, the same estimate
    assert run.report["estimate"]["lut"] == pytest.approx(best.lut, rel=0.05)
    assert run.report["verify"]["mismatches"] == 0


def test_a_killed_exploration_continues_without_losing_or_repeating_a_trial(explore_flow, run_cli, cli_env,
                                                                             hwcompress_exe, tmp_path):  # fmt: skip
    flow = explore_flow(trials=5)
    runs = tmp_path / "runs"
    command = [str(hwcompress_exe), "explore", str(flow), "--runs-dir", str(runs)]
    process = subprocess.Popen(command, cwd=tmp_path, env=cli_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    journal = runs / "ex" / "explore" / JOURNAL
    deadline = time.monotonic() + 240
    before: dict[int, tuple] = {}
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.5)
        if not journal.exists():
            continue
        trials = _study(flow, runs).get_trials(deepcopy=False)
        done = {t.number: (t.params, t.values) for t in trials if t.state is TrialState.COMPLETE}
        if done and any(t.state is TrialState.RUNNING for t in trials):
            process.send_signal(signal.SIGKILL)
            process.wait()
            before = done
            cut = next(t for t in trials if t.state is TrialState.RUNNING)
            break
    assert before, f"the exploration never had a finished and a running trial: {process.stderr.read()}"

    rerun = run_cli("explore", str(flow), "--runs-dir", str(runs))
    assert rerun.returncode == 0, rerun.stderr
    assert f"trial(s) {cut.number} were cut off by an earlier run" in rerun.stdout
    trials = _study(flow, runs).get_trials(deepcopy=False)
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    assert len(finished(_study(flow, runs))) == 5  # five distinct designs; a redrawn one does not count
    assert all((t.params, t.values) == before[t.number] for t in complete if t.number in before)
    retry = [t for t in complete if t.user_attrs.get("retry_of") == cut.number]
    assert len(retry) == 1 and retry[0].params == cut.params
    assert {t.state for t in trials} == {TrialState.COMPLETE, TrialState.FAIL}


def _initdb() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1] if found else (Path(shutil.which("initdb")) if shutil.which("initdb") else None)


@pytest.fixture
def postgres():
    """A PostgreSQL server in a temporary directory on a free loopback port; yields a database URL."""
    initdb = _initdb()
    if initdb is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    pg_ctl = initdb.with_name("pg_ctl")
    directory = Path(tempfile.mkdtemp(prefix="hwcompress-pg-"))
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:  # PostgreSQL refuses to run as root
        directory.chmod(0o755)
        shutil.chown(directory, "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = directory / "data"
    subprocess.run([*as_postgres, str(initdb), "-D", str(data), "-A", "trust", "-U", "explore"], check=True,
                   capture_output=True)  # fmt: skip
    options = f"-p {port} -k {directory} -c listen_addresses=127.0.0.1"
    subprocess.run([*as_postgres, str(pg_ctl), "-D", str(data), "-o", options, "-l", str(directory / "log"), "-w",
                    "start"], check=True, capture_output=True)  # fmt: skip
    try:
        import psycopg

        with psycopg.connect(f"postgresql://explore@127.0.0.1:{port}/postgres", autocommit=True) as connection:
            connection.execute("CREATE DATABASE studies")
        yield f"postgresql://explore@127.0.0.1:{port}/studies"
    finally:
        subprocess.run([*as_postgres, str(pg_ctl), "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(directory, ignore_errors=True)


def test_two_workers_sharing_postgresql_record_every_trial_once(explore_flow, postgres, cli_env, hwcompress_exe,
                                                                tmp_path):  # fmt: skip
    flow = explore_flow(trials=6)
    command = [str(hwcompress_exe), "explore", str(flow), "--storage", postgres, "--runs-dir"]
    workers = [
        subprocess.Popen(
            [*command, str(tmp_path / name)],
            cwd=tmp_path,
            env=cli_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("machine-a", "machine-b")  # each its own run directory, as on two machines
    ]
    for worker in workers:
        assert worker.wait(timeout=400) == 0, worker.stderr.read()
    trials = _study(flow, tmp_path / "machine-a", postgres).get_trials(deepcopy=False)
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    designs = finished(_study(flow, tmp_path / "machine-b", postgres))
    assert 6 <= len(designs) <= 7  # a worker may finish the design it began as the other reached the count
    assert all(t.state is TrialState.COMPLETE for t in trials)
    assert len({t.number for t in trials}) == len(trials)
    assert len({t.user_attrs["worker"] for t in complete}) == 2


def test_a_budget_nothing_meets_ends_with_one_line_naming_the_smallest_design(explore_flow, run_cli, tmp_path):
    flow = explore_flow(trials=2, lut_budget=10)
    result = run_cli("explore", str(flow), "--runs-dir", str(tmp_path / "runs"))
    assert result.returncode == 1
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("error: no design of 2 met the constraints (lut_budget 10")
    assert "the smallest, design " in errors[0] and " LUT and " in errors[0]
    rows = (tmp_path / "runs" / "ex" / "explore" / "trials.csv").read_text().splitlines()[1:]
    assert len(rows) == 2 and all(row.split(",")[2] == "" for row in rows)  # never trained


def test_a_flow_without_an_explore_section_is_refused_before_anything_trains(tiny_flow, write_flow, tmp_path):
    with pytest.raises(ConfigError, match=r"^tiny: the flow has no explore section to search; add one"):
        explore(write_flow(tiny_flow()), runs_dir=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()
