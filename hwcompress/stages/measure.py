"""The measure stage: the board checked, then the bundle on it over SSH, the driver's numbers back
(08-measure/measured.json)."""

from __future__ import annotations

import json
from pathlib import Path

from hwcompress.boards import get_board
from hwcompress.config import DeployConfig, FlowConfig
from hwcompress.errors import HwcompressError
from hwcompress.fileio import write_json
from hwcompress.measure.board_check import Check, Expected, check_board, require_ready
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
    expected = expected_deployment(ctx.flow, archive.parent / "deploy", archive)
    with Board(user, host, port, cfg.key_file, cfg.known_hosts, cfg.timeout_s) as board:
        checks = check_board(board, cfg, expected)
        for check in checks:
            ctx.log(f"measure: {check.line}")
        require_ready(checks, board.address)
        ctx.log(f"measure: {archive.name} to {user}@{host}:{port}, driver run by {cfg.python}")
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


def expected_deployment(flow: FlowConfig, bundle: Path | None = None, archive: Path | None = None) -> Expected:
    """What a deployment of ``flow`` needs of the board: its board file's PYNQ image and name, and, where the
    bundle exists, whether it holds a bitfile and the archive's size."""
    board = get_board(flow.board)
    manifest = bundle / "manifest.json" if bundle else None
    bitfile = bool(json.loads(manifest.read_text()).get("bitfile")) if manifest and manifest.is_file() else False
    size = archive.stat().st_size if archive and archive.is_file() else 0
    return Expected(image=board.image, board=board.finn_board, bitfile=bitfile, archive_bytes=size)


def flow_expectations(flow: FlowConfig) -> Expected:
    """What a deployment of ``flow`` needs of the board, with its bundle where it has been packaged."""
    run_dir = flow.outputs.dir / flow.name
    return expected_deployment(flow, run_dir / "deploy", run_dir / BUNDLE_ARCHIVE.name)


def board_checks(cfg: DeployConfig, expected: Expected) -> list[Check]:
    """The checks of the board ``cfg.host`` for a deployment that needs ``expected``.

    Raises:
        HwcompressError: no host, or the board cannot be reached (one line).
    """
    if cfg.target is None:
        raise HwcompressError("no board to check: give --host USER@HOST[:PORT] or set deploy.host in the flow")
    user, host, port = cfg.target
    with Board(user, host, port, cfg.key_file, cfg.known_hosts, min(cfg.timeout_s, 120)) as board:
        return check_board(board, cfg, expected)
