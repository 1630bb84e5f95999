"""The package stage: the deployment bundle of the verified design, in the stage directory and in
``runs/<flow>/deploy/`` (with ``deploy.tar.gz``)."""

from __future__ import annotations

from hwcompress.boards import clock_mhz, get_board
from hwcompress.config import BitfileMode
from hwcompress.package.bundle import write_bundle
from hwcompress.package.inputs import accelerator_inputs
from hwcompress.stages.artifacts import BUNDLE_MANIFEST
from hwcompress.stages.config_reads import whole
from hwcompress.stages.context import StageContext, StageOutput
from hwcompress.stages.finn.artifacts import DATAFLOW_OUTPUTS, DESIGN
from hwcompress.stages.networks import flow_data
from hwcompress.stages.packaging import finish_bundle, versions

PACKAGES = ("finn-plus", "qonnx", "brevitas", "torch", "numpy")


def package_stage(ctx: StageContext) -> StageOutput:
    design, golden = ctx.read(DESIGN), ctx.read(DATAFLOW_OUTPUTS)
    count = min(ctx.flow.package.samples or len(golden), len(golden))
    data = flow_data(ctx)
    board, target = get_board(ctx.flow.board), whole(ctx.flow.target)
    missing = None
    if not design.bitfile:
        never = ctx.flow.compile.bitfile is BitfileMode.NEVER
        missing = "compile.bitfile is 'never'" if never else f"no bitfile: {ctx.env.tools.missing_for_bitfile}"
    description = {
        "flow": ctx.flow.name,
        "board": board.name,
        "part": board.part,
        "estimate": {"kind": "estimate (FINN)", "fps": design.estimate.fps, "latency_us": design.estimate.latency_us},
        "bitfile_missing": missing,
        "versions": versions(PACKAGES),
    }
    bundle = ctx.output(BUNDLE_MANIFEST).parent
    write_bundle(
        bundle,
        design.directory,
        accelerator_inputs(design.directory, data.test_x[:count]),
        data.test_y[:count],
        golden[:count],
        description,
        clock_mhz(board, target),
    )
    return finish_bundle(ctx, bundle, count, missing)
