"""A stage's manifest: what it read (flow values, earlier stages' outputs), what it wrote, when, how long.

Written last, into the stage's directory: a directory with a manifest is a finished stage.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Manifest:
    """``config``: the flow values the stage read, by dotted path (a file by its contents); ``inputs``/``outputs``:
    file -> sha256; ``code``: the hwcompress modules it ran and the libraries' versions (``keys.code_identity``)."""

    stage: str
    hwcompress: str
    config: dict[str, Any]
    config_hash: str
    inputs: dict[str, str]
    outputs: dict[str, str]
    started: str
    seconds: float
    summary: dict[str, Any] = field(default_factory=dict)
    code: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        return cls(**data)

    @classmethod
    def read(cls, stage_dir: Path) -> Manifest | None:
        """The manifest in ``stage_dir``; None when missing, unreadable or from an older format."""
        try:
            return cls.from_json(json.loads((stage_dir / MANIFEST).read_text()))
        except (OSError, ValueError, TypeError):
            return None
