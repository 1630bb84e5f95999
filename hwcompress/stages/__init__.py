"""The stages layer: the runner, the stage table and one small glue module per stage.

Glue reads the flow (through a recording view) and earlier stages' artifacts, calls the domain packages and
writes its own artifacts. This is the only layer that knows about run directories.
"""

from hwcompress.stages.context import StageContext, StageOutput
from hwcompress.stages.runner import StageResult, building_dir_of, run_dir_of, run_stages
from hwcompress.stages.table import DIRNAMES, STAGES, plan, stage_named

__all__ = [
    "DIRNAMES",
    "STAGES",
    "StageContext",
    "StageOutput",
    "StageResult",
    "building_dir_of",
    "plan",
    "run_dir_of",
    "run_stages",
    "stage_named",
]
