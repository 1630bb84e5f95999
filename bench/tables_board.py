"""Benchmark: a table network deployed as a user deploys it, on the RTL simulated board behind a real SSH server.

Usage: HWCOMPRESS_DATA=... python bench/tables_board.py [FLOW] [--batch-sizes 1,10,100,1000]

Starts an OpenSSH server on loopback (a generated host key, a generated user key; nothing of the user's), runs
``hwcompress measure FLOW`` against it with the board-like Python (``.venv-board``: 3.10, numpy 1.x, pynq 3.1),
and prints what came back beside the verify stage's Verilator numbers and the DMA's bound: accuracy, mismatches,
latency in clocks, images per second per batch (simulated clocks at the fabric clock), and how long the board
checks and the measurement took here.
"""

from __future__ import annotations

import argparse
import getpass
import json
import platform
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
SSHD = Path("/usr/sbin/sshd")


def start_sshd(root: Path) -> tuple[int, Path, Path, subprocess.Popen]:
    """sshd on 127.0.0.1: (port, the accepted user key, a known_hosts file, the server)."""
    for name in ("host_key", "user_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / name)], check=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = root / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {root / 'host_key'}\nAuthorizedKeysFile {root}/user_key.pub\n"
        "PasswordAuthentication no\nStrictModes no\nUsePAM no\nSubsystem sftp internal-sftp\n"
        f"PidFile {root / 'sshd.pid'}\n"
    )
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen([str(SSHD), "-D", "-f", str(config), "-E", str(root / "sshd.log")])
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    kind, key = (root / "host_key.pub").read_text().split()[:2]
    (root / "known_hosts").write_text(f"[127.0.0.1]:{port} {kind} {key}\n")
    return port, root / "user_key", root / "known_hosts", server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("flow", nargs="?", default="flows/tables-mnist.yaml")
    parser.add_argument("--batch-sizes", default="1,10,100,1000")
    args = parser.parse_args()
    if not SSHD.exists():
        print("needs OpenSSH's server (apt-get install openssh-server)", file=sys.stderr)
        return 1
    flow = yaml.safe_load((REPO / args.flow).read_text())
    with tempfile.TemporaryDirectory(prefix="tables-board-") as temporary:
        root = Path(temporary)
        port, key, known_hosts, server = start_sshd(root)
        try:
            flow["deploy"] = {
                "host": f"{getpass.getuser()}@127.0.0.1:{port}",
                "key_file": str(key),
                "known_hosts": str(known_hosts),
                "python": str(REPO / ".venv-board" / "bin" / "python"),
                "remote_dir": str(root / "board"),
                "batch_sizes": [int(n) for n in args.batch_sizes.split(",")],
                "repeats": 5,
            }
            path = root / "flow.yaml"
            path.write_text(yaml.safe_dump(flow))
            began = time.perf_counter()
            done = subprocess.run([str(REPO / ".venv" / "bin" / "hwcompress"), "measure", str(path), "--runs-dir",
                                   str(REPO / "runs")], capture_output=True, text=True)  # fmt: skip
            seconds = time.perf_counter() - began
        finally:
            server.terminate()
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr, file=sys.stderr)
        return 1
    report = json.loads((REPO / "runs" / flow["name"] / "report.json").read_text())
    measured, perf = report["measured"], report["performance"]
    print(f"# {flow['name']} on the RTL simulated board over loopback SSH ({platform.machine()}, {date.today()})")
    print(f"backend {measured['backend']}: {measured['kind']}")
    rtl = report["accuracy"]["rtl"]
    print(f"accuracy {measured['accuracy']:.2%} on {measured['samples']:,} (simulated-rtl {rtl:.2%}), "
          f"{measured['mismatches']} mismatches")  # fmt: skip
    print(f"latency {measured['latency_cycles']:g} clocks from the last beat (Verilator: "
          f"{measured['verilator_latency_cycles']:g}); batch 1: {measured['latency_us']['p50']:.2f} us")  # fmt: skip
    for batch, fps in measured["fps"].items():
        print(f"batch {batch:>5}: {fps:,.0f} images/s (simulated-board (RTL))")
    print(f"stream (simulated-rtl) {perf['stream']['fps']:,.0f}; DMA bound (estimate) {perf['dma_bound']['fps']:,.0f}; "
          f"core {perf['core']['fps']:,.0f} images/s")  # fmt: skip
    stages = next((line.strip() for line in done.stdout.splitlines() if line.strip().startswith("stages")), "")
    print(f"hwcompress measure took {seconds:.1f} s here; {stages}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
