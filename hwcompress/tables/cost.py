"""A cheap count of a table network's logic from its shape alone: for the pre-flight (before training) and the
exploration. BENCHMARKS.md compares it with Yosys.

Per part, in 7-series cells: one LUT per encoder bit (a threshold that is a multiple of 4 depends on 6 pixel
bits); one LUT per node (of at most 6 inputs); the popcount's counters and final adder, counted from the tree
``rtl`` writes; two LUTs per bit of each comparison in the argmax; a few for the stream's control and one per beat
of an image (the enable of the buffer word that beat writes). Flip-flops: the pixel bits the encoder reads, twice
(the stream buffer and the core's input register; Yosys removes the others), and one per bit between pipeline
stages. Before training the wiring is unknown: the encoder bits are those that ``nodes * fan_in`` random picks
would reach, and each pixel they reach is read to its top 6 bits.

Example:
    >>> cost = estimate_cost(TableShape(pixels=784, thermometer=3, nodes=(1000,), fan_in=6, classes=10))
    >>> cost.lut, cost.ff, cost.parts
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from hwcompress.config import TablesConfig
from hwcompress.tables.rtl import STREAM_BITS, compressor_luts, core_latency

#: Bits of a pixel the encoder reads (its thresholds are multiples of 4): Yosys removes the registers of the others.
PIXEL_BITS_KEPT = 6
#: LUTs of the stream interface's control (beat counter, handshakes), measured by Yosys on the digits design.
STREAM_CONTROL_LUT = 12


@dataclass(frozen=True)
class TableShape:
    """What the cost depends on: the input, the encoder, the layers and the classes (``encoder_bits``: how many
    thermometer bits the first layer reads, ``input_bits``: how many pixel bits the encoder reads; None before
    training)."""

    pixels: int
    thermometer: int
    nodes: tuple[int, ...]
    fan_in: int
    classes: int
    encoder_bits: int | None = None
    input_bits: int | None = None


@dataclass(frozen=True)
class TableCost:
    """LUT and FF in total and per part (encoder, tables, popcount, argmax, stream)."""

    lut: int
    ff: int
    parts: dict[str, int]

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> TableCost:
        return cls(**data)


def untrained_shape(spec: TablesConfig, input_shape: tuple[int, ...], classes: int) -> TableShape:
    """The shape of a flow's table network (``model.tables``) before training."""
    return TableShape(math.prod(input_shape), spec.thermometer, spec.nodes, spec.fan_in, classes)


def expected_encoder_bits(shape: TableShape) -> int:
    """The thermometer bits the first layer reads: given, or the expected number of distinct bits among
    ``nodes[0] * fan_in`` random picks of ``pixels * thermometer``."""
    if shape.encoder_bits is not None:
        return shape.encoder_bits
    bits, picks = shape.pixels * shape.thermometer, shape.nodes[0] * shape.fan_in
    return round(bits * (1 - (1 - 1 / bits) ** picks))


def expected_input_bits(shape: TableShape) -> int:
    """The pixel bits the encoder reads: given, or the top ``PIXEL_BITS_KEPT`` of each pixel that ``nodes[0] *
    fan_in`` random picks of thermometer bits would reach."""
    if shape.input_bits is not None:
        return shape.input_bits
    picks = shape.nodes[0] * shape.fan_in
    return round(PIXEL_BITS_KEPT * shape.pixels * (1 - (1 - 1 / shape.pixels) ** picks))


def estimate_cost(shape: TableShape) -> TableCost:
    encoder = expected_encoder_bits(shape)
    group = shape.nodes[-1] // shape.classes
    count_bits = max(1, math.ceil(math.log2(group + 1)))
    parts = {
        "encoder": encoder,
        "tables": sum(shape.nodes),
        "popcount": shape.classes * compressor_luts(group, count_bits),
        "argmax": (shape.classes - 1) * 2 * count_bits,
        "stream": STREAM_CONTROL_LUT + stream_clocks(shape)[0],
    }
    kept = 2 * expected_input_bits(shape)  # the stream buffer and the core's input register
    ff = kept + encoder + sum(shape.nodes) + 2 * shape.classes * count_bits + 16
    return TableCost(lut=sum(parts.values()), ff=ff, parts=parts)


def stream_clocks(shape: TableShape, stream_bits: int = STREAM_BITS) -> tuple[int, int]:
    """Clocks between images on the stream (its beats per image) and from an image's first beat to its answer (the
    beats, the core's pipeline and the wrapper's two registers), as the stream wrapper ``rtl`` writes runs."""
    beats = -(-shape.pixels * 8 // stream_bits)
    return beats, beats + 1 + core_latency(len(shape.nodes), shape.classes)
