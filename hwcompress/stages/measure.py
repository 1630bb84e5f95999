"""The measure stage: the bundle on the flow's board over SSH, the driver's numbers back (08-measure/measured.json)."""

from __future__ import annotations

from hwcompress.errors import HwcompressError
from hwcompress.fileio import write_json
from hwcompress.measure.remote import measure_bundle
from hwcompress.measure.ssh import Board
from hwcompress.stages.artifacts import BUNDLE_ARCHIVE, MEASURED
from hwcompress.stages.config_reads import whole
from hwcompress.stages.context import StageContext, StageOutput

LOG = "measure.log"


def measure_stage(ctx: StageContext) -> StageOutput:
    cfg = whole(ctx.flow.deploy)
    if cfg.target is None:
        raise HwcompressError("no board to measure on: set deploy.host in the flow or give --host USER@HOST[:PORT]")
    user, host, port = cfg.target
    archive = ctx.path(BUNDLE_ARCHIVE)
    ctx.log(f"measure: {archive.name} to {user}@{host}:{port}, driver run by {cfg.python}")
    with Board(user, host, port, cfg.key_file, cfg.known_hosts, cfg.timeout_s) as board:
        measured = measure_bundle(board, archive, ctx.flow.name, cfg, ctx.stage_dir / LOG)
    write_json(ctx.output(MEASURED), measured.to_json())
    return StageOutput(
        artifacts=(MEASURED,),
        summary={
            "measured.backend": measured.backend,
            "measured.accuracy": measured.accuracy,
            "measured.mismatches": measured.mismatches,
        },
    )
