"""Hardware backends: what the stages that depend on the hardware family do for a flow.

A backend is one small set of stage bodies: ``preflight`` (a cheap estimate of the untrained network, to fail
before training), ``export`` (lower the trained network to the backend's form), ``compile`` (build the design and
count its resources), ``verify`` (run the design on the test set, exactly), ``package`` (the deployment bundle)
and ``report``. The flow's model chooses the backend: table networks go to
``tables``, every other network to ``finn``. The stage table stays one table; its stages delegate here. Each
backend's bodies live in their own package (``stages/finn``, ``stages/tables``), which do not import each other.

How to add a backend: a package of stage bodies under ``stages/``, a ``Backend`` naming them in ``BACKENDS``, and
a rule in ``backend_name``; an independence contract in pyproject.toml keeps it apart from the others.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from hwcompress.config import Arch, FlowConfig
from hwcompress.stages.config_reads import ConfigView
from hwcompress.stages.context import StageContext, StageOutput

StageBody = Callable[[StageContext], StageOutput]
#: The stages whose bodies a backend gives.
DELEGATED = ("preflight", "export", "compile", "verify", "package", "report")


@dataclass(frozen=True)
class Backend:
    """A hardware family: the module of each stage body it gives (``module:function``; None: not available)."""

    name: str
    bodies: dict[str, str | None]

    def body(self, stage: str) -> StageBody | None:
        target = self.bodies.get(stage)
        if target is None:
            return None
        module, _, function = target.partition(":")
        return getattr(importlib.import_module(module), function)

    def module(self, stage: str) -> str | None:
        """The module of ``stage``'s body (its code identity is that module's)."""
        target = self.bodies.get(stage)
        return None if target is None else target.partition(":")[0]


BACKENDS = {
    "finn": Backend(
        "finn",
        {
            "preflight": "hwcompress.stages.finn.preflight:preflight_stage",
            "export": "hwcompress.stages.finn.export:export_stage",
            "compile": "hwcompress.stages.finn.compile:compile_stage",
            "verify": "hwcompress.stages.finn.verify:verify_stage",
            "package": "hwcompress.stages.finn.package:package_stage",
            "report": "hwcompress.stages.finn.report:report_stage",
        },
    ),
    "tables": Backend(
        "tables",
        {
            "preflight": "hwcompress.stages.tables.preflight:preflight_stage",
            "export": "hwcompress.stages.tables.export:export_stage",
            "compile": "hwcompress.stages.tables.compile:compile_stage",
            "verify": "hwcompress.stages.tables.verify:verify_stage",
            "package": "hwcompress.stages.tables.package:package_stage",
            "report": "hwcompress.stages.tables.report:report_stage",
        },
    ),
}


def backend_name(flow: FlowConfig | ConfigView) -> str:
    """``tables`` for a table network, ``finn`` for every other network."""
    return "tables" if flow.model.arch is Arch.TABLES else "finn"


def backend_of(flow: FlowConfig | ConfigView) -> Backend:
    return BACKENDS[backend_name(flow)]


def delegate(stage: str) -> StageBody:
    """The body of ``stage``: the flow's backend's (``run.stage`` names the stage, for the runner)."""

    def run(ctx: StageContext) -> StageOutput:
        body = backend_of(ctx.flow).body(stage)
        if body is None:
            raise ValueError(f"the {backend_name(ctx.flow)} backend has no {stage} stage")
        return body(ctx)

    run.__name__ = f"{stage}_stage"
    run.stage = stage  # type: ignore[attr-defined]
    return run
