"""The driver's one seam to the hardware: buffers the DMAs read and write, the DMAs' registers, and a clock.

``PynqHardware`` is a PYNQ overlay on a board. ``SimulatedHardware`` keeps FINN's IODMA registers in memory and,
when both DMAs have been started, computes the output buffer with the bundle's reference model: the same driver
code (packing, batching, the register protocol, timing) runs against it, but its timings are this machine's,
never the accelerator's. ``rtl_board.RtlSimulatedHardware`` is the other simulated board: an AXI DMA in front of
the design's own Verilog in Verilator, timed in simulated clocks.

``now()`` is the clock the driver times transfers with; ``latency_cycles`` is the median latency in clocks where
the hardware counts them (None elsewhere).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .dma import ADDRESS, ADDRESS_HIGH, CONTROL, DONE, IMAGES, START
from .reference import ReferenceModel
from .settings import Settings


class PynqHardware:
    """A PYNQ overlay: ``bitfile`` (with its .hwh beside it) loaded onto the board's FPGA."""

    backend = "board"
    timed_by = "the board's wall clock"
    latency_cycles = None

    def __init__(self, bitfile: Path, settings: Settings) -> None:
        import pynq  # only on the board

        self._pynq = pynq
        self.overlay = pynq.Overlay(str(bitfile))
        self.settings = settings

    def allocate(self, shape: tuple) -> np.ndarray:
        return self._pynq.allocate(shape=shape, dtype=np.uint8)

    def address(self, buffer) -> int:
        return int(buffer.device_address)

    def flush(self, buffer) -> None:
        buffer.flush()

    def invalidate(self, buffer) -> None:
        buffer.invalidate()

    def write(self, dma: str, offset: int, value: int) -> None:
        getattr(self.overlay, dma).write(offset, value)

    def read(self, dma: str, offset: int) -> int:
        return int(getattr(self.overlay, dma).read(offset))

    def now(self) -> float:
        return time.perf_counter()

    @property
    def clock_mhz(self) -> float:
        return float(self._pynq.Clocks.fclk0_mhz)

    @clock_mhz.setter
    def clock_mhz(self, mhz: float) -> None:
        self._pynq.Clocks.fclk0_mhz = mhz


class SimulatedMemory:
    """Buffers in this process's memory at made-up device addresses, and DMA registers kept in dictionaries."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clock_mhz = settings.clock_mhz
        self.registers: dict[str, dict[int, int]] = {settings.input.dma: {}, settings.output.dma: {}}
        self._memory: dict[int, np.ndarray] = {}
        self._next_address = 0x1000_0000

    def allocate(self, shape: tuple) -> np.ndarray:
        buffer = np.zeros(shape, dtype=np.uint8)
        self._memory[self._next_address] = buffer
        self._next_address += (buffer.nbytes + 0xFFF) & ~0xFFF
        return buffer

    def address(self, buffer: np.ndarray) -> int:
        return next(address for address, held in self._memory.items() if held is buffer)

    def flush(self, buffer: np.ndarray) -> None:
        pass

    def invalidate(self, buffer: np.ndarray) -> None:
        pass

    def read(self, dma: str, offset: int) -> int:
        return self.registers[dma].get(offset, 0)

    def bytes_at(self, address: int, count: int) -> np.ndarray:
        """``count`` bytes of the buffer at ``address`` (a view: writing it writes the buffer)."""
        return self._memory[address].reshape(-1)[:count]


class SimulatedHardware(SimulatedMemory):
    """FINN's IODMAs simulated in memory; the accelerator is the reference model."""

    backend = "simulated-board"
    timed_by = "this machine's wall clock (not the accelerator's)"
    latency_cycles = None

    def __init__(self, settings: Settings, reference: ReferenceModel) -> None:
        super().__init__(settings)
        self.reference = reference

    def now(self) -> float:
        return time.perf_counter()

    def write(self, dma: str, offset: int, value: int) -> None:
        self.registers[dma][offset] = value
        if offset == CONTROL and value & START:
            self.registers[dma][CONTROL] = START
            if dma == self.settings.input.dma and self.read(self.settings.output.dma, CONTROL) & START:
                self._compute()

    def _compute(self) -> None:
        source, sink = self.registers[self.settings.input.dma], self.registers[self.settings.output.dma]
        images = source[IMAGES]
        if sink.get(IMAGES) != images:
            raise RuntimeError(f"the DMAs were started for {images} and {sink.get(IMAGES)} images")
        inputs = self._view(source, self.settings.input, images)
        outputs = self.reference.run(self.settings.input.from_buffer(inputs))
        self._view(sink, self.settings.output, images)[...] = self.settings.output.to_buffer(outputs)
        source[CONTROL] = sink[CONTROL] = DONE

    def _view(self, registers: dict[int, int], stream, images: int) -> np.ndarray:
        address = registers[ADDRESS] | registers.get(ADDRESS_HIGH, 0) << 32
        return self.bytes_at(address, images * stream.bytes_per_image).reshape(images, *stream.packed[1:])
