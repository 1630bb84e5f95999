"""What a stage gets from the runner (a recording view of the flow, earlier stages' artifacts, where to write)
and what it gives back (its artifacts and headline numbers)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from hwcompress.errors import HwcompressError
from hwcompress.fileio import sha256_json
from hwcompress.progress import Progress, no_progress
from hwcompress.stages.artifacts import Artifact
from hwcompress.stages.config_reads import ConfigReads, ConfigView
from hwcompress.stages.manifest import Manifest
from hwcompress.tools import Environment
from hwcompress.train.loop import Reporter, SilentReporter

T = TypeVar("T")


@dataclass(frozen=True)
class StageOutput:
    """What a stage produced: its artifacts (files in its directory, hashed into the manifest) and numbers."""

    artifacts: tuple[Artifact, ...]
    summary: dict[str, Any] = field(default_factory=dict)


class StageContext:
    """A stage's window on the run. Everything it reads (flow values, artifacts) is recorded for its manifest.

    Attributes:
        flow: the flow, as a ``ConfigView`` that records each value read.
        env: dataset search path and tools.
        stage_dir: where this stage writes (a directory that replaces the previous outputs on success).
    """

    def __init__(
        self,
        stage: str,
        reads: ConfigReads,
        env: Environment,
        run_dir: Path,
        stage_dir: Path,
        dirnames: dict[str, str],
        reporter: Reporter | None = None,
        progress: Progress = no_progress,
        log: Callable[[str], None] = lambda _msg: None,
    ) -> None:
        self.stage = stage
        self.flow: ConfigView = reads.view()
        self.env = env
        self.run_dir = run_dir
        self.stage_dir = stage_dir
        self.reporter = reporter or SilentReporter()
        self.progress = progress
        self.log = log
        self.inputs: dict[str, str] = {}
        self._reads = reads
        self._dirnames = dirnames

    def read(self, artifact: Artifact[T]) -> T:
        """An earlier stage's artifact, loaded; that stage's outputs become this stage's inputs."""
        return artifact.load(self.path(artifact))

    def path(self, artifact: Artifact[Any]) -> Path:
        """Where an earlier stage's artifact is (recorded as an input like ``read``)."""
        if artifact.stage == self.stage:
            raise ValueError(f"stage '{self.stage}' reads its own artifact {artifact.name}; use output()")
        directory = self.run_dir / self._dirnames.get(artifact.stage, artifact.stage)
        manifest = Manifest.read(directory)
        if manifest is None or artifact.name not in manifest.outputs:
            raise HwcompressError(
                f"stage '{self.stage}' needs {artifact.name} from stage '{artifact.stage}', which has not run; "
                "run the whole flow (hwcompress run FLOW)"
            )
        self.inputs.update({f"{directory.name}/{name}": digest for name, digest in manifest.outputs.items()})
        return directory / artifact.name

    def output(self, artifact: Artifact[Any]) -> Path:
        """Where this stage writes one of its artifacts."""
        if artifact.stage != self.stage:
            raise ValueError(f"stage '{self.stage}' cannot write {artifact.stage}'s artifact {artifact.name}")
        return self.stage_dir / artifact.name

    def timings(self) -> dict[str, float]:
        """Seconds each stage read so far took, from their manifests."""
        seconds = {}
        for stage, dirname in self._dirnames.items():
            manifest = Manifest.read(self.run_dir / dirname)
            if manifest is not None and any(key.startswith(dirname + "/") for key in self.inputs):
                seconds[stage] = manifest.seconds
        return seconds

    def fingerprint(self, *extra: Any) -> str:
        """A hash of everything read so far (flow values, inputs) and ``extra``: a key for resumable work."""
        return sha256_json([self._reads.values(), self.inputs, list(extra)])
