"""The stage runner: run directory, manifests, skip-when-unchanged, resume, timings.

Each stage writes into ``<outputs.dir>/<flow>/<NN-stage>/`` and, last of all, a ``manifest.json`` with
the hash of the config sections it reads, the hashes of its inputs (the outputs of the stages it needs)
and of its own outputs. A stage whose manifest still matches is skipped; one that stopped half-way has
no manifest and runs again (the train stage then resumes from its checkpoint).

How to add a stage: write ``def my_stage(ctx: StageContext) -> StageOutput`` in its sub-package and add
a ``Stage`` to ``hwcompress.pipeline.STAGES`` with the config sections it reads and the stages it needs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hwcompress import __version__
from hwcompress.config import FlowConfig
from hwcompress.data import SearchPath
from hwcompress.errors import HwcompressError
from hwcompress.fileio import sha256_file, sha256_json, write_json
from hwcompress.tools import Toolchain
from hwcompress.train.loop import Reporter, SilentReporter

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Environment:
    """What the outside world provides: where datasets are and which tools exist (built by the CLI)."""

    search: SearchPath = field(default_factory=SearchPath)
    tools: Toolchain = field(default_factory=Toolchain)


@dataclass(frozen=True)
class StageOutput:
    """What a stage produced: files in its directory (hashed into the manifest) and headline numbers."""

    files: tuple[str, ...]
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StageContext:
    flow: FlowConfig
    env: Environment
    run_dir: Path
    stage_dir: Path
    config_hash: str
    reporter: Reporter
    log: Callable[[str], None]

    def stage_dir_of(self, stage: str) -> Path:
        """The directory of an earlier stage of the same run."""
        from hwcompress.pipeline import stage_named

        return self.run_dir / stage_named(stage).dirname


@dataclass(frozen=True)
class Stage:
    number: int
    name: str
    run: Callable[[StageContext], StageOutput]
    config_sections: tuple[str, ...]
    needs: tuple[str, ...] = ()
    description: str = ""

    @property
    def dirname(self) -> str:
        return f"{self.number:02d}-{self.name}"


@dataclass(frozen=True)
class StageResult:
    name: str
    ran: bool
    seconds: float
    summary: dict[str, Any]


def run_dir_of(flow: FlowConfig) -> Path:
    return flow.outputs.dir / flow.name


def config_hash(flow: FlowConfig, sections: Sequence[str]) -> str:
    """Hash of the config sections a stage reads: changing any other section does not rerun it."""
    return sha256_json(flow.model_dump(mode="json", include=set(sections)))


def read_manifest(stage_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((stage_dir / MANIFEST).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _inputs_of(stage: Stage, run_dir: Path, stages: dict[str, Stage]) -> dict[str, str]:
    inputs: dict[str, str] = {}
    for name in stage.needs:
        upstream = stages[name]
        manifest = read_manifest(run_dir / upstream.dirname)
        if manifest is None:
            raise HwcompressError(f"stage '{stage.name}' needs '{name}', which has not run; run the flow")
        inputs.update({f"{upstream.dirname}/{f}": h for f, h in manifest["outputs"].items()})
    return inputs


def _is_current(stage_dir: Path, cfg_hash: str, inputs: dict[str, str]) -> dict[str, Any] | None:
    """The stage's manifest if it still describes its config, inputs and outputs; else None."""
    manifest = read_manifest(stage_dir)
    if manifest is None or manifest.get("config_hash") != cfg_hash or manifest.get("inputs") != inputs:
        return None
    for name, digest in manifest["outputs"].items():
        path = stage_dir / name
        if not path.is_file() or sha256_file(path) != digest:
            return None
    return manifest


def run_stages(
    flow: FlowConfig,
    stages: Sequence[Stage],
    env: Environment,
    force: Sequence[str] = (),
    reporter: Reporter | None = None,
    log: Callable[[str], None] = lambda _msg: None,
) -> list[StageResult]:
    """Run ``stages`` in order, skipping those whose manifest still matches; ``force`` reruns by name."""
    by_name = {stage.name: stage for stage in stages}
    unknown = sorted(set(force) - set(by_name))
    if unknown:
        raise HwcompressError(f"--force names unknown stage(s) {unknown}; stages here: {list(by_name)}")
    run_dir = run_dir_of(flow)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / "flow.json", flow.model_dump(mode="json"))
    results = []
    for stage in stages:
        stage_dir = run_dir / stage.dirname
        cfg_hash = config_hash(flow, stage.config_sections)
        inputs = _inputs_of(stage, run_dir, by_name)
        manifest = None if stage.name in force else _is_current(stage_dir, cfg_hash, inputs)
        if manifest is not None:
            results.append(StageResult(stage.name, False, manifest["seconds"], manifest["summary"]))
            log(f"{stage.name}: up to date, skipped ({stage_dir})")
            continue
        if stage.name in force:
            for stale in stage_dir.glob("*"):
                if stale.is_file():
                    stale.unlink()
        (stage_dir / MANIFEST).unlink(missing_ok=True)
        stage_dir.mkdir(parents=True, exist_ok=True)
        ctx = StageContext(flow, env, run_dir, stage_dir, cfg_hash, reporter or SilentReporter(), log)
        started = datetime.now(UTC)
        began = time.perf_counter()
        output = stage.run(ctx)
        seconds = time.perf_counter() - began
        write_json(
            stage_dir / MANIFEST,
            {
                "stage": stage.name,
                "hwcompress": __version__,
                "config_hash": cfg_hash,
                "inputs": inputs,
                "outputs": {name: sha256_file(stage_dir / name) for name in output.files},
                "started": started.isoformat(timespec="seconds"),
                "seconds": round(seconds, 3),
                "summary": output.summary,
            },
        )
        results.append(StageResult(stage.name, True, seconds, output.summary))
    return results
