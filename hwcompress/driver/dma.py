"""The two DMA register protocols the driver speaks; a bundle's ``settings.json`` names its own as the platform.

``zynq-iodma``: FINN's IODMA blocks, one per direction (``idma0``, ``odma0``). Per DMA: the buffer's address at
0x10 (upper half at 0x14), the number of images at 0x1C, then 1 at 0x00 to start; the output DMA starts before the
input DMA; bit 0x2 of the output DMA's 0x00 register says it is done.

``zynq-axidma``: Xilinx's AXI DMA in simple mode, one block with both channels (``axi_dma_0``), driven as PYNQ's
``DMA`` class drives it. Per channel: 1 at its control register (run), the buffer's address, then its length in
bytes, whose write starts the transfer; the stream-to-memory channel (S2MM) starts before the memory-to-stream
one (MM2S); S2MM's idle bit says it is done, and its length register then holds the bytes it received (the
accelerator ends the transfer with TLAST on the answer of the transfer's last image).
"""

from __future__ import annotations

IODMA_PLATFORM, AXI_DMA_PLATFORM = "zynq-iodma", "zynq-axidma"

# FINN's IODMA
ADDRESS, ADDRESS_HIGH, IMAGES, CONTROL = 0x10, 0x14, 0x1C, 0x00
START, DONE = 0x1, 0x2

# Xilinx's AXI DMA (PG021), simple mode
MM2S_CONTROL, MM2S_STATUS, MM2S_ADDRESS, MM2S_ADDRESS_HIGH, MM2S_LENGTH = 0x00, 0x04, 0x18, 0x1C, 0x28
S2MM_CONTROL, S2MM_STATUS, S2MM_ADDRESS, S2MM_ADDRESS_HIGH, S2MM_LENGTH = 0x30, 0x34, 0x48, 0x4C, 0x58
RUN, IDLE = 0x1, 0x2
#: The status bits of the DMA's internal, slave and decode errors.
ERRORS = 0x70
#: The longest transfer: the length registers' width is 26 bits in the shell hwcompress writes.
MAX_BYTES = 2**26 - 1


class DMAError(RuntimeError):
    """The DMA reported an error, or the transfer ended with the wrong number of bytes."""


class IODMA:
    """FINN's IODMA pair."""

    max_bytes = None

    def start(self, hardware, settings, in_address: int, out_address: int, images: int) -> None:
        for stream, address in ((settings.output, out_address), (settings.input, in_address)):
            hardware.write(stream.dma, ADDRESS, address & 0xFFFF_FFFF)
            hardware.write(stream.dma, ADDRESS_HIGH, address >> 32)
            hardware.write(stream.dma, IMAGES, images)
            hardware.write(stream.dma, CONTROL, START)

    def done(self, hardware, settings) -> bool:
        return bool(hardware.read(settings.output.dma, CONTROL) & DONE)

    def check(self, hardware, settings, images: int) -> None:
        """Nothing to check after FINN's IODMA finished."""


class AxiDMA:
    """Xilinx's AXI DMA, both channels in one block."""

    max_bytes = MAX_BYTES

    def start(self, hardware, settings, in_address: int, out_address: int, images: int) -> None:
        dma = settings.input.dma
        channels = (
            (S2MM_CONTROL, S2MM_ADDRESS, S2MM_ADDRESS_HIGH, S2MM_LENGTH, out_address, settings.output),
            (MM2S_CONTROL, MM2S_ADDRESS, MM2S_ADDRESS_HIGH, MM2S_LENGTH, in_address, settings.input),
        )
        for control, low, high, length, address, stream in channels:
            hardware.write(dma, control, RUN)
            hardware.write(dma, low, address & 0xFFFF_FFFF)
            hardware.write(dma, high, address >> 32)
            hardware.write(dma, length, images * stream.bytes_per_image)

    def done(self, hardware, settings) -> bool:
        status = hardware.read(settings.input.dma, S2MM_STATUS) | hardware.read(settings.input.dma, MM2S_STATUS)
        if status & ERRORS:
            raise DMAError(f"the AXI DMA reports an error (status 0x{status:08x}): is the bitfile the bundle's?")
        return bool(hardware.read(settings.input.dma, S2MM_STATUS) & IDLE)

    def check(self, hardware, settings, images: int) -> None:
        received, expected = hardware.read(settings.input.dma, S2MM_LENGTH), images * settings.output.bytes_per_image
        if received != expected:
            raise DMAError(
                f"the accelerator answered {received} bytes for {images} images, not {expected}: "
                "is the bitfile the bundle's?"
            )


def protocol(platform: str) -> IODMA | AxiDMA:
    """The protocol of a bundle's ``platform``.

    Raises:
        ValueError: a platform this driver does not speak.
    """
    known = {IODMA_PLATFORM: IODMA, AXI_DMA_PLATFORM: AxiDMA}
    if platform not in known:
        raise ValueError(f"platform {platform!r}: this driver speaks {' and '.join(known)}")
    return known[platform]()
