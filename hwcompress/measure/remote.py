"""Run a deployment bundle on a board: upload its archive, unpack it, run the driver's validate and throughput.

Every number comes back as the driver's JSON; ``backend`` says whether it was the board (``board``: measured) or
the driver against a simulated board (``simulated-board``: FINN's reference model; ``simulated-board-rtl``: the
design's Verilog in Verilator). A failure on the board is one line with the
remote exit status and the last line of its stderr; the whole exchange is kept in a log file.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hwcompress.config import DeployConfig
from hwcompress.errors import HwcompressError
from hwcompress.fileio import write_text
from hwcompress.measure.ssh import Board, Completed


@dataclass(frozen=True)
class Measured:
    """What the driver reported: accuracy and exactness on the bundle's test data, fps per batch, latency."""

    backend: str
    host: str
    samples: int
    accuracy: float
    mismatches: int
    first_mismatch: int | None
    reference_agrees: bool | None
    fps: dict[str, float]
    latency_us: dict[str, float]
    clock_mhz: float
    timed_by: str | None = None
    latency_cycles: float | None = None  # where the board counts clocks: the RTL simulated board

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Measured:
        return cls(**data)


def measure_bundle(board: Board, archive: Path, name: str, cfg: DeployConfig, log: Path) -> Measured:
    """Upload ``archive`` (a bundle's .tar.gz) to ``cfg.remote_dir/name`` on ``board`` and measure it there.

    Raises:
        HwcompressError: a remote command failed (its exit status and stderr's last line; the log has it all).
    """
    remote = f"{cfg.remote_dir}/{name}"
    exchange: list[Completed] = []

    def run(args: list[str], cwd: str | None = None, driver: bool = False) -> Completed:
        if driver:
            args = [*(["sudo", "-n", "-E"] if cfg.sudo else []), cfg.python, "-m", "driver", *args]
        done = board.run(args, cwd=cwd, prefix=cfg.activate if driver else None)
        exchange.append(done)
        write_text(log, "\n\n".join(_logged(entry) for entry in exchange) + "\n")
        if done.exit_status != 0:
            last = (done.stderr.strip().splitlines() or done.stdout.strip().splitlines() or ["no output"])[-1]
            raise HwcompressError(
                f"`{done.command}` failed on {board.address} (exit status {done.exit_status}): {last} (log: {log})"
            )
        return done

    run(["rm", "-rf", f"{remote}/deploy"])
    run(["mkdir", "-p", remote])
    board.upload(archive, f"{remote}/{archive.name}")
    run(["tar", "xzf", archive.name], cwd=remote)
    bundle = f"{remote}/deploy"
    checked = json.loads(run(["validate"], cwd=bundle, driver=True).stdout)
    sizes = ",".join(str(n) for n in cfg.batch_sizes)
    speed = json.loads(
        run(["throughput", "--batch-sizes", sizes, "--repeats", str(cfg.repeats)], cwd=bundle, driver=True).stdout
    )
    return Measured(
        backend=checked["backend"],
        host=board.address,
        samples=checked["samples"],
        accuracy=checked["accuracy"],
        mismatches=checked["mismatches"],
        first_mismatch=checked["first_mismatch"],
        reference_agrees=checked["reference_agrees"],
        fps=speed["fps"],
        latency_us=speed["latency_us"],
        clock_mhz=speed["clock_mhz"],
        timed_by=speed.get("timed_by"),
        latency_cycles=checked.get("latency_cycles"),
    )


def _logged(done: Completed) -> str:
    return f"$ {done.command}\n[exit status {done.exit_status}]\n--- stdout\n{done.stdout}--- stderr\n{done.stderr}"
