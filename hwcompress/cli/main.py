"""The ``hwcompress`` command. Environment variables are read here and nowhere else.

Errors print as one line (``error: ...``) with exit status 1; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from hwcompress.errors import HwcompressError
from hwcompress.version import __version__

console = Console(highlight=False, file=sys.stdout)  # pinned: FINN redirects sys.stdout while it builds
if not console.is_terminal:  # logs and pipes: do not squeeze tables into 80 columns
    console.width = 200
_state = {"debug": False}

FLOW = click.argument("flow", type=click.Path(dir_okay=False, path_type=Path))
RUNS_DIR = click.option(
    "--runs-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write runs here instead of the flow's outputs.dir.",
)


def _environment():
    """Dataset search path and tools from this process's environment."""
    from hwcompress.data import SearchPath
    from hwcompress.tools import Environment, Toolchain

    search = SearchPath.default(
        data_root=os.environ.get("HWCOMPRESS_DATA"),
        cache=os.environ.get("HWCOMPRESS_CACHE"),
    )
    return Environment(search=search, tools=Toolchain.detect(os.environ))


def _run(flow_path: Path, runs_dir: Path | None, measure: bool = False, **options) -> None:
    """``api.run`` (or ``api.measure``) on the flow with console progress; the summary even when verification fails."""
    from hwcompress import api
    from hwcompress.cli.console import ConsoleProgress, ConsoleReporter

    flow = api.load(flow_path, runs_dir)
    progress = ConsoleProgress(console)
    try:
        outcome = (api.measure if measure else api.run)(
            flow,
            **options,
            environment=_environment(),
            reporter=ConsoleReporter(console),
            progress=progress,
            log=console.print,
        )
        failure = None
    except api.VerificationError as err:
        outcome, failure = err.run, err
    finally:
        progress.close()
    _print_summary(outcome)
    if failure:
        raise failure


