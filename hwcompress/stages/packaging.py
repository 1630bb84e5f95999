"""What both backends' package stages share: the versions a bundle records, and publishing the bundle (and its
archive) to ``runs/<flow>/`` once it is complete."""

from __future__ import annotations

import shutil
from pathlib import Path

from hwcompress.bundling import archive
from hwcompress.fileio import replace_directory, write_bytes
from hwcompress.stages.artifacts import BUNDLE_ARCHIVE, BUNDLE_MANIFEST
from hwcompress.stages.context import StageContext, StageOutput
from hwcompress.tools import installed_versions
from hwcompress.version import __version__


def versions(packages: tuple[str, ...]) -> dict[str, str | None]:
    """hwcompress's version and each package's (None where it is not installed)."""
    return {"hwcompress": __version__, **installed_versions(packages)}


def finish_bundle(ctx: StageContext, bundle: Path, samples: int, missing: str | None) -> StageOutput:
    """Archive ``bundle`` (where the flow asks for it), then copy both to ``runs/<flow>/``, replacing the previous
    ones only now; the package stage's output (``missing``: why there is no bitfile, or None)."""
    if ctx.flow.package.archive:
        archive(bundle, ctx.output(BUNDLE_ARCHIVE))
    staging = ctx.run_dir / f".{bundle.name}.incomplete"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(bundle, staging)
    replace_directory(staging, ctx.run_dir / bundle.name)
    archive_path = ctx.stage_dir / BUNDLE_ARCHIVE.name
    if archive_path.exists():
        write_bytes(ctx.run_dir / archive_path.name, archive_path.read_bytes())
    summary = {"deploy": str(ctx.run_dir / bundle.name), "deploy.samples": samples}
    if missing:
        summary["deploy.bitfile"] = missing
    artifacts = (BUNDLE_MANIFEST, BUNDLE_ARCHIVE) if ctx.flow.package.archive else (BUNDLE_MANIFEST,)
    return StageOutput(artifacts=artifacts, summary=summary)
