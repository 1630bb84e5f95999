"""Run images through the accelerator: pack, hand the buffers to the DMAs, wait, unpack.

The same code drives a board (``PynqHardware``) and the simulated boards (``SimulatedHardware``: FINN's IODMAs and
the reference model; ``RtlSimulatedHardware``: an AXI DMA and the design's Verilog in Verilator).
"""

from __future__ import annotations

import time

import numpy as np

from .dma import DMAError, protocol
from .settings import Settings

#: How far the board's clock may be from the bundle's before the driver refuses to run.
CLOCK_TOLERANCE = 0.01


class DriverError(RuntimeError):
    """A problem the driver reports as one line (and a non-zero exit status)."""


class Accelerator:
    """The accelerator of one bundle on ``hardware``, with DMA buffers for ``batch_size`` images."""

    def __init__(self, settings: Settings, hardware, batch_size: int = 1, timeout_s: float = 10.0) -> None:
        self.settings, self.hardware, self.timeout_s = settings, hardware, timeout_s
        self.batch_size = batch_size
        self.dma = protocol(settings.platform)
        largest = batch_size * max(settings.input.bytes_per_image, settings.output.bytes_per_image)
        if self.dma.max_bytes is not None and largest > self.dma.max_bytes:
            most = self.dma.max_bytes // max(settings.input.bytes_per_image, settings.output.bytes_per_image)
            raise DriverError(f"a batch of {batch_size} images is longer than one DMA transfer; use at most {most}")
        self.in_buffer = hardware.allocate((batch_size, *settings.input.packed[1:]))
        self.out_buffer = hardware.allocate((batch_size, *settings.output.packed[1:]))
        self.check_clock()

    def check_clock(self) -> None:
        """Set the fabric clock to the bundle's and check that it took (a FINN driver once ran a 200 MHz build at 100).

        Raises:
            DriverError: the board's clock stays away from the bundle's.
        """
        wanted = self.settings.clock_mhz
        self.hardware.clock_mhz = wanted
        actual = self.hardware.clock_mhz
        if abs(actual - wanted) > CLOCK_TOLERANCE * wanted:
            raise DriverError(
                f"the fabric clock is {actual:g} MHz but this bundle was built for {wanted:g} MHz; "
                "check the board's clock setup (pynq.Clocks.fclk0_mhz)"
            )

    def execute(self, inputs: np.ndarray) -> np.ndarray:
        """Integer outputs (N, *output shape) for integer ``inputs`` (N, *input shape), a batch at a time."""
        size = self.batch_size
        outputs = [self._run(inputs[first : first + size]) for first in range(0, len(inputs), size)]
        return np.concatenate(outputs) if outputs else np.zeros((0, *self.settings.output.normal[1:]), dtype=np.int64)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        n = len(batch)
        self.in_buffer[:n] = self.settings.input.to_buffer(batch)
        self.hardware.flush(self.in_buffer)
        self.transfer(n)
        self.hardware.invalidate(self.out_buffer)
        return self.settings.output.from_buffer(np.array(self.out_buffer[:n]))

    def transfer(self, n: int) -> None:
        """Run ``n`` images already in the input buffer through the accelerator into the output buffer.

        Raises:
            DriverError: the output DMA did not finish within ``timeout_s``, or the DMA reported an error.
        """
        hardware, settings = self.hardware, self.settings
        self.dma.start(hardware, settings, hardware.address(self.in_buffer), hardware.address(self.out_buffer), n)
        deadline = time.perf_counter() + self.timeout_s
        try:
            while not self.dma.done(hardware, settings):
                if time.perf_counter() > deadline:
                    raise DriverError(
                        f"the output DMA ({settings.output.dma}) did not finish {n} image{'s' * (n != 1)} within "
                        f"{self.timeout_s:g} s: is the bitfile the bundle's, and the board's clock running?"
                    )
            self.dma.check(hardware, settings, n)
        except DMAError as err:
            raise DriverError(str(err)) from None
