"""The simulated board of a design whose Verilog hwcompress wrote: an AXI DMA in memory, and the design's own RTL,
compiled by Verilator into the bundle's ``simulator/`` program, in place of the fabric.

When the driver starts the memory-to-stream channel, the bytes of its buffer go through the simulator as the
stream's beats (one 64-bit beat per clock, TLAST on the transfer's last), and what the design answered lands in
the stream-to-memory channel's buffer with its length, as the AXI DMA would leave it. Time on this board is the
simulated clocks divided by the fabric clock: never this machine's wall time. The DMA and the memory are not
simulated (the stream is fed and drained one beat per clock), so the real board can only be slower.
"""

from __future__ import annotations

import platform
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .dma import (
    IDLE,
    MM2S_ADDRESS,
    MM2S_ADDRESS_HIGH,
    MM2S_LENGTH,
    MM2S_STATUS,
    S2MM_ADDRESS,
    S2MM_ADDRESS_HIGH,
    S2MM_LENGTH,
    S2MM_STATUS,
)
from .hardware import SimulatedMemory
from .settings import Settings

#: Seconds one simulation may take.
SIMULATION_TIMEOUT_S = 3600


class SimulatorError(RuntimeError):
    """The bundle's simulator cannot run here, or failed."""


class RtlSimulatedHardware(SimulatedMemory):
    """An AXI DMA in memory in front of ``simulator`` (the Verilator build of the design, for ``machine``)."""

    backend = "simulated-board-rtl"
    timed_by = "simulated clocks / the fabric clock"

    def __init__(self, settings: Settings, simulator: Path, machine: str) -> None:
        super().__init__(settings)
        if machine != platform.machine():
            raise SimulatorError(
                f"the bundle's simulator was built for {machine}, this is {platform.machine()}: "
                "on a board, run its bitfile (--backend board)"
            )
        self.simulator = simulator
        self.clocks = 0
        self.latencies: list[int] = []

    def now(self) -> float:
        return self.clocks / (self.clock_mhz * 1e6)

    @property
    def latency_cycles(self) -> float | None:
        """The median clocks from an image's last input beat to its answer, over every image run so far."""
        return float(np.median(self.latencies)) if self.latencies else None

    def write(self, dma: str, offset: int, value: int) -> None:
        registers = self.registers[dma]
        registers[offset] = value
        if offset == S2MM_LENGTH:
            registers[S2MM_STATUS] = 0  # running
        if offset == MM2S_LENGTH:
            registers[MM2S_STATUS] = 0
            self._transfer(registers)

    def _transfer(self, registers: dict[int, int]) -> None:
        stream_in = self.settings.input
        images = registers[MM2S_LENGTH] // stream_in.bytes_per_image
        inputs = self.bytes_at(registers[MM2S_ADDRESS] | registers.get(MM2S_ADDRESS_HIGH, 0) << 32,
                               images * stream_in.bytes_per_image)  # fmt: skip
        answers, clocks, latencies = self._simulate(inputs, images)
        if S2MM_LENGTH not in registers or len(answers) > registers[S2MM_LENGTH]:
            raise SimulatorError(f"{len(answers)} bytes came out, but the stream-to-memory channel was not started")
        self.bytes_at(registers[S2MM_ADDRESS] | registers.get(S2MM_ADDRESS_HIGH, 0) << 32, len(answers))[...] = answers
        registers[S2MM_LENGTH] = len(answers)
        registers[MM2S_STATUS] = registers[S2MM_STATUS] = IDLE
        self.clocks += clocks
        self.latencies += latencies

    def _simulate(self, inputs: np.ndarray, images: int) -> tuple[np.ndarray, int, list[int]]:
        """The design's answers to ``images`` images in ``inputs`` (the packed stream), the clocks it took and each
        image's latency."""
        with tempfile.TemporaryDirectory(prefix="hwcompress-sim-") as work:
            work = Path(work)
            (work / "inputs.bin").write_bytes(inputs.tobytes())
            args = [str(self.simulator), *(str(work / name) for name in ("inputs.bin", "outputs.bin", "cycles.txt"))]
            try:
                done = subprocess.run([*args, str(images), "0", "0", "0"], capture_output=True, text=True,
                                      timeout=SIMULATION_TIMEOUT_S)  # fmt: skip
            except OSError as err:
                raise SimulatorError(f"the bundle's simulator does not run here ({err.strerror or err})") from None
            if done.returncode != 0:
                last = (done.stderr.strip().splitlines() or ["no output"])[-1]
                raise SimulatorError(f"the RTL simulation failed (exit status {done.returncode}): {last}")
            answers = np.frombuffer((work / "outputs.bin").read_bytes(), dtype=np.uint8)
            latency, _, clocks = (work / "cycles.txt").read_text().split("\n")[:3]
        return answers, int(clocks), [int(v) for v in latency.split()]
