"""The public Python API: everything the ``hwcompress`` command does, with the same checks and errors.

Example:
    >>> import hwcompress
    >>> run = hwcompress.run("flows/quickstart.yaml")
    >>> run.report["verify"]["mismatches"]
    0
    >>> report = hwcompress.compile_model("my_model.onnx", board="pynq-z2", target_fps=10_000,
    ...                                   dataset="mnist", input_scale=1 / 255)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hwcompress.boards import get_board
from hwcompress.config import (
    CompileConfig,
    DataConfig,
    DeployConfig,
    FlowConfig,
    OutputsConfig,
    TargetConfig,
    load_flow,
    split_host,
)
from hwcompress.errors import ConfigError, HwcompressError
from hwcompress.fileio import replace_directory, save_onnx, write_json, write_text
from hwcompress.progress import Progress, no_progress
from hwcompress.report.format import count

if TYPE_CHECKING:
    from hwcompress.measure.board_check import Check
    from hwcompress.stages import StageResult
    from hwcompress.stages.explore_results import Exploration
    from hwcompress.tools import Environment
    from hwcompress.train.loop import Reporter


@dataclass(frozen=True)
class Run:
    """What ``run`` did: each stage's result, where the run lives, and report.json when the report stage ran."""

    flow: FlowConfig
    run_dir: Path
    stages: list[StageResult]
    report: dict[str, Any] | None


class VerificationError(HwcompressError):
    """The accelerator computes something else than the model on some inputs.

    Everything was written first: ``report`` is report.json, and ``run`` what ``run`` would have returned.
    """

    def __init__(self, message: str, report: dict[str, Any] | None, run: Run | None = None) -> None:
        super().__init__(message)
        self.report = report
        self.run = run


def load(flow: str | Path | FlowConfig, runs_dir: str | Path | None = None) -> FlowConfig:
    """A flow, read and checked before anything runs: its board exists, its per-layer bits name real layers.

    Raises:
        ConfigError: one line naming the file and the problem.
    """
    from hwcompress.models import layer_plan

    config = flow if isinstance(flow, FlowConfig) else load_flow(flow)
    try:
        get_board(config.board)
        layer_plan(config.model, config.quant)
    except ConfigError as err:
        where = f"{flow}: " if not isinstance(flow, FlowConfig) else ""
        raise ConfigError(f"{where}{err}") from None
    if runs_dir is not None:
        config = config.model_copy(update={"outputs": OutputsConfig(dir=Path(runs_dir))})
    return config


def run(
    flow: str | Path | FlowConfig,
    *,
    runs_dir: str | Path | None = None,
    until: str | None = None,
    only: Sequence[str] | None = None,
    force: Sequence[str] = (),
    environment: Environment | None = None,
    reporter: Reporter | None = None,
    progress: Progress = no_progress,
    log: Callable[[str], None] = lambda _msg: None,
    allow_mismatches: bool = False,
) -> Run:
    """Run the stages of ``flow`` (all, up to ``until``, or exactly ``only``), skipping those that are current.

    Raises:
        VerificationError: the accelerator's outputs differ from the model's (unless ``allow_mismatches``);
            everything, the report included, is written first.
        HwcompressError: a stage failed; the run directory keeps its previous outputs.
    """
    from hwcompress.stages import DIRNAMES, plan, run_dir_of, run_stages
    from hwcompress.stages.artifacts import REPORT_JSON, REPORT_MD
    from hwcompress.tools import Environment

    config = load(flow, runs_dir)
    stages = plan(config, until, only)
    log(f"{config.name}: {' → '.join(s.name for s in stages)}  (run dir {run_dir_of(config)})")
    results = run_stages(
        config,
        stages,
        environment or Environment(),
        force=force,
        reporter=reporter,
        progress=progress,
        log=log,
        dirnames=DIRNAMES,
    )
    run_dir = run_dir_of(config)
    ran_report = any(result.name == "report" for result in results)
    report = REPORT_JSON.load(run_dir / REPORT_JSON.name) if ran_report else None
    outcome = Run(config, run_dir, results, report)
    mismatches = next((r.summary.get("verify.mismatches") for r in results if r.name == "verify"), 0)
    if mismatches and not allow_mismatches:
        samples = next(r.summary["verify.samples"] for r in results if r.name == "verify")
        message = _mismatch_message(mismatches, samples, report, run_dir / REPORT_MD.name)
        raise VerificationError(message, report, outcome)
    return outcome


