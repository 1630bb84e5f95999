"""What an exploration leaves in ``runs/<flow>/explore/``: every trial (CSV), the Pareto front (CSV, report.md),
the plots, and one runnable flow per front design."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from hwcompress.config import FlowConfig
from hwcompress.errors import HwcompressError
from hwcompress.explore.front import TrialRow, front_markdown, fronts_by_fps, row_of, smallest, to_csv
from hwcompress.explore.plots import plot_bits, plot_front, plot_fronts
from hwcompress.explore.space import design_flow
from hwcompress.fileio import write_json, write_text
from hwcompress.stages.backend import backend_name
from hwcompress.stages.exploring import explore_dir, is_tables

TRIALS_CSV = "trials.csv"
FRONT_CSV = "front.csv"
FRONT_PNG = "front.png"
BITS_PNG = "bits.png"
FRONTS_PNG = "fronts.png"
SUMMARY_JSON = "exploration.json"
REPORT_MD = "report.md"
FLOWS = "flows"


@dataclass(frozen=True)
class Exploration:
    """The search's outcome: where it is written, every finished trial, the front, a flow file per front design."""

    directory: Path
    trials: list[TrialRow]
    front: list[TrialRow]
    flows: dict[int, Path]

    def front_flows(self) -> list[Path]:
        """The front's flow files, most accurate design first."""
        ranked = sorted(self.front, key=lambda row: -(row.val_accuracy or 0.0))
        return [self.flows[row.number] for row in ranked]


def write_results(flow: FlowConfig, study) -> Exploration:
    """Write the trials, the front, its plots and flows; the front is Optuna's (feasible, non-dominated), and
    with several target fps, each target's own front too.

    Raises:
        HwcompressError: no finished design meets the constraints (everything else is written first); the
            line names the smallest design found.
    """
    from hwcompress.explore.study import finished

    directory = explore_dir(flow)
    rows = sorted((row_of(trial) for trial in finished(study)), key=lambda row: row.number)
    distinct = {row.number for row in rows}  # a redrawn design has the same values as its first trial: drop it
    best = study.best_trials if any(row.feasible and row.trained for row in rows) else []
    front = [row_of(trial) for trial in best if trial.number in distinct]
    by_fps = fronts_by_fps(rows) if len(flow.explore.fps) > 1 else {}
    write_text(directory / TRIALS_CSV, to_csv(rows))
    write_text(directory / FRONT_CSV, to_csv(sorted(front, key=lambda row: row.lut)))
    runnable = {row.number: row for row in [*front, *(row for rows_at in by_fps.values() for row in rows_at)]}
    flows = {number: _write_flow(flow, row, directory / FLOWS) for number, row in runnable.items()}
    title = f"{flow.name} on {flow.board}: {len(rows)} designs"
    plot_front(rows, front, directory / FRONT_PNG, title, by_fps, _method(flow).estimate)
    if not is_tables(flow):
        plot_bits(front, directory / BITS_PNG, f"{flow.name}: the front's bits per layer")
    relative = {number: str(path.relative_to(directory)) for number, path in flows.items()}
    write_json(directory / SUMMARY_JSON, _summary(flow))
    joint = _joint_front(flow, directory)
    write_text(directory / REPORT_MD, _report(flow, rows, front, by_fps, relative, joint))
    if not front:
        raise HwcompressError(_nothing_fits(flow, rows))
    return Exploration(directory, rows, front, flows)


@dataclass(frozen=True)
class Method:
    """How the exploration of a flow counted and ranked its designs, in words."""

    estimate: str  # e.g. "FINN estimate"
    training: str  # e.g. "a 1-epoch fine-tune from the parent"


def _method(flow: FlowConfig) -> Method:
    space = flow.explore
    if is_tables(flow):
        return Method("cost-model estimate", f"{space.tables.epochs} epoch(s) of training from scratch")
    return Method("FINN estimate", f"a {space.finetune_epochs}-epoch fine-tune from the parent")


def _summary(flow: FlowConfig) -> dict:
    """What another exploration needs to draw this one's front beside its own."""
    return {"flow": flow.name, "dataset": flow.data.name, "board": flow.board, "backend": backend_name(flow),
            "estimate": _method(flow).estimate}  # fmt: skip


def _joint_front(flow: FlowConfig, directory: Path) -> list[str]:
    """Draw every exploration's front on the same dataset and board (this one's and those beside it under the runs
    directory) in one plot, when they span more than one backend; the flows drawn."""
    fronts = {}
    for summary_path in sorted(directory.parent.parent.glob(f"*/{directory.name}/{SUMMARY_JSON}")):
        summary = json.loads(summary_path.read_text())
        if (summary["dataset"], summary["board"]) == (flow.data.name, flow.board):
            with (summary_path.parent / FRONT_CSV).open() as handle:
                points = [(float(row["lut"]), float(row["val_accuracy"])) for row in csv.DictReader(handle)]
            label = f"{summary['flow']} ({summary['backend']}; LUT {summary['estimate']})"
            fronts[label] = (summary["backend"], points)
    if len({backend for backend, _ in fronts.values()}) < 2:
        return []
    plot_fronts(fronts, directory / FRONTS_PNG, f"{flow.data.name} on {flow.board}: every exploration's front")
    return list(fronts)


