"""Benchmark: the exploration's search quality and scale-out (BENCHMARKS.md, Exploration, d and e).

Usage:
  python bench/explore_quality.py search   FLOW --out DIR [--seeds 0 1 2] [--trials 24] [--samplers nsga2 random]
  python bench/explore_quality.py allocator FLOW --out DIR [--designs 4]
  python bench/explore_quality.py scaleout FLOW --out DIR [--trials 16]

``search`` runs the flow's exploration once per (sampler, seed) with the same trial budget and prints the
hypervolume of each front (validation error against LUT, both divided by the constraint's limit: 1 is the
whole box). ``allocator`` runs the allocator's designs alone, then takes the hypervolume the nsga2 searches of
``search`` had reached after the same wall time. ``scaleout`` runs the study with one worker, then with two
worker processes sharing a PostgreSQL server started for it on loopback, and reports finished trials per hour.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import yaml
from data_root import search_path
from optuna.trial import TrialState

from hwcompress.api import explore, run
from hwcompress.boards import get_board
from hwcompress.config import ExploreConfig, FlowConfig, load_flow
from hwcompress.explore.study import open_storage
from hwcompress.stages.exploring import JOURNAL, study_name
from hwcompress.tools import Environment


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phase", choices=("search", "allocator", "scaleout"))
    parser.add_argument("flow", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--samplers", nargs="+", default=["nsga2", "random"])
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--designs", type=int, default=4)
    args = parser.parse_args()
    flow = load_flow(args.flow)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.phase == "search":
        search(flow, args)
    elif args.phase == "allocator":
        allocator(flow, args)
    else:
        scaleout(flow, args)
    return 0


def _variant(flow: FlowConfig, name: str, **space) -> FlowConfig:
    """``flow`` renamed, with ``space`` changed in its explore section (validated, so enums stay enums)."""
    explore_config = ExploreConfig.model_validate({**flow.explore.model_dump(), **space})
    return flow.model_copy(update={"name": name, "explore": explore_config})


def _study(flow: FlowConfig, runs: Path, storage: str | None = None) -> optuna.Study:
    journal = runs / flow.name / "explore" / JOURNAL
    return optuna.load_study(study_name=study_name(flow), storage=open_storage(storage, journal))


def hypervolume(points: list[tuple[float, float]]) -> float:
    """Area dominated by ``points`` (both coordinates minimized, already divided by the reference) in [0, 1]^2."""
    area, best_y = 0.0, 1.0
    for x, y in sorted(p for p in points if p[0] < 1 and p[1] < 1):
        if y < best_y:
            area += (1 - x) * (best_y - y)
            best_y = y
    return area


def _points(flow: FlowConfig, trials) -> list[tuple[float, float]]:
    """(validation error, LUT) of the feasible trained trials, divided by the limits the exploration has."""
    space = flow.explore
    board = get_board(flow.board)
    lut_limit = min(space.lut_budget or float("inf"), board.resources.lut * flow.target.max_utilization.lut)
    error_limit = 1.0 - space.accuracy_floor
    points = []
    for trial in trials:
        accuracy = trial.user_attrs.get("val_accuracy")
        if accuracy is None or any(value > 0 for value in trial.constraints.values()):
            continue
        points.append(((1.0 - accuracy) / error_limit, trial.user_attrs["estimate"]["lut"] / lut_limit))
    return points


def search(flow: FlowConfig, args) -> None:
    results = {}
    for sampler in args.samplers:
        for seed in args.seeds:
            variant = _variant(flow, f"{flow.name}-{sampler}-s{seed}", sampler=sampler, seed=seed,
                               trials=args.trials, allocator=0)  # fmt: skip
            began = time.perf_counter()
            explore(variant, runs_dir=args.out, environment=Environment(search=search_path()))
            trials = _study(variant, args.out).get_trials(states=(TrialState.COMPLETE,))
            results[f"{sampler}-s{seed}"] = {
                "hypervolume": hypervolume(_points(variant, trials)),
                "seconds": time.perf_counter() - began,
            }
            print(sampler, seed, results[f"{sampler}-s{seed}"], flush=True)
    (args.out / "search.json").write_text(json.dumps(results, indent=1))
    for sampler in args.samplers:
        volumes = [results[f"{sampler}-s{seed}"]["hypervolume"] for seed in args.seeds]
        spread = statistics.stdev(volumes) if len(volumes) > 1 else 0.0
        print(f"{sampler}: hypervolume {statistics.mean(volumes):.4f} ± {spread:.4f} after {args.trials} trials")


def allocator(flow: FlowConfig, args) -> None:
    """The allocator's designs alone (its FINN estimates, probes and their trials, timed after the parent is
    trained) against what the nsga2 searches of ``search`` had reached after the same wall time."""
    variant = _variant(flow, f"{flow.name}-allocator", allocator=args.designs, trials=args.designs)
    env = Environment(search=search_path())
    run(variant, runs_dir=args.out, until="train", environment=env)
    began = time.perf_counter()
    explore(variant, runs_dir=args.out, environment=env)
    seconds = time.perf_counter() - began
    trials = _study(variant, args.out).get_trials(states=(TrialState.COMPLETE,))
    print(f"allocator: {len(trials)} designs in {seconds:.0f} s, hypervolume "
          f"{hypervolume(_points(variant, trials)):.4f}", flush=True)  # fmt: skip
    for seed in args.seeds:
        search_flow = _variant(flow, f"{flow.name}-nsga2-s{seed}", sampler="nsga2", seed=seed, trials=args.trials,
                               allocator=0)  # fmt: skip
        done = _study(search_flow, args.out).get_trials(states=(TrialState.COMPLETE,))
        first = min(t.datetime_start for t in done)
        for budget in (seconds, 2 * seconds, 4 * seconds):
            within = [t for t in done if (t.datetime_complete - first).total_seconds() <= budget]
            print(f"nsga2 seed {seed}: {len(within)} trials in {budget:.0f} s, hypervolume "
                  f"{hypervolume(_points(search_flow, within)):.4f}")  # fmt: skip


def scaleout(flow: FlowConfig, args) -> None:
    """Trials per hour with one worker and with two sharing a PostgreSQL server (same machine here)."""
    with _postgres(args.out / "pg") as url:
        for workers in (1, 2):
            variant = _variant(flow, f"{flow.name}-scale{workers}", trials=args.trials, allocator=0)
            threads = max(1, (os.cpu_count() or 1) // workers)
            variant = variant.model_copy(update={"train": variant.train.model_copy(update={"threads": threads})})
            path = args.out / f"{variant.name}.yaml"
            path.write_text(yaml.safe_dump(variant.model_dump(mode="json")))
            command = [str(Path(sys.executable).parent / "hwcompress"), "explore", str(path), "--storage", url]
            processes = [
                subprocess.Popen([*command, "--runs-dir", str(args.out / f"w{workers}-{i}")], stdout=subprocess.DEVNULL)
                for i in range(workers)
            ]
            codes = [process.wait() for process in processes]
            trials = _study(variant, args.out, url).get_trials()
            complete = [t for t in trials if t.state is TrialState.COMPLETE]
            span = (max(t.datetime_complete for t in complete) - min(t.datetime_start for t in trials)).total_seconds()
            states = {state.name: sum(t.state is state for t in trials) for state in TrialState}
            repeats = sum("same_as" in t.user_attrs for t in complete)
            print(f"{workers} worker(s): exit {codes}, {len(complete)} finished in {span:.0f} s = "
                  f"{3600 * len(complete) / span:.0f} trials/hour ({repeats} repeated designs); states {states}; "
                  f"{len({t.number for t in trials})} distinct trial numbers", flush=True)  # fmt: skip


class _postgres:
    """A PostgreSQL server in ``directory`` on a free loopback port (as the tests start one)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="bench-pg-"))
        self.initdb = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))[-1]
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def __enter__(self) -> str:
        if self.prefix:
            self.directory.chmod(0o755)
            shutil.chown(self.directory, "postgres")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        data, ctl = self.directory / "data", self.initdb.with_name("pg_ctl")
        subprocess.run([*self.prefix, str(self.initdb), "-D", str(data), "-A", "trust", "-U", "bench"], check=True,
                       capture_output=True)  # fmt: skip
        options = f"-p {port} -k {self.directory} -c listen_addresses=127.0.0.1"
        subprocess.run([*self.prefix, str(ctl), "-D", str(data), "-o", options, "-l", str(self.directory / "log"),
                        "-w", "start"], check=True, capture_output=True)  # fmt: skip
        self.stop = [*self.prefix, str(ctl), "-D", str(data), "-m", "fast", "stop"]
        return f"postgresql://bench@127.0.0.1:{port}/postgres"

    def __exit__(self, *_exc) -> None:
        subprocess.run(self.stop, capture_output=True)
        shutil.rmtree(self.directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