def measure(
    flow: str | Path | FlowConfig,
    *,
    host: str | None = None,
    runs_dir: str | Path | None = None,
    force: Sequence[str] = (),
    **options: Any,
) -> Run:
    """``run`` with the measure stage forced: the bundle on the board ``host`` (``user@host[:port]``; default the
    flow's ``deploy.host``), its numbers in ``run.report["measured"]``.

    Raises:
        HwcompressError: no board given, or the board cannot be reached or fails (one line).
    """
    config = _on_host(load(flow, runs_dir), host)
    if not config.deploy.host:
        raise HwcompressError("no board to measure on: set deploy.host in the flow or give --host USER@HOST[:PORT]")
    return run(config, force=("measure", *force), **options)


def check_board(flow: str | Path | FlowConfig | None = None, *, host: str | None = None,
                runs_dir: str | Path | None = None) -> list[Check]:  # fmt: skip
    """The checks ``measure`` runs before a deployment, on ``host`` (default: the flow's ``deploy.host``) with the
    flow's deploy settings and board (without a flow: the defaults, and no image to compare with).

    Raises:
        HwcompressError: no host, or the board cannot be reached (one line).
    """
    from hwcompress.measure.board_check import Expected
    from hwcompress.stages.measure import board_checks, flow_expectations

    if flow is None:
        return board_checks(_on_host_deploy(DeployConfig(), host), Expected())
    config = _on_host(load(flow, runs_dir), host)
    return board_checks(config.deploy, flow_expectations(config))


def _on_host(config: FlowConfig, host: str | None) -> FlowConfig:
    """``config`` with ``deploy.host`` set to ``host`` (where given)."""
    return config.model_copy(update={"deploy": _on_host_deploy(config.deploy, host)}) if host else config


def _on_host_deploy(deploy: DeployConfig, host: str | None) -> DeployConfig:
    """``deploy`` with its host set to ``host`` (where given).

    Raises:
        ConfigError: ``host`` is not USER@HOST[:PORT] (one line).
    """
    if not host:
        return deploy
    try:
        split_host(host)
    except ValueError as err:
        raise ConfigError(f"--host '{host}': {err}") from None
    return deploy.model_copy(update={"host": host})


def explore(
    flow: str | Path | FlowConfig,
    *,
    runs_dir: str | Path | None = None,
    storage: str | None = None,
    workers: int = 1,
    trials: int | None = None,
    environment: Environment | None = None,
    reporter: Reporter | None = None,
    progress: Progress = no_progress,
    log: Callable[[str], None] = lambda _msg: None,
) -> Exploration:
    """Search ``flow``'s ``explore`` space for the designs that trade accuracy against FINN's LUT and BRAM18 best.

    Trains the flow's network first (the parent, a train stage like ``run``'s; not for a table network, whose
    candidates train from scratch), then runs the Optuna study in
    ``workers`` processes sharing ``storage`` (default: a journal file in ``runs/<flow>/explore/``; a
    ``postgresql://`` URL shares the study between machines); a rerun continues it. Writes the front, its plots
    and a flow per front design, then takes the ``explore.finalize`` most accurate of them through ``run``.

    Raises:
        ConfigError: the flow has no ``explore`` section, or one its network cannot take.
        HwcompressError: no design met the constraints (the line names the smallest one found).
    """
    from hwcompress.explore.space import check_space
    from hwcompress.stages.allocating import queue_allocator_designs
    from hwcompress.stages.explore_results import write_results
    from hwcompress.stages.exploring import explore_study, is_tables
    from hwcompress.tools import Environment

    config = load(flow, runs_dir)
    if config.explore is None:
        raise ConfigError(f"{config.name}: the flow has no explore section to search; add one (README, Explore)")
    if trials is not None:
        config = config.model_copy(update={"explore": config.explore.model_copy(update={"trials": trials})})
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    check_space(config, config.explore)
    env = environment or Environment()
    if is_tables(config):
        log(f"{config.name}: {config.explore.trials} table networks, each trained from scratch")
    else:
        log(f"{config.name}: the parent network first (train stage), then {config.explore.trials} trials")
        run(config, until="train", environment=env, reporter=reporter, progress=progress, log=log)
    queue_allocator_designs(config, env, storage, log)
    study = explore_study(config, env, storage, workers, progress, log)
    exploration = write_results(config, study)
    for path in exploration.front_flows()[: config.explore.finalize]:
        log(f"explore: the full flow of {path.name}")
        run(path, runs_dir=runs_dir, environment=env, reporter=reporter, progress=progress, log=log)
    return exploration


