"""The driver's one seam to the hardware: buffers the DMAs read and write, and the DMAs' registers.

``PynqHardware`` is a PYNQ overlay on a board. ``SimulatedHardware`` keeps FINN's IODMA registers in memory and,
when both DMAs have been started, computes the output buffer with the bundle's reference model: the same driver
code (packing, batching, the register protocol, timing) runs against it, but its timings are this machine's,
never the accelerator's.

FINN's IODMA protocol, per DMA: the buffer's address at 0x10 (upper half at 0x14), the number of images at 0x1C,
then 1 at 0x00 to start; the output DMA starts before the input DMA; bit 0x2 of the output DMA's 0x00 register
says it is done.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .reference import ReferenceModel
from .settings import Settings

ADDRESS, ADDRESS_HIGH, IMAGES, CONTROL = 0x10, 0x14, 0x1C, 0x00
START, DONE = 0x1, 0x2


class PynqHardware:
    """A PYNQ overlay: ``bitfile`` (with its .hwh beside it) loaded onto the board's FPGA."""

    backend = "board"

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

    @property
    def clock_mhz(self) -> float:
        return float(self._pynq.Clocks.fclk0_mhz)

    @clock_mhz.setter
    def clock_mhz(self, mhz: float) -> None:
        self._pynq.Clocks.fclk0_mhz = mhz


class SimulatedHardware:
    """FINN's IODMAs simulated in memory; the accelerator is the reference model."""

    backend = "simulated-board"

    def __init__(self, settings: Settings, reference: ReferenceModel) -> None:
        self.settings, self.reference = settings, reference
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
        buffer = self._memory[address]
        return buffer.reshape(-1)[: images * stream.bytes_per_image].reshape(images, *stream.packed[1:])
