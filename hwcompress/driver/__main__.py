"""``python -m driver COMMAND``: run a bundle's accelerator on the board (or its simulated board); JSON out.

The simulated board is the bundle's own: its Verilog in its simulator (a table network's bundle), or FINN's
reference model (a FINN design's).

Commands: ``execute`` (an inputs .npy to an outputs .npy), ``validate`` (accuracy and exactness on the bundle's
test data), ``throughput`` (frames per second per batch size, latency percentiles at batch 1). Errors print as
one line on stderr with exit status 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .accelerator import Accelerator, DriverError
from .bundle import Bundle, BundleError
from .dma import DMAError
from .hardware import PynqHardware, SimulatedHardware
from .measure import throughput, validate
from .rtl_board import RtlSimulatedHardware, SimulatorError

BUNDLE = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        result = _run(args)
    except (DriverError, BundleError, DMAError, SimulatorError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    text = json.dumps(result, indent=2, sort_keys=True)
    if args.json_out:
        Path(args.json_out).write_text(text + "\n")
    print(text)
    return 0


def _run(args: argparse.Namespace) -> dict:
    bundle = Bundle(args.bundle)
    bundle.verify()
    settings = bundle.settings
    backend = args.backend if args.backend != "auto" else ("board" if bundle.bitfile else "simulated")
    if backend == "board":
        if bundle.bitfile is None:
            raise DriverError("this bundle has no bitfile (built without Vivado): use --backend simulated")
        hardware = PynqHardware(bundle.bitfile, settings)
    else:
        hardware = _simulated_board(bundle)
    batch = max([args.batch, *getattr(args, "batch_sizes", [])])
    accelerator = Accelerator(settings, hardware, batch_size=batch, timeout_s=args.timeout)
    if args.command == "execute":
        outputs = accelerator.execute(np.load(args.inputs, allow_pickle=False))
        np.save(args.outputs, outputs)
        return {"backend": hardware.backend, "samples": len(outputs), "outputs": str(args.outputs)}
    if args.command == "validate":
        return validate(bundle, accelerator, args.limit)
    return throughput(accelerator, args.batch_sizes, args.repeats, args.warmup)


def _simulated_board(bundle: Bundle) -> SimulatedHardware | RtlSimulatedHardware:
    """The design's Verilog in its simulator where the bundle carries one, else FINN's reference model."""
    if bundle.simulator is not None:
        return RtlSimulatedHardware(bundle.settings, *bundle.simulator)
    reference = bundle.reference()
    if reference is None:
        raise BundleError("this bundle has neither a simulator nor a reference model: run it on its board")
    return SimulatedHardware(bundle.settings, reference)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m driver", description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=BUNDLE, help="the bundle directory (default: this one)")
    parser.add_argument("--backend", choices=("auto", "board", "simulated"), default="auto",
                        help="auto: the board when the bundle has a bitfile, else its simulated board")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the output DMA")
    parser.add_argument("--json-out", help="also write the JSON result to this file")
    commands = parser.add_subparsers(dest="command", required=True)
    execute = commands.add_parser("execute", help="run an inputs .npy, write an outputs .npy")
    execute.add_argument("inputs", type=Path)
    execute.add_argument("outputs", type=Path)
    execute.add_argument("--batch", type=int, default=100)
    check = commands.add_parser("validate", help="accuracy and exactness on the bundle's test data")
    check.add_argument("--limit", type=int, help="the first N test images only")
    check.add_argument("--batch", type=int, default=100)
    speed = commands.add_parser("throughput", help="fps per batch size, latency at batch 1")
    speed.add_argument("--batch-sizes", type=lambda text: [int(n) for n in text.split(",")], default=[1, 10, 100])
    speed.add_argument("--repeats", type=int, default=5)
    speed.add_argument("--warmup", type=int, default=2)
    speed.set_defaults(batch=1)
    return parser


if __name__ == "__main__":
    sys.exit(main())
