"""What every deployment bundle holds, whichever backend built its design: a copy of the board-side driver, the
manifest (every file with its sha256 and role, and what the bundle is), and the .tar.gz the measure stage uploads.

The driver's files are copied from ``hwcompress/driver`` (which nothing on the host imports).
"""

from __future__ import annotations

import shutil
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hwcompress.fileio import sha256_file, write_json

DRIVER_SOURCE = Path(__file__).resolve().parent / "driver"
FORMAT = 1
MANIFEST = "manifest.json"


def start_bundle(directory: Path) -> None:
    """An empty ``directory`` holding the driver's files in ``driver/``."""
    if directory.exists():
        shutil.rmtree(directory)
    (directory / "driver").mkdir(parents=True)
    for source in sorted(DRIVER_SOURCE.glob("*.py")):
        shutil.copyfile(source, directory / "driver" / source.name)


def write_manifest(directory: Path, roles: dict[str, str], fields: dict[str, Any]) -> dict[str, Any]:
    """``manifest.json`` for the files now in ``directory``; ``fields`` (flow, board, clock, ...) go in as they
    are. Returns the manifest."""
    manifest = {
        "format": FORMAT,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        **fields,
        "roles": roles,
        "files": {
            str(path.relative_to(directory)): sha256_file(path)
            for path in sorted(directory.rglob("*"))
            if path.is_file()
        },
    }
    write_json(directory / MANIFEST, manifest)
    return manifest


def archive(directory: Path, path: Path) -> None:
    """``directory`` as a .tar.gz at ``path``, its files under one top-level directory of the same name."""
    with tarfile.open(path, "w:gz") as tar:
        tar.add(directory, arcname=directory.name)
