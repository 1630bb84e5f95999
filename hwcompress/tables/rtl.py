"""Verilog of a table network, written from its truth tables: one module per stage, a register after each.

    tn_encoder   thermometer bits of the pixels the first layer reads (pixel >= threshold)
    tn_layer<i>  each node: its truth table as a constant, indexed by its input bits
    tn_popcount  each class's count of firing nodes in its group (a tree of 6-input counters, then an adder)
    tn_argmax    the first class of the highest count (a tree; on a tie the lower class wins; registers inside)
    tn_core      the pipeline: one sample per clock, ``latency`` clocks from input to output, all registers
                 advancing together with ``ce``
    tn_axis      the AXI-Stream wrapper: gathers an image's bytes from a stream of ``stream_bits`` (pixel i in
                 byte i, the first byte in the low bits; each image starts on a new beat), hands it to the core,
                 and sends one beat per image: one image per ``beats_per_image`` clocks at full rate;
                 ``s_axis_tready`` falls while a whole image waits for the core, and the core stops while an
                 output waits. The output of the image whose last beat carried ``s_axis_tlast`` carries
                 ``m_axis_tlast``: an AXI DMA's transfer of N images ends with its N-th answer.

The output beat is ``1 + classes`` fields of ``field_bits`` each, field 0 in the low bits: the class, then each
class's count; zeros up to ``output_bytes``, a power of two (the widths an AXI DMA's stream port takes). It is
FINN's packing of a UINT``field_bits`` vector, so one driver unpacks both backends' outputs.

Example:
    >>> design = write_rtl(table_model, directory, "quickstart-tables")
    >>> design.latency, design.beats_per_image, design.output_bytes
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from hwcompress.tables.tables import TableModel
from hwcompress.version import __version__

RTL_FILE = "table_network.v"
TOP = "tn_axis"
CORE = "tn_core"
#: Levels of the argmax tree between its registers (each level a comparison and a choice: 3 or 4 logic levels).
ARGMAX_LEVELS = 2
#: The stream's width: the Zynq's high-performance ports and PYNQ's AXI DMA carry 64 bits.
STREAM_BITS = 64


@dataclass(frozen=True)
class RtlDesign:
    """What the Verilog holds and how it streams."""

    pixels: int
    encoder_bits: int
    input_bits: int
    layers: tuple[int, ...]
    classes: int
    count_bits: int
    field_bits: int
    latency: int
    stream_bits: int
    beats_per_image: int
    output_bytes: int

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> RtlDesign:
        return cls(**{**data, "layers": tuple(data["layers"])})


def write_rtl(model: TableModel, directory: Path, name: str, stream_bits: int = STREAM_BITS) -> RtlDesign:
    """Write ``table_network.v`` for ``model`` into ``directory``; ``name`` goes into its header."""
    pixels = int(np.prod(model.input_shape))
    used = sorted(set(model.layers[0].wires.reshape(-1).tolist()))  # the encoder bits the first layer reads
    position = {bit: i for i, bit in enumerate(used)}
    count_bits = max(1, math.ceil(math.log2(model.group + 1)))
    field_bits = max(count_bits, max(1, math.ceil(math.log2(model.classes))))
    output_bytes = 1 << max(0, math.ceil(math.log2(-(-(1 + model.classes) * field_bits // 8))))
    design = RtlDesign(
        pixels=pixels,
        encoder_bits=len(used),
        input_bits=input_bits_read(used, model.thresholds.tolist()),
        layers=tuple(layer.nodes for layer in model.layers),
        classes=model.classes,
        count_bits=count_bits,
        field_bits=field_bits,
        latency=core_latency(len(model.layers), model.classes),
        stream_bits=stream_bits,
        beats_per_image=-(-pixels * 8 // stream_bits),
        output_bytes=output_bytes,
    )
    parts = [_header(model, design, name), _encoder(model, used, design)]
    for i, layer in enumerate(model.layers):
        wires = np.vectorize(position.__getitem__)(layer.wires) if i == 0 else layer.wires
        width = design.encoder_bits if i == 0 else model.layers[i - 1].nodes
        parts.append(_layer(i, wires, layer.tables, width))
    parts += [_popcount(model, design), _argmax(design), _core(design), _axis(design)]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / RTL_FILE).write_text("\n".join(parts))
    return design


def input_bits_read(used: list[int], thresholds: list[int]) -> int:
    """The pixel bits the encoder reads: for each pixel, the bits above the lowest set bit of its highest-precision
    threshold in use (``x >= 96`` reads 3 bits, ``x >= 252`` 6); the registers of the others synthesize away."""
    needed: dict[int, int] = {}
    for bit in used:
        pixel, level = divmod(bit, len(thresholds))
        threshold = int(thresholds[level])
        bits = 8 - (threshold & -threshold).bit_length() + 1 if threshold else 0
        needed[pixel] = max(needed.get(pixel, 0), bits)
    return sum(needed.values())


def _header(model: TableModel, design: RtlDesign, name: str) -> str:
    return (
        f"// Generated by hwcompress {__version__} from the table network of flow '{name}'. Do not edit.\n"
        f"// {design.pixels} pixels -> {design.encoder_bits} thermometer bits (thresholds "
        f"{', '.join(map(str, model.thresholds.tolist()))}) -> table layers of {', '.join(map(str, design.layers))} "
        f"nodes ({model.layers[0].fan_in} inputs each)\n"
        f"// -> {design.classes} class counts of {design.count_bits} bits -> the first class of the highest count.\n"
        f"// tn_core takes one image per clock and answers {design.latency} clocks later; tn_axis streams images in "
        f"{design.beats_per_image} beats of {design.stream_bits} bits.\n"
        "`default_nettype none\n"
    )


def _encoder(model: TableModel, used: list[int], design: RtlDesign) -> str:
    bits = len(model.thresholds)
    lines = [
        "module tn_encoder (",
        "    input  wire clk,",
        "    input  wire ce,",
        f"    input  wire [{8 * design.pixels - 1}:0] pixels,",
        f"    output reg  [{len(used) - 1}:0] bits",
        ");",
        "  always @(posedge clk) if (ce) begin",
    ]
    for i, bit in enumerate(used):
        pixel, level = divmod(bit, bits)
        lines.append(f"    bits[{i}] <= pixels[{8 * pixel} +: 8] >= 8'd{int(model.thresholds[level])};")
    lines += ["  end", "endmodule", ""]
    return "\n".join(lines)


def _layer(index: int, wires: np.ndarray, tables: np.ndarray, width: int) -> str:
    nodes, fan_in = wires.shape
    entries = 2**fan_in
    lines = [
        f"module tn_layer{index} (",
        "    input  wire clk,",
        "    input  wire ce,",
        f"    input  wire [{width - 1}:0] x,",
        f"    output reg  [{nodes - 1}:0] y",
        ");",
    ]
    for node in range(nodes):
        value = int("".join(str(int(b)) for b in tables[node][::-1]), 2)  # entry a is bit a of the constant
        lines.append(f"  localparam [{entries - 1}:0] T{node} = {entries}'h{value:0{entries // 4 or 1}x};")
    lines.append("  always @(posedge clk) if (ce) begin")
    for node in range(nodes):
        address = ", ".join(f"x[{int(wires[node, k])}]" for k in reversed(range(fan_in)))
        lines.append(f"    y[{node}] <= T{node}[{{{address}}}];")
    lines += ["  end", "endmodule", ""]
    return "\n".join(lines)


def _popcount(model: TableModel, design: RtlDesign) -> str:
    """Each class's count as a tree of counters (6, 5, 4 or 3 bits of one weight into their 3- or 2-bit sum, one
    LUT per sum bit) until every weight holds at most two bits, then one carry-chain addition."""
    nodes, group, width = model.layers[-1].nodes, model.group, design.count_bits
    lines = [
        "module tn_popcount (",
        "    input  wire clk,",
        "    input  wire ce,",
        f"    input  wire [{nodes - 1}:0] x,",
        f"    output reg  [{design.classes * width - 1}:0] counts",
        ");",
        *_COUNTERS,
    ]
    sums = []
    for c in range(design.classes):
        wires, (first, second) = _compress([f"x[{c * group + j}]" for j in range(group)], f"p{c}_", width)
        lines += wires
        sums.append(f"    counts[{c * width} +: {width}] <= {first} + {second};")
    lines += ["  always @(posedge clk) if (ce) begin", *sums, "  end", "endmodule", ""]
    return "\n".join(lines)


#: ``COUNTn_k``: bit k of the number of ones in an n-bit address, as an n-input table; one LUT each.
_COUNTERS = [
    f"  localparam [{2**n - 1}:0] COUNT{n}_{k} = {2**n}'b"
    + "".join(str((address.bit_count() >> k) & 1) for address in reversed(range(2**n)))
    + ";"
    for n in range(3, 7)
    for k in range(n.bit_length())
]


def compressor_luts(bits: int, width: int) -> int:
    """The LUTs of one class's popcount of ``bits`` bits into ``width``: one per counter output, and one per bit of
    the final adder from the lowest weight that holds two bits."""
    wires, columns = _reduce([f"b{i}" for i in range(bits)], "p")
    pairs = [weight for weight, column in enumerate(columns) if len(column) == 2]
    adder = width - pairs[0] if pairs else 0
    return sum(line.startswith("  assign") for line in wires) + adder


def _compress(bits: list[str], prefix: str, width: int) -> tuple[list[str], tuple[str, str]]:
    """Wires that reduce ``bits`` (all of weight 1) to two ``width``-bit numbers with the same sum."""
    lines, columns = _reduce(bits, prefix)
    operands = []
    for row in range(2):
        parts = [column[row] if row < len(column) else "1'b0" for column in reversed(columns)]
        padding = [f"{width - len(parts)}'d0"] if width > len(parts) else []
        operands.append(f"{{{', '.join(padding + parts)}}}")
    return lines, (operands[0], operands[1])


def _reduce(bits: list[str], prefix: str) -> tuple[list[str], list[list[str]]]:
    """Counters that leave at most two bits of each weight: their wires, and the bits of each weight."""
    columns = [list(bits)]
    lines, counter = [], 0
    while any(len(column) > 2 for column in columns):
        reduced: list[list[str]] = [[] for _ in range(len(columns) + 2)]
        for weight, column in enumerate(columns):
            while len(column) > 2:
                take, column = column[:6], column[6:]
                outputs, name = len(take).bit_length(), f"{prefix}{counter}"
                counter += 1
                address = ", ".join(reversed(take))
                lines.append(f"  wire [{outputs - 1}:0] {name};")
                lines += [f"  assign {name}[{k}] = COUNT{len(take)}_{k}[{{{address}}}];" for k in range(outputs)]
                for k in range(outputs):
                    reduced[weight + k].append(f"{name}[{k}]")
            reduced[weight] += column
        while reduced and not reduced[-1]:
            reduced.pop()
        columns = reduced
    return lines, columns


def _argmax(design: RtlDesign) -> str:
    """A tree of comparisons, where the lower-indexed side wins ties, with a register after every
    ``ARGMAX_LEVELS`` levels of it."""
    width, classes = design.count_bits, design.classes
    lines = [
        "module tn_argmax (",
        "    input  wire clk,",
        "    input  wire ce,",
        f"    input  wire [{classes * width - 1}:0] counts,",
        "    output reg  [7:0] best,",
        f"    output reg  [{classes * width - 1}:0] counts_out",
        ");",
    ]
    registers: list[str] = []
    level = [(f"counts[{c * width} +: {width}]", f"8'd{c}") for c in range(classes)]
    counts, depth = "counts", 0
    while len(level) > 1:
        merged = []
        for i in range(0, len(level) - 1, 2):
            (left_value, left_class), (right_value, right_class) = level[i], level[i + 1]
            value, index = f"v{depth}_{i // 2}", f"c{depth}_{i // 2}"
            take_left = f"({left_value} >= {right_value})"
            lines.append(f"  wire [{width - 1}:0] {value} = {take_left} ? {left_value} : {right_value};")
            lines.append(f"  wire [7:0] {index} = {take_left} ? {left_class} : {right_class};")
            merged.append((value, index))
        if len(level) % 2:
            merged.append(level[-1])
        level, depth = merged, depth + 1
        if depth % ARGMAX_LEVELS == 0 and len(level) > 1:  # a pipeline register across the tree
            held = []
            for i, (value, index) in enumerate(level):
                lines.append(f"  reg [{width - 1}:0] r{depth}_v{i};")
                lines.append(f"  reg [7:0] r{depth}_c{i};")
                registers += [f"    r{depth}_v{i} <= {value};", f"    r{depth}_c{i} <= {index};"]
                held.append((f"r{depth}_v{i}", f"r{depth}_c{i}"))
            lines.append(f"  reg [{classes * width - 1}:0] counts{depth};")
            registers.append(f"    counts{depth} <= {counts};")
            level, counts = held, f"counts{depth}"
    lines += [
        "  always @(posedge clk) if (ce) begin",
        *registers,
        f"    best <= {level[0][1]};",
        f"    counts_out <= {counts};",
        "  end",
        "endmodule",
        "",
    ]
    return "\n".join(lines)


def core_latency(layers: int, classes: int) -> int:
    """Clocks from an image into ``tn_core`` to its answer: the input, encoder, table layer, popcount and argmax
    registers."""
    return layers + 3 + argmax_stages(classes)


def argmax_stages(classes: int) -> int:
    """Register stages of the argmax tree: one after every ``ARGMAX_LEVELS`` levels, and one at its end."""
    depth = max(1, math.ceil(math.log2(classes)))
    return 1 + (depth - 1) // ARGMAX_LEVELS


def _core(design: RtlDesign) -> str:
    counts = design.classes * design.count_bits
    last = len(design.layers) - 1
    lines = [
        f"module {CORE} (",
        "    input  wire clk,",
        "    input  wire rst,",
        "    input  wire ce,",
        "    input  wire in_valid,",
        f"    input  wire [{8 * design.pixels - 1}:0] in_pixels,",
        "    output wire out_valid,",
        "    output wire [7:0] out_class,",
        f"    output wire [{counts - 1}:0] out_counts",
        ");",
        f"  reg [{8 * design.pixels - 1}:0] pixels;",
        f"  reg [{design.latency - 1}:0] valid;",
        "  always @(posedge clk) begin",
        "    if (rst) valid <= 0;",
        f"    else if (ce) valid <= {{valid[{design.latency - 2}:0], in_valid}};",
        "    if (ce) pixels <= in_pixels;",
        "  end",
        f"  assign out_valid = valid[{design.latency - 1}];",
        f"  wire [{design.encoder_bits - 1}:0] bits;",
        "  tn_encoder encoder (.clk(clk), .ce(ce), .pixels(pixels), .bits(bits));",
    ]
    source = "bits"
    for i, nodes in enumerate(design.layers):
        lines.append(f"  wire [{nodes - 1}:0] y{i};")
        lines.append(f"  tn_layer{i} layer{i} (.clk(clk), .ce(ce), .x({source}), .y(y{i}));")
        source = f"y{i}"
    lines += [
        f"  wire [{counts - 1}:0] counts;",
        f"  tn_popcount popcount (.clk(clk), .ce(ce), .x(y{last}), .counts(counts));",
        "  tn_argmax argmax (.clk(clk), .ce(ce), .counts(counts), .best(out_class), .counts_out(out_counts));",
        "endmodule",
        "",
    ]
    return "\n".join(lines)


def _buffer_writes(beats: int, stream: int, beat_bits: int) -> list[str]:
    """Each beat written into its own word (registers with an enable, not a shift register: Yosys would map the
    shift into SRL16 LUTs, and a word the encoder never reads is removed)."""
    if beats == 1:
        return ["        buffer <= s_axis_tdata;"]
    lines = ["        case (beats)"]
    lines += [f"          {beat_bits}'d{k}: buffer[{k * stream + stream - 1}:{k * stream}] <= s_axis_tdata;"
              for k in range(beats)]  # fmt: skip
    return [*lines, "          default: ;", "        endcase"]


def _output_word(design: RtlDesign) -> str:
    """The output beat: the class and each count widened to ``field_bits``, field 0 lowest, zeros above."""
    fields = [_widened("out_class", 8, design.field_bits)]
    width = design.count_bits
    fields += [_widened(f"out_counts[{c * width} +: {width}]", width, design.field_bits) for c in range(design.classes)]
    padding = 8 * design.output_bytes - len(fields) * design.field_bits
    return "{" + ", ".join(([f"{padding}'d0"] if padding else []) + fields[::-1]) + "}"


def _widened(signal: str, width: int, bits: int) -> str:
    """``signal`` (``width`` bits) as ``bits`` bits: its low bits, or zeros above it."""
    if width > bits:
        return f"{signal}[{bits - 1}:0]"
    return f"{{{bits - width}'d0, {signal}}}" if width < bits else signal


def _axis(design: RtlDesign) -> str:
    counts = design.classes * design.count_bits
    image_bits, stream = 8 * design.pixels, design.stream_bits
    buffer_bits = design.beats_per_image * stream
    out_bits = 8 * design.output_bytes
    beat_bits = max(1, math.ceil(math.log2(design.beats_per_image + 1)))
    return "\n".join(
        [
            f"module {TOP} (",
            "    input  wire clk,",
            "    input  wire rst,",
            f"    input  wire [{stream - 1}:0] s_axis_tdata,",
            "    input  wire s_axis_tvalid,",
            "    input  wire s_axis_tlast,",
            "    output wire s_axis_tready,",
            f"    output reg  [{out_bits - 1}:0] m_axis_tdata,",
            "    output reg  m_axis_tvalid,",
            "    output reg  m_axis_tlast,",
            "    input  wire m_axis_tready",
            ");",
            f"  reg [{buffer_bits - 1}:0] buffer;",
            f"  reg [{beat_bits - 1}:0] beats;",
            "  reg full;",
            "  reg image_last;  // the waiting image's last beat carried s_axis_tlast",
            f"  reg [{design.latency - 1}:0] lasts;  // beside the core's valid bits",
            "  wire ce = !(m_axis_tvalid && !m_axis_tready);  // the whole pipeline waits while an output waits",
            "  wire hand_off = full && ce;",
            "  assign s_axis_tready = !full || ce;  // a waiting image leaves as the next one's first beat comes in",
            "  wire out_valid;",
            "  wire [7:0] out_class;",
            f"  wire [{counts - 1}:0] out_counts;",
            f"  {CORE} core (.clk(clk), .rst(rst), .ce(ce), .in_valid(hand_off), "
            f".in_pixels(buffer[{image_bits - 1}:0]),",
            "      .out_valid(out_valid), .out_class(out_class), .out_counts(out_counts));",
            "  always @(posedge clk) begin",
            "    if (rst) begin",
            "      beats <= 0; full <= 0; m_axis_tvalid <= 0; m_axis_tlast <= 0; lasts <= 0; image_last <= 0;",
            "    end else begin",
            "      if (s_axis_tvalid && s_axis_tready) begin  // beat k is word k: the first beat lowest",
            *_buffer_writes(design.beats_per_image, stream, beat_bits),
            f"        beats <= (beats == {design.beats_per_image - 1}) ? 0 : beats + 1;",
            f"        full <= (beats == {design.beats_per_image - 1});",
            f"        if (beats == {design.beats_per_image - 1}) image_last <= s_axis_tlast;",
            "      end else if (hand_off) full <= 0;",
            "      if (ce) begin",
            f"        lasts <= {{lasts[{design.latency - 2}:0], hand_off && image_last}};",
            "        m_axis_tvalid <= out_valid;",
            f"        m_axis_tlast <= lasts[{design.latency - 1}];",
            f"        m_axis_tdata <= {_output_word(design)};",
            "      end",
            "    end",
            "  end",
            "endmodule",
            "",
        ]
    )
