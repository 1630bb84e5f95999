"""The stage runner: run directories, manifests, skip-when-unchanged, staging, resume, timings.

Each stage builds in ``<outputs.dir>/.incomplete/<flow>/<NN-stage>/`` and, once it has succeeded and its
manifest is written, that directory replaces ``<outputs.dir>/<flow>/<NN-stage>/``; the outputs it replaces
are kept in ``<flow>/previous/<NN-stage>/`` (one generation). A stage that fails or is interrupted leaves
the run directory as it was; rerun, it continues in its ``.incomplete`` directory (training resumes from its
checkpoint there).

A stage is skipped when its manifest still matches: the flow values it read (see ``config_reads``; a file a
value names counts by its contents) are unchanged, so is the code it ran (``keys.code_identity``: hwcompress'
modules and the libraries' versions), the earlier stages' outputs it read are unchanged, and its own outputs are
intact.

How to add a stage: write ``def my_stage(ctx: StageContext) -> StageOutput`` in its own module of this
package, declare its files in ``artifacts``, and add a ``Stage`` to ``table.STAGES``.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hwcompress.config import FlowConfig
from hwcompress.errors import HwcompressError
from hwcompress.fileio import replace_directory, restore_directory, sha256_file, sha256_json, write_json
from hwcompress.progress import Progress, no_progress
from hwcompress.stages.backend import backend_of
from hwcompress.stages.config_reads import ConfigReads, display_path, values_at
from hwcompress.stages.context import StageContext, StageOutput
from hwcompress.stages.keys import FileContents, code_identity
from hwcompress.stages.manifest import MANIFEST, Manifest
from hwcompress.tools import Environment
from hwcompress.train.loop import Reporter
from hwcompress.version import __version__

INCOMPLETE = ".incomplete"
PREVIOUS = "previous"
FLOW_FILE = "flow.json"


@dataclass(frozen=True)
class Stage:
    number: int
    name: str
    run: Callable[[StageContext], StageOutput]
    description: str = ""

    def code(self, flow: FlowConfig) -> dict[str, str]:
        """The code the stage runs for ``flow`` (``keys.code_identity`` of its module, or of its backend's body
        where it delegates); a change makes it run again."""
        stage = getattr(self.run, "stage", None)
        module = backend_of(flow).module(stage) if stage else self.run.__module__
        return code_identity(module or self.run.__module__)

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


def building_dir_of(flow: FlowConfig) -> Path:
    """Where unfinished stages of ``flow`` build (outside the run directory, on the same file system)."""
    return flow.outputs.dir / INCOMPLETE / flow.name


def run_stages(
    flow: FlowConfig,
    stages: Sequence[Stage],
    env: Environment | None = None,
    force: Sequence[str] = (),
    reporter: Reporter | None = None,
    progress: Progress = no_progress,
    log: Callable[[str], None] = lambda _msg: None,
    dirnames: dict[str, str] | None = None,
) -> list[StageResult]:
    """Run ``stages`` in order, skipping those whose manifest still matches; ``force`` reruns by name.

    ``dirnames`` maps every stage name that may be read from to its directory name (default: ``stages``').
    """
    names = {stage.name for stage in stages}
    unknown = sorted(set(force) - names)
    if unknown:
        raise HwcompressError(f"--force names unknown stage(s) {unknown}; stages here: {sorted(names)}")
    dirnames = dirnames or {stage.name: stage.dirname for stage in stages}
    env = env or Environment()
    files = FileContents(env.search)
    run_dir = run_dir_of(flow)
    results = []
    for stage in stages:
        final, previous = run_dir / stage.dirname, run_dir / PREVIOUS / stage.dirname
        building = building_dir_of(flow) / stage.dirname
        restore_directory(final, previous)
        old = Manifest.read(final)
        why = "forced" if stage.name in force else staleness(old, flow, final, stage.code(flow), files)
        if why is None:
            shutil.rmtree(building, ignore_errors=True)  # an abandoned attempt at what is now current
            results.append(StageResult(stage.name, False, old.seconds, old.summary))
            log(f"{stage.name}: up to date, skipped ({final})")
            continue
        replacing = final.exists()
        if replacing:
            log(f"{stage.name}: {why}; running it again")
        if stage.name in force:
            shutil.rmtree(building, ignore_errors=True)
        building.mkdir(parents=True, exist_ok=True)
        (building / MANIFEST).unlink(missing_ok=True)
        reads = ConfigReads(flow, files)
        ctx = StageContext(
            stage.name, reads, env, run_dir, building, dirnames, reporter, _labelled(progress, stage), log
        )
        started = datetime.now(UTC)
        began = time.perf_counter()
        output = stage.run(ctx)
        seconds = time.perf_counter() - began
        manifest = Manifest(
            stage=stage.name,
            hwcompress=__version__,
            config=reads.values(),
            config_hash=reads.digest(),
            code=stage.code(flow),
            inputs=ctx.inputs,
            outputs={artifact.name: sha256_file(ctx.output(artifact)) for artifact in output.artifacts},
            started=started.isoformat(timespec="seconds"),
            seconds=round(seconds, 3),
            summary=output.summary,
        )
        write_json(building / MANIFEST, manifest.to_json())
        replace_directory(building, final, previous)
        kept = [] if not replacing else sorted(p.name for p in previous.iterdir() if p.is_file() and p.name != MANIFEST)
        if kept:  # a stage that wrote nothing (a skipped pre-flight) has nothing to announce
            shown = ", ".join(kept[:4]) + (", ..." if len(kept) > 4 else "")
            log(f"{stage.name}: the previous {shown} set aside in {previous}")
        results.append(StageResult(stage.name, True, seconds, output.summary))
    write_json(run_dir / FLOW_FILE, flow.model_dump(mode="json"))
    return results


def staleness(
    manifest: Manifest | None, flow: FlowConfig, stage_dir: Path, code: dict[str, str], files: FileContents
) -> str | None:
    """Why the stage in ``stage_dir`` (with ``manifest``) must run again for ``flow``, the ``code`` it runs now and
    the files the flow names now; None when it is current."""
    if manifest is None:
        return "no manifest from this version of hwcompress" if stage_dir.exists() else "not run yet"
    if manifest.code != code:
        changed = sorted(set(manifest.code) ^ set(code) | {k for k in code if manifest.code.get(k) != code[k]})
        return f"its code changed ({', '.join(changed[:3])}{' ...' if len(changed) > 3 else ''})"
    try:
        now = values_at(flow, list(manifest.config), files)
    except AttributeError:
        return "the flow format changed"
    if sha256_json(now) != manifest.config_hash:
        changed = [change for path in now for change in _differences(path, manifest.config.get(path), now[path])]
        return f"{', '.join(changed[:3]) or 'a value it reads'}{' ...' if len(changed) > 3 else ''} changed"
    for upstream in sorted({key.split("/", 1)[0] for key in manifest.inputs}):
        current = Manifest.read(stage_dir.parent / upstream)
        expected = {key: digest for key, digest in manifest.inputs.items() if key.startswith(upstream + "/")}
        outputs = {f"{upstream}/{name}": digest for name, digest in (current.outputs if current else {}).items()}
        if any(outputs.get(key) != digest for key, digest in expected.items()):
            return f"its input from {upstream} changed"
    for name, digest in manifest.outputs.items():
        path = stage_dir / name
        if not path.is_file() or sha256_file(path) != digest:
            return f"its output {name} is missing or changed"
    return None


def _differences(path: str, old: Any, new: Any) -> list[str]:
    """``path old → new`` for each leaf that differs (mappings are compared key by key; a file by its contents)."""
    if isinstance(old, dict) and isinstance(new, dict) and "sha256" in new:
        return [] if old == new else [f"{display_path(path)} (its file {new.get('file')})"]
    if isinstance(old, str) and isinstance(new, str) and len(new) == 64 and old != new:
        return [f"{display_path(path)} (the file's contents)"]
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(set(old) | set(new))
        base = display_path(path)
        return [
            change
            for key in keys
            for change in _differences(f"{base}.{key}" if base else key, old.get(key), new.get(key))
        ]
    return [] if old == new else [f"{display_path(path) or 'flow'} {old} → {new}"]


def _labelled(progress: Progress, stage: Stage) -> Progress:
    """``progress`` with each task named after the stage it belongs to (``compile: FINN``)."""
    return lambda task, done, total, detail="": progress(f"{stage.name}: {task}", done, total, detail)
