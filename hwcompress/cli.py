"""The ``hwcompress`` command. Environment variables are read here and nowhere else.

Errors print as one line (``error: ...``) with exit status 1; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from hwcompress import __version__
from hwcompress.errors import HwcompressError

console = Console(highlight=False)
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
    from hwcompress.flow import Environment
    from hwcompress.tools import Toolchain

    search = SearchPath.default(
        data_root=os.environ.get("HWCOMPRESS_DATA"),
        cache=os.environ.get("HWCOMPRESS_CACHE"),
    )
    return Environment(search=search, tools=Toolchain.detect(os.environ))


def _load(flow_path: Path, runs_dir: Path | None):
    from hwcompress.boards import get_board
    from hwcompress.config import OutputsConfig, load_flow
    from hwcompress.errors import ConfigError
    from hwcompress.models import layer_plan

    flow = load_flow(flow_path)
    try:  # fail now, not after training
        get_board(flow.board)
        layer_plan(flow.model, flow.quant)
    except ConfigError as err:
        raise ConfigError(f"{flow_path}: {err}") from None
    if runs_dir is not None:
        flow = flow.model_copy(update={"outputs": OutputsConfig(dir=runs_dir)})
    return flow


def _run(flow_path: Path, until: str | None, force: tuple[str, ...], runs_dir: Path | None) -> None:
    from hwcompress.flow import run_dir_of, run_stages
    from hwcompress.pipeline import stages_until
    from hwcompress.summary import summary_lines
    from hwcompress.ui import ConsoleReporter

    flow = _load(flow_path, runs_dir)
    stages = stages_until(until)
    run_dir = run_dir_of(flow)
    console.print(f"[bold]{flow.name}[/bold]: {' → '.join(s.name for s in stages)}  (run dir {run_dir})")
    results = run_stages(
        flow, stages, _environment(), force=force, reporter=ConsoleReporter(console), log=console.print
    )
    console.print()
    for line in summary_lines(flow.name, results, run_dir):
        console.print(line, markup=False)
    mismatches = next((r.summary.get("verify.mismatches") for r in results if r.name == "verify"), 0)
    if mismatches:
        raise HwcompressError(
            f"verification failed: the accelerator's outputs differ from the model's on {mismatches} test images; "
            f"see {run_dir / 'report.md'}"
        )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hwcompress")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
def cli(debug: bool) -> None:
    """Hardware-aware compression and FPGA deployment: QAT, pruning, QONNX, FINN."""
    _state["debug"] = debug


@cli.command()
@FLOW
@click.option("--force", multiple=True, metavar="STAGE", help="Rerun STAGE even if it is up to date (repeatable).")
@RUNS_DIR
def run(flow: Path, force: tuple[str, ...], runs_dir: Path | None) -> None:
    """Run every stage of FLOW, skipping stages whose inputs did not change."""
    _run(flow, None, force, runs_dir)


@cli.command()
@FLOW
@click.option("--force", is_flag=True, help="Train from scratch even if an up-to-date model exists.")
@RUNS_DIR
def train(flow: Path, force: bool, runs_dir: Path | None) -> None:
    """Quantization-aware training of FLOW's model (resumes an interrupted run)."""
    _run(flow, "train", ("train",) if force else (), runs_dir)


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
def doctor() -> None:
    """Show library versions, the Xilinx tools found, and what this machine can do."""
    from hwcompress.doctor import capabilities, finn_builder_works, package_versions, render
    from hwcompress.tools import Toolchain

    tools = Toolchain.detect(os.environ)
    versions = package_versions()
    problem = finn_builder_works() if versions.get("finn-plus") else ""
    caps = capabilities(tools, versions, problem)
    for line in render(tools, versions, caps):
        console.print(line)
    if not caps[1].ok:
        raise SystemExit(1)


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs the CLI and turns exceptions into one-line errors."""
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
