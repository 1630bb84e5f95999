"""The report stage: report.json and report.md from every earlier stage's results."""

from __future__ import annotations

import json
import shutil

from hwcompress.boards import get_board
from hwcompress.compile.accelerator import ESTIMATE_FILE
from hwcompress.export.stage import CHECK_FILE
from hwcompress.fileio import write_json, write_text
from hwcompress.flow import StageContext, StageOutput, read_manifest
from hwcompress.hw.cost import layer_costs
from hwcompress.hw.estimate import Estimate
from hwcompress.prune.stage import PRUNE_FILE, load_final_model
from hwcompress.report.build import ReportInputs, build_report
from hwcompress.report.markdown import render_markdown
from hwcompress.train.stage import INFO_FILE
from hwcompress.verify.stage import RESULT_FILE

REPORT_JSON = "report.json"
REPORT_MD = "report.md"


def report_stage(ctx: StageContext) -> StageOutput:
    from hwcompress.pipeline import STAGES

    def read(stage: str, name: str) -> dict:
        return json.loads((ctx.stage_dir_of(stage) / name).read_text())

    train = read("train", INFO_FILE)
    pruned = read("prune", PRUNE_FILE)
    compiled = read("compile", ESTIMATE_FILE)
    model = load_final_model(ctx)
    timings = {}
    for stage in STAGES:
        manifest = read_manifest(ctx.run_dir / stage.dirname)
        if manifest is not None and stage.name != "report":
            timings[stage.name] = manifest["seconds"]
    report = build_report(
        ReportInputs(
            name=ctx.flow.name,
            board=get_board(ctx.flow.board),
            estimate=Estimate.from_json(compiled["estimate"]),
            ceiling=ctx.flow.target.max_utilization,
            verify=read("verify", RESULT_FILE),
            finn_verify=compiled["finn_verify"],
            dataset=train["dataset"],
            accuracy_torch=pruned["accuracy"]["test"],
            accuracy_val=train["accuracy"]["val"],
            export=read("export", CHECK_FILE),
            costs=layer_costs(model, tuple(train["input_shape"])),
            prune=pruned,
            timings=timings,
        )
    )
    write_json(ctx.stage_dir / REPORT_JSON, report)
    write_text(ctx.stage_dir / REPORT_MD, render_markdown(report))
    for name in (REPORT_JSON, REPORT_MD):
        shutil.copyfile(ctx.stage_dir / name, ctx.run_dir / name)
    return StageOutput(files=(REPORT_JSON, REPORT_MD), summary={"report": str(ctx.run_dir / REPORT_MD)})