def _write_flow(flow: FlowConfig, row: TrialRow, directory: Path) -> Path:
    """A flow file that trains and compiles ``row``'s design from scratch with the flow's training settings."""
    child = design_flow(flow, row.design, f"{flow.name}-d{row.number}")
    method = _method(flow)
    header = (
        f"# Design {row.number} of the exploration of {flow.name}: {row.design.describe()}.\n"
        f"# {method.estimate} {row.lut:,.0f} LUT, {row.bram18:,.0f} BRAM18, {row.fps:,.0f} fps; validation "
        f"accuracy {row.val_accuracy:.2%} after {method.training}.\n"
        f"# Run it with: hwcompress run {directory / child.name}.yaml\n"
    )
    path = directory / f"{child.name}.yaml"
    body = yaml.safe_dump(_flow_dict(child), sort_keys=False)
    write_text(path, header + body)
    return path


def _flow_dict(flow: FlowConfig) -> dict:
    """``flow`` as YAML-ready data: what differs from the defaults, plus the dataset, architecture, bits, board
    and target that a reader looks for first."""
    data = flow.model_dump(mode="json", exclude_defaults=True)
    full = flow.model_dump(mode="json")
    data["data"] = {"name": full["data"]["name"], **data.get("data", {})}
    data["model"] = {"arch": full["model"]["arch"], **data.get("model", {})}
    data["board"] = full["board"]
    data["target"] = {"fps": full["target"]["fps"], **data.get("target", {})}
    order = ("name", "description", "data", "model", "quant", "train", "board", "target")
    return {key: data[key] for key in order if key in data} | {k: v for k, v in data.items() if k not in order}


def _report(flow: FlowConfig, rows: list[TrialRow], front: list[TrialRow], by_fps: dict[float, list[TrialRow]],
            flows: dict[int, str], joint: list[str]) -> str:  # fmt: skip
    space, method = flow.explore, _method(flow)
    trained = sum(row.trained for row in rows)
    feasible = sum(row.feasible and row.trained for row in rows)
    lines = [
        f"# Exploration of {flow.name} on {flow.board}",
        "",
        f"{len(rows)} designs counted ({method.estimate}), {trained} ranked after {method.training}, {feasible} "
        f"meet every constraint; sampler {space.sampler}, objectives {', '.join(space.objectives)}.",
        "",
        f"LUT, BRAM18 and fps are each a {method.estimate}; accuracy is on the validation split after "
        f"{method.training}. Each flow below trains its design from scratch (`hwcompress run FLOW`) and verifies "
        "it bit-exactly.",
        "",
        "## Pareto front",
        "",
        front_markdown(front, flows) if front else "No design met the constraints.\n",
        *_fronts_by_fps_markdown(by_fps, flows),
        f"![accuracy against LUT]({FRONT_PNG})",
        "",
        *([] if is_tables(flow) else [f"![bits per layer]({BITS_PNG})", ""]),
        *_joint_markdown(joint),
        f"Every trial: `{TRIALS_CSV}`; the front: `{FRONT_CSV}`.",
        "",
    ]
    return "\n".join(lines)


def _joint_markdown(joint: list[str]) -> list[str]:
    if not joint:
        return []
    return [
        "## Every backend's front on this dataset and board",
        "",
        f"The fronts of {', '.join(joint)}. Their LUT come from different counts (each named); validation "
        "accuracy after each exploration's own short training.",
        "",
        f"![every exploration's front]({FRONTS_PNG})",
        "",
    ]


def _fronts_by_fps_markdown(by_fps: dict[float, list[TrialRow]], flows: dict[int, str]) -> list[str]:
    """One front per target fps (accuracy against LUT and BRAM18 among the designs folded for it)."""
    lines = ["## The front at each target fps", ""] if by_fps else []
    for fps, rows in by_fps.items():
        lines += [f"### {fps:,.0f} fps", ""]
        lines += [front_markdown(rows, flows) if rows else "No design folded for this target met the constraints.\n"]
    return lines


def _nothing_fits(flow: FlowConfig, rows: list[TrialRow]) -> str:
    space = flow.explore
    least = smallest(rows)
    if least is None:
        return "the exploration finished no trial; rerun it with more trials or time"
    limits = [f"lut_budget {space.lut_budget:,}" if space.lut_budget else "",
              f"bram18_budget {space.bram18_budget:,}" if space.bram18_budget is not None else "",
              f"accuracy_floor {space.accuracy_floor:.2%}" if space.accuracy_floor else ""]  # fmt: skip
    limits_text = ", ".join(limit for limit in limits if limit) or "the board's ceilings"
    return (
        f"no design of {len(rows)} met the constraints ({limits_text}, fps, {flow.board}); the smallest, design "
        f"{least.number} ({least.design.describe()}), needs {least.lut:,.0f} LUT and {least.bram18:,.0f} BRAM18 at "
        f"{least.fps:,.0f} fps ({_method(flow).estimate}); widen the budgets, lower the fps or try fewer bits, "
        "narrower widths or fewer nodes"
    )