def compile_model(
    model: str | Path | Any,
    *,
    board: str = "pynq-z2",
    target_fps: float = 100_000,
    clock_mhz: float | None = None,
    inputs: np.ndarray | str | Path | None = None,
    expected: np.ndarray | str | Path | None = None,
    labels: np.ndarray | str | Path | None = None,
    dataset: str | None = None,
    data_path: str | Path | None = None,
    input_scale: float = 1.0,
    samples: int | None = None,
    input_shape: Sequence[int] | None = None,
    input_datatype: str | None = None,
    out_dir: str | Path | None = None,
    environment: Environment | None = None,
    progress: Progress = no_progress,
    allow_mismatches: bool = False,
) -> dict[str, Any]:
    """Compile a QONNX file or a Brevitas module for ``board``, verify it bit-exactly, write a report.

    Args:
        model: a QONNX ``.onnx`` path, or a Brevitas ``nn.Module`` (then ``input_shape`` is needed).
        inputs: what the model eats, shape (N, ...), as an array or a ``.npy`` file; or give ``dataset``.
        expected: reference outputs for the inputs; default: the model itself (qonnx's executor or PyTorch).
        labels: class labels for the inputs; gives accuracies.
        dataset: verify on this dataset's test images (uint8 pixels times ``input_scale``) and labels.
        samples: verify on the first ``samples`` inputs only.
        input_datatype: FINN datatype of the input (``UINT8`` for pixels); default: left as the model says.
        out_dir: where the design and report go; default ``runs/compile-<model name>``. It is replaced only
            when the compile succeeds.

    Returns:
        report.json as a dict.

    Raises:
        VerificationError: the design's outputs differ from the reference (unless ``allow_mismatches``).
    """
    from hwcompress.compile.accelerator import compile_qonnx
    from hwcompress.report.build import ReportInputs, build_report
    from hwcompress.report.markdown import render_markdown
    from hwcompress.tools import Environment
    from hwcompress.verify.accelerator import verify_compiled

    env = environment or Environment()
    board_spec = get_board(board)
    began = time.perf_counter()
    qonnx_model, module = _read_model(model, input_shape, input_datatype)
    inputs, labels, expected = _verification_data(inputs, labels, expected, dataset, data_path, input_scale, env)
    if samples:
        inputs, labels = inputs[:samples], None if labels is None else labels[:samples]
        expected = None if expected is None else expected[:samples]
    shape = tuple(qonnx_model.get_tensor_shape(qonnx_model.graph.input[0].name)[1:])
    if inputs[0].size != np.prod(shape):
        raise HwcompressError(
            f"inputs of shape {tuple(inputs.shape[1:])} do not fit the model's input {shape}; "
            "give one row per sample with the model's input size"
        )
    inputs = inputs.reshape(len(inputs), *shape).astype(np.float32)
    if expected is not None and len(expected) != len(inputs):
        raise HwcompressError(f"expected outputs hold {len(expected)} rows for {len(inputs)} inputs")
    reference = expected if expected is not None else _reference_outputs(qonnx_model, module, inputs)

    name = Path(model).stem if isinstance(model, str | Path) else type(model).__name__
    directory = Path(out_dir) if out_dir else Path("runs") / f"compile-{name}"
    building = directory.with_name(f".{directory.name}.incomplete")
    building.mkdir(parents=True, exist_ok=True)
    save_onnx(qonnx_model, building / "model.onnx")
    target = TargetConfig(fps=target_fps, clock_mhz=clock_mhz)
    options = CompileConfig()
    golden = (inputs[: options.finn_verify_samples], reference[: options.finn_verify_samples])
    compiled = compile_qonnx(
        building / "model.onnx", building, board_spec, target, options, env.tools, golden, progress
    )
    compile_seconds = time.perf_counter() - began
    verification = verify_compiled(building, inputs, reference, labels, progress)
    report = build_report(
        ReportInputs(
            name=name,
            board=board_spec,
            estimate=compiled.estimate,
            ceiling=target.max_utilization,
            verify=verification,
            finn_verify=compiled.finn_verify,
            dataset=dataset,
            accuracy_torch=verification.accuracy_reference,
            timings={"compile": compile_seconds, "verify": verification.seconds},
        )
    )
    write_json(building / "report.json", report)
    write_text(building / "report.md", render_markdown(report))
    replace_directory(building, directory)
    if verification.mismatches and not allow_mismatches:
        message = _mismatch_message(verification.mismatches, verification.samples, report, directory / "report.md")
        raise VerificationError(message, report)
    return report


