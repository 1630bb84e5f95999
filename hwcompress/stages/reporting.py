"""What every backend's report stage ends with: report.json and report.md in the stage's directory and, copied, at
the top of the run directory."""

from __future__ import annotations

from typing import Any

from hwcompress.fileio import write_bytes, write_json, write_text
from hwcompress.stages.artifacts import REPORT_JSON, REPORT_MD
from hwcompress.stages.context import StageContext, StageOutput


def publish_report(ctx: StageContext, report: dict[str, Any], markdown: str) -> StageOutput:
    write_json(ctx.output(REPORT_JSON), report)
    write_text(ctx.output(REPORT_MD), markdown)
    for artifact in (REPORT_JSON, REPORT_MD):
        write_bytes(ctx.run_dir / artifact.name, ctx.output(artifact).read_bytes())
    return StageOutput(artifacts=(REPORT_JSON, REPORT_MD), summary={"report": str(ctx.run_dir / REPORT_MD.name)})
