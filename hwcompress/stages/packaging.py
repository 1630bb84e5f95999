"""What both backends' package stages share: the versions a bundle records, and publishing the bundle (and its
archive) to ``runs/<flow>/`` once it is complete."""

from __future__ import annotations

import importlib.metadata
import shutil
from pathlib import Path

from hwcompress.bundling import archive
from hwcompress.fileio import replace_directory, write_bytes
from hwcompress.stages.artifacts import BUNDLE_ARCHIVE
from hwcompress.stages.context import StageContext
from hwcompress.version import __version__


def versions(packages: tuple[str, ...]) -> dict[str, str | None]:
    """hwcompress's version and each package's (None where it is not installed)."""
    found: dict[str, str | None] = {"hwcompress": __version__}
    for name in packages:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def finish_bundle(ctx: StageContext, bundle: Path) -> None:
    """Archive ``bundle`` (where the flow asks for it), then copy both to ``runs/<flow>/``, replacing the previous
    ones only now."""
    if ctx.flow.package.archive:
        archive(bundle, ctx.output(BUNDLE_ARCHIVE))
    staging = ctx.run_dir / f".{bundle.name}.incomplete"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(bundle, staging)
    replace_directory(staging, ctx.run_dir / bundle.name)
    archive_path = ctx.stage_dir / BUNDLE_ARCHIVE.name
    if archive_path.exists():
        write_bytes(ctx.run_dir / archive_path.name, archive_path.read_bytes())
