"""Is the board ready for a bundle? The checks ``hwcompress doctor --host`` prints and every ``measure`` runs first.

One small program runs in the board's Python (the one the driver will run in, after ``deploy.activate``) and
reports the Python, numpy, pynq, the FPGA manager, the board's name in its PYNQ image, and the free space in
``deploy.remote_dir``; ``sudo -n`` is tried where ``deploy.sudo`` is set. Each check is one line; a failed one
says its fix. PYNQ image and numpy drift is the most common deployment failure FINN users report.

What blocks a deployment: a Python older than 3.10, numpy missing or too new for pynq, pynq missing, ``sudo -n``
refused, too little space; and, for a bundle with a bitfile, no FPGA manager or a board other than the bundle's.
The rest (another Python or pynq release than the image the bundle names, not a PYNQ image at all) is a warning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from hwcompress.boards import PynqImage
from hwcompress.config import DeployConfig
from hwcompress.errors import HwcompressError
from hwcompress.measure.ssh import Board

#: Free space the board needs in ``deploy.remote_dir`` besides the archive and its unpacked copy.
SPARE_BYTES = 50 * 2**20
MIN_PYTHON = (3, 10)

PROBE = r"""
import json, os, platform, shutil, sys
found = {"python": platform.python_version(), "machine": platform.machine()}
try:
    import numpy
    found["numpy"] = numpy.__version__
except Exception as err:
    found["numpy_error"] = f"{type(err).__name__}: {err}".splitlines()[0]
try:
    import pynq
    found["pynq"] = pynq.__version__
except Exception as err:
    found["pynq_error"] = f"{type(err).__name__}: {err}".splitlines()[0]
place = os.path.abspath(os.path.expanduser(sys.argv[1]))
while not os.path.isdir(place):
    place = os.path.dirname(place)
found["free_bytes"] = shutil.disk_usage(place).free
found["fpga_manager"] = [p for p in ("/sys/class/fpga_manager/fpga0", "/dev/xdevcfg") if os.path.exists(p)]
board = os.environ.get("BOARD")
if not board and os.path.isfile("/etc/environment"):
    for line in open("/etc/environment"):
        if line.startswith("BOARD="):
            board = line.split("=", 1)[1].strip().strip('"')
found["board"] = board
print(json.dumps(found))
"""


@dataclass(frozen=True)
class Check:
    """One line: what was checked, what was found, and (when not ok) the fix; ``blocking`` failures stop a deploy."""

    name: str
    ok: bool
    found: str
    fix: str = ""
    blocking: bool = True

    @property
    def line(self) -> str:
        mark = "ok  " if self.ok else ("FAIL" if self.blocking else "warn")
        return f"{mark}  {self.name:<8} {self.found}" + (f"; fix: {self.fix}" if not self.ok and self.fix else "")


@dataclass(frozen=True)
class Expected:
    """What the bundle to deploy needs: the image it was built for, its board's name, and its size."""

    image: PynqImage | None = None
    board: str | None = None
    bitfile: bool = False
    archive_bytes: int = 0


def check_board(board: Board, cfg: DeployConfig, expected: Expected = Expected()) -> list[Check]:
    """Run the checks on ``board`` (connected) for a deployment of ``expected`` with ``cfg``."""
    probe = board.run([cfg.python, "-c", PROBE, cfg.remote_dir], prefix=cfg.activate)
    if probe.exit_status != 0:
        last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        return [
            Check(
                "python",
                False,
                f"`{cfg.python}` does not run: {last}",
                "set deploy.python to the board's Python (PYNQ: /usr/local/share/pynq-venv/bin/python3)",
            )
        ]
    found = json.loads(probe.stdout.strip().splitlines()[-1])
    image = expected.image
    checks = [
        _python(found["python"], image),
        _numpy(found, image),
        _pynq(found, image),
        _space(found["free_bytes"], cfg.remote_dir, 3 * expected.archive_bytes + SPARE_BYTES),
        _fpga(found["fpga_manager"], expected.bitfile),
        _image(found["board"], expected),
    ]
    if cfg.sudo:
        checks.insert(3, _sudo(board, cfg))
    return checks