def _mismatch_message(mismatches: int, samples: int, report: dict[str, Any] | None, where: Path) -> str:
    """One line: how many inputs differ, the first one, and where FINN's saved steps first differ on them."""
    from hwcompress.verify.divergence import Divergence

    verify = (report or {}).get("verify", {})
    first, divergence = verify.get("first_mismatch"), verify.get("divergence")
    return (
        f"verification failed: the accelerator's outputs differ from the model's on {count(mismatches, 'input')} "
        f"of {samples:,}"
        + (f" (the first is input {first})" if first is not None else "")
        + (f"; {Divergence(**divergence).describe()}" if divergence else "")
        + f"; see {where}"
    )


def _read_model(model, input_shape, input_datatype):
    """The cleaned QONNX graph, and the PyTorch module when one was given (its outputs are the reference)."""
    from qonnx.core.datatype import DataType
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.cleanup import cleanup_model

    from hwcompress.export.qonnx_export import export_qonnx_model
    from hwcompress.export.rewrites import RemoveIdentityQuant

    module = None
    if isinstance(model, str | Path):
        path = Path(model)
        if not path.is_file():
            raise HwcompressError(f"{path}: no such model file")
        try:
            qonnx_model = cleanup_model(ModelWrapper(str(path)))
        except Exception as err:  # onnx raises several types for a damaged file
            raise HwcompressError(f"{path}: not a readable ONNX model ({type(err).__name__}: {err})") from None
    else:
        if input_shape is None:
            raise HwcompressError("compiling a PyTorch module needs input_shape, e.g. (1, 28, 28)")
        module = model
        qonnx_model = export_qonnx_model(model, tuple(input_shape), input_datatype or "FLOAT32")
    if input_datatype:
        try:
            qonnx_model.set_tensor_datatype(qonnx_model.graph.input[0].name, DataType[input_datatype])
        except KeyError:
            raise HwcompressError(f"unknown input datatype '{input_datatype}'; e.g. UINT8, INT8, FLOAT32") from None
        qonnx_model = cleanup_model(qonnx_model.transform(RemoveIdentityQuant()))
    return qonnx_model, module


def _verification_data(inputs, labels, expected, dataset, data_path, input_scale, env):
    """(inputs, labels, expected) from arrays, .npy files or a named dataset's test set."""
    from hwcompress.data import load_dataset

    if (dataset is None) == (inputs is None):
        raise HwcompressError("give either a dataset (--dataset NAME) or inputs (--inputs FILE.npy) to verify on")
    if dataset is not None:
        try:
            cfg = DataConfig(name=dataset, path=data_path)
        except ValueError:
            raise HwcompressError(f"unknown dataset '{dataset}'; e.g. mnist, fashion-mnist, cifar10, digits") from None
        data = load_dataset(cfg, env.search)
        return data.test_x.astype(np.float32) * np.float32(input_scale), data.test_y, None
    return _array(inputs, "inputs"), _array(labels, "labels"), _array(expected, "expected outputs")


def _array(value: np.ndarray | str | Path | None, what: str) -> np.ndarray | None:
    """``value`` itself, or the array in the .npy file it names."""
    if value is None or isinstance(value, np.ndarray):
        return value
    path = Path(value)
    try:
        with path.open("rb") as handle:
            magic = handle.read(6)
    except OSError as err:
        raise HwcompressError(f"{path}: cannot read the {what} ({err.strerror})") from None
    if magic != b"\x93NUMPY":
        raise HwcompressError(
            f"{path}: the {what} must be a .npy file written by numpy.save; this one is not (text or another format)"
        )
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as err:
        raise HwcompressError(f"{path}: the {what} are not a plain numeric array ({err})") from None


def _reference_outputs(qonnx_model, module, inputs: np.ndarray) -> np.ndarray:
    """The model's own outputs: PyTorch for a module, qonnx's executor for a QONNX file."""
    if module is not None:
        from hwcompress.train.loop import predict

        return predict(module, np.ascontiguousarray(inputs)).numpy()
    from hwcompress.verify.qonnx_exec import execute_qonnx

    return execute_qonnx(qonnx_model, inputs)