def _print_summary(outcome) -> None:
    from hwcompress.cli.summary import summary_lines

    console.print()
    for line in summary_lines(outcome.flow.name, outcome.stages, outcome.run_dir, outcome.report):
        console.print(line, markup=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hwcompress")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
def cli(debug: bool) -> None:
    """Hardware-aware compression and FPGA deployment: QAT, pruning, QONNX, FINN."""
    _state["debug"] = debug


@cli.command()
@FLOW
@click.option("--force", multiple=True, metavar="STAGE", help="Rerun STAGE even if it is up to date (repeatable).")
@click.option(
    "--until", metavar="STAGE", help="Stop after STAGE (preflight, train, prune, sparsify, export, compile, verify)."
)
@RUNS_DIR
def run(flow: Path, force: tuple[str, ...], until: str | None, runs_dir: Path | None) -> None:
    """Run the stages of FLOW in order, skipping those whose inputs did not change.

    Stages: preflight (FINN estimate before training) -> train -> prune -> sparsify (when enabled) -> export
    (QONNX) -> compile (FINN) -> verify (bit-exact, whole test set) -> report.
    """
    _run(flow, runs_dir, until=until, force=force)


@cli.command()
@FLOW
@click.option("--force", is_flag=True, help="Train from scratch even if an up-to-date model exists.")
@RUNS_DIR
def train(flow: Path, force: bool, runs_dir: Path | None) -> None:
    """Quantization-aware training of FLOW's model (resumes an interrupted run)."""
    _run(flow, runs_dir, only=("train",), force=("train",) if force else ())


@cli.command()
@FLOW
@click.option("--force", is_flag=True, help="Prune again even if an up-to-date pruned model exists.")
@RUNS_DIR
def prune(flow: Path, force: bool, runs_dir: Path | None) -> None:
    """Train (if needed), then prune and factorize FLOW's model as its prune: and lowrank: sections say, with
    fine-tuning."""
    _run(flow, runs_dir, only=("train", "prune"), force=("prune",) if force else ())


@cli.command()
@FLOW
@click.option("--force", is_flag=True, help="Sparsify again even if an up-to-date result exists.")
@RUNS_DIR
def sparsify(flow: Path, force: bool, runs_dir: Path | None) -> None:
    """Train and prune (if needed), then sparsify FLOW's network as its sparsify: section says.

    Unstructured pruning and Deep Compression: the stored model's size, not the accelerator's.
    """
    _run(flow, runs_dir, only=("train", "prune", "sparsify"), force=("sparsify",) if force else ())


@cli.command()
@FLOW
@click.option("--host", default="", metavar="USER@HOST[:PORT]", help="The board; default: the flow's deploy.host.")
@RUNS_DIR
def measure(flow: Path, host: str, runs_dir: Path | None) -> None:
    """Deploy FLOW's bundle to a board over SSH and measure it there (earlier stages run first if needed).

    Uploads runs/<flow>/deploy.tar.gz, runs the board-side driver's validate and throughput, and adds
    `measured` (accuracy, mismatches against golden, fps per batch, latency) to report.json and report.md.
    Host keys are checked against known_hosts; an unknown key is an error that says how to trust it.
    """
    _run(flow, runs_dir, measure=True, host=host or None)


@cli.command()
@FLOW
@click.option("--storage", metavar="URL", help="Share the study in a database, e.g. postgresql://USER@HOST/DB.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes.")
@click.option("--trials", type=click.IntRange(min=1), help="Finished trials to reach; default: explore.trials.")
@RUNS_DIR
def explore(flow: Path, storage: str | None, workers: int, trials: int | None, runs_dir: Path | None) -> None:
    """Search FLOW's explore: space for the best accuracy per LUT and BRAM18 on its board.

    Trains FLOW's network (the parent), then estimates each candidate with FINN and fine-tunes only those that
    fit. Writes runs/<flow>/explore/: the Pareto front (report.md, front.csv), plots, every trial (trials.csv)
    and one flow per front design; rerun to continue a stopped search.
    """
    from hwcompress import api
    from hwcompress.cli.console import ConsoleProgress, ConsoleReporter

    progress = ConsoleProgress(console)
    try:
        result = api.explore(
            flow,
            runs_dir=runs_dir,
            storage=storage,
            workers=workers,
            trials=trials,
            environment=_environment(),
            reporter=ConsoleReporter(console),
            progress=progress,
            log=console.print,
        )
    finally:
        progress.close()
    console.print()
    console.print(f"front of {len(result.front)} designs ({len(result.trials)} explored)", markup=False)
    for row in sorted(result.front, key=lambda r: -(r.val_accuracy or 0.0)):
        console.print(
            f"  #{row.number:<4} val {row.val_accuracy:.2%}  {row.lut:>9,.0f} LUT  {row.bram18:>5,.0f} BRAM18  "
            f"{row.fps:>9,.0f} fps (estimate)  {result.flows[row.number]}",
            markup=False,
        )
    console.print(f"  report        {result.directory / 'report.md'}", markup=False)


@cli.command("compile")
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--board", default="pynq-z2", show_default=True, help="Board name or board .yaml file.")
@click.option("--fps", "target_fps", type=float, default=100_000, show_default=True, help="Target throughput.")
@click.option("--clock-mhz", type=float, help="Clock; default: the board's.")
@click.option(
    "--dataset",
    type=click.Choice(["mnist", "fashion-mnist", "cifar10", "digits"]),
    help="Verify on this dataset's test images (uint8 pixels, times --input-scale).",
)
@click.option("--data-path", type=click.Path(file_okay=False, path_type=Path), help="Directory of the dataset.")
@click.option(
    "--input-scale",
    type=float,
    default=1.0,
    show_default=True,
    help="Multiply dataset pixels by this (1/255 for models trained on [0, 1] inputs).",
)
@click.option("--inputs", type=click.Path(dir_okay=False, path_type=Path), help="Inputs .npy (N, ...).")
@click.option("--expected", type=click.Path(dir_okay=False, path_type=Path), help="Expected outputs .npy.")
@click.option("--labels", type=click.Path(dir_okay=False, path_type=Path), help="Labels .npy for --inputs.")
@click.option("--samples", type=int, help="Verify on the first N samples only.")
@click.option("--input-datatype", help="FINN datatype of the model input, e.g. UINT8 for raw pixels.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Output directory.")
def compile_command(model: Path, out: Path | None, **options) -> None:
    """Compile your own QONNX MODEL for a board, verify it bit-exactly, and write a report."""
    from hwcompress import api
    from hwcompress.cli.console import ConsoleProgress

    directory = out or Path("runs") / f"compile-{model.stem}"
    progress = ConsoleProgress(console)
    try:
        report = api.compile_model(model, out_dir=directory, environment=_environment(), progress=progress, **options)
        failure = None
    except api.VerificationError as err:
        report, failure = err.report, err
    finally:
        progress.close()
    _print_report(model.stem, report, directory)
    if failure:
        raise failure


def _print_report(name: str, report: dict, directory: Path) -> None:
    from hwcompress.cli.summary import report_lines

    for line in report_lines(name, report):
        console.print(line, markup=False)
    console.print(f"  report        {directory / 'report.md'}", markup=False)


@cli.command()
def boards() -> None:
    """List the boards hwcompress knows, with their resources."""
    from hwcompress.boards import all_boards

    table = Table()
    for column in ("name", "FINN board", "part", "LUT", "FF", "BRAM18", "DSP", "URAM", "clock", "shell"):
        table.add_column(column, justify="right" if column in {"LUT", "FF", "BRAM18", "DSP", "URAM"} else "left")
    for board in all_boards().values():
        r = board.resources
        table.add_row(
            board.name,
            board.finn_board,
            board.part,
            f"{r.lut:,}",
            f"{r.ff:,}",
            str(r.bram18),
            str(r.dsp),
            str(r.uram),
            f"{board.clock_mhz:g} MHz",
            board.shell_flow.value,
        )
    console.print(table)


@cli.command()
@click.option("--host", default="", metavar="USER@HOST[:PORT]", help="Check this board instead of this machine.")
@click.option("--flow", "flow_path", type=click.Path(path_type=Path), help="The flow whose deploy settings, board "
              "and bundle the board is checked for (default: deploy's defaults, no bundle).")  # fmt: skip
def doctor(host: str, flow_path: Path | None) -> None:
    """Show library versions, the tools found (Xilinx's, Yosys, Verilator), and what this machine can do.

    With --host: check the board instead, as every measure does first (its Python, numpy below 2, pynq, sudo -n
    where deploy.sudo is set, free space, the FPGA manager, its PYNQ image against the bundle's): one line per
    check, the fix for each failure, exit status 1 when something blocks a deployment.
    """
    if host or flow_path:
        _board_doctor(host, flow_path)
        return
    from hwcompress.cli.doctor import capabilities, finn_builder_works, package_versions, render, table_tools
    from hwcompress.tools import Toolchain

    tools = Toolchain.detect(os.environ)
    versions, table = package_versions(), table_tools()
    problem = finn_builder_works() if versions.get("finn-plus") else ""
    caps = capabilities(tools, versions, problem, table)
    for line in render(tools, versions, table, caps):
        console.print(line)
    if not caps[1].ok:
        raise SystemExit(1)


def _board_doctor(host: str, flow_path: Path | None) -> None:
    from hwcompress import api
    from hwcompress.measure.board_check import blocking_failures

    checks = api.check_board(flow_path, host=host or None)
    for check in checks:
        console.print(f"  {check.line}", markup=False, highlight=False)
    if blocking_failures(checks):
        raise SystemExit(1)


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs the CLI and turns exceptions into one-line errors."""
    if "--debug" not in (sys.argv[1:] if argv is None else argv):
        warnings.simplefilter("ignore")  # third-party deprecation chatter; --debug shows it
    try:
        cli.main(args=argv, prog_name="hwcompress", standalone_mode=False)
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):  # click reports Ctrl-C as Abort
        click.echo(
            "interrupted: finished stages and the last checkpoint are kept; run the same command again to resume",
            err=True,
        )
        return 130
    except HwcompressError as err:
        if _state["debug"]:
            raise
        click.echo(f"error: {err}", err=True)
        return 1
    except Exception as err:
        if _state["debug"]:
            raise
        click.echo(f"error: {type(err).__name__}: {err} (rerun with --debug for the traceback)", err=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