def blocking_failures(checks: list[Check]) -> str:
    """The blocking failures as one phrase ('' when none)."""
    return "; ".join(f"{c.name}: {c.found} (fix: {c.fix})" for c in checks if not c.ok and c.blocking)


def _major_minor(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".")[:2] if part.isdigit())


def _python(version: str, image: PynqImage | None) -> Check:
    if _major_minor(version) < MIN_PYTHON:
        return Check("python", False, f"Python {version}", "the driver needs Python 3.10 or newer (PYNQ 3 images)")
    if image and _major_minor(version) != _major_minor(image.python):
        return Check(
            "python",
            False,
            f"Python {version}, the bundle's image has {image.python}",
            "use the PYNQ image the bundle was built for",
            blocking=False,
        )
    return Check("python", True, f"Python {version}")


def _numpy(found: dict, image: PynqImage | None) -> Check:
    below = image.numpy_below if image else 2
    if "numpy" not in found:
        return Check(
            "numpy",
            False,
            f"not importable ({found['numpy_error']})",
            f"install numpy<{below} in the board's Python (the PYNQ image ships it)",
        )
    version = found["numpy"]
    if _major_minor(version)[0] >= below:
        return Check(
            "numpy",
            False,
            f"{version}: pynq 3.1 needs numpy 1.x",
            f"pip install 'numpy<{below}' in the board's Python (never upgrade numpy on a PYNQ image)",
        )
    return Check("numpy", True, f"{version} (below {below})")


def _pynq(found: dict, image: PynqImage | None) -> Check:
    if "pynq" not in found:
        return Check(
            "pynq",
            False,
            f"not importable ({found['pynq_error']})",
            "run the driver in PYNQ's Python: set deploy.python and deploy.activate (/etc/profile.d/pynq_venv.sh)",
        )
    version = found["pynq"]
    if image and _major_minor(version) != _major_minor(image.pynq):
        return Check(
            "pynq",
            False,
            f"{version}, the bundle was built for {image.pynq}",
            f"use a PYNQ {image.pynq} image (do not upgrade pynq on the board)",
            blocking=False,
        )
    return Check("pynq", True, version)


def _sudo(board: Board, cfg: DeployConfig) -> Check:
    done = board.run(["sudo", "-n", "-E", cfg.python, "-c", "pass"], prefix=cfg.activate)
    if done.exit_status == 0:
        return Check("sudo", True, "sudo -n runs the driver's Python")
    last = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return Check(
        "sudo",
        False,
        f"sudo -n refused ({last})",
        f"allow {board.user} passwordless sudo for {cfg.python} (PYNQ's xilinx user has it), or set deploy.sudo: false",
    )


def _space(free: int, remote_dir: str, needed: int) -> Check:
    text = f"{free / 2**20:,.0f} MiB free in {remote_dir}"
    if free < needed:
        return Check(
            "space",
            False,
            f"{text}, {needed / 2**20:,.0f} MiB needed",
            "free space on the board's card or set deploy.remote_dir elsewhere",
        )
    return Check("space", True, text)


def _fpga(managers: list[str], bitfile: bool) -> Check:
    if managers:
        return Check("fpga", True, f"FPGA manager {managers[0]}")
    return Check(
        "fpga",
        False,
        "no FPGA manager (/sys/class/fpga_manager/fpga0): bitfiles cannot load here",
        "deploy to a PYNQ board; without a bitfile the bundle runs on its simulated board",
        blocking=bitfile,
    )


def _image(name: str | None, expected: Expected) -> Check:
    if name is None:
        return Check(
            "image",
            False,
            "not a PYNQ image (no BOARD in /etc/environment)",
            "flash the PYNQ image of the board",
            blocking=expected.bitfile,
        )
    if expected.board and name.lower() != expected.board.lower():
        return Check(
            "image",
            False,
            f"PYNQ image of {name}, the bundle is for {expected.board}",
            f"deploy to a {expected.board} or build the flow for {name}",
            blocking=expected.bitfile,
        )
    return Check("image", True, f"PYNQ image of {name}")


def require_ready(checks: list[Check], address: str) -> None:
    """Raises HwcompressError (one line) when a check blocks the deployment."""
    problems = blocking_failures(checks)
    if problems:
        raise HwcompressError(f"{address} cannot take this bundle: {problems}; `hwcompress doctor --host` shows all")
