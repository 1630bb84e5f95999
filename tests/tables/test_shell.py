"""The board shell hwcompress writes for a table network: its Vivado Tcl run by tclsh against recorded stand-ins
for Vivado's commands, its top module elaborated by Verilator, and (where Vivado is installed) the real build."""

import shutil
import subprocess
from pathlib import Path

import pytest

from hwcompress.boards import get_board
from hwcompress.tables.rtl import RTL_FILE, write_rtl
from hwcompress.tables.shell import BUILD_SCRIPT, SHELL_TOP, SHELL_TOP_FILE, ShellError, build_bitfile, write_shell
from hwcompress.tables.verilator import VERILATOR
from hwcompress.tools import console_script

STUBS = Path(__file__).parent / "stubs" / "vivado.tcl"
CLOCK_MHZ = 125.0


@pytest.fixture(scope="module")
def shell(tmp_path_factory, small_model):
    hardware = tmp_path_factory.mktemp("bundle") / "hardware"
    design = write_rtl(small_model, hardware, "small")
    write_shell(design, get_board("pynq-z2"), CLOCK_MHZ, hardware, "small")
    return hardware, design


def run_in_tclsh(hardware: Path, tmp_path: Path) -> list[list[str]]:
    if shutil.which("tclsh") is None:
        pytest.skip("tclsh is not installed (apt-get install tcl; .ci/run does)")
    record = tmp_path / "record.tsv"
    result = subprocess.run(
        ["tclsh", str(STUBS), str(hardware / BUILD_SCRIPT), str(tmp_path / "project")],
        env={"STUB_RECORD": str(record), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [line.split("\t") for line in record.read_text().splitlines()]


def test_the_tcl_builds_the_block_design_the_driver_expects(shell, tmp_path):
    hardware, design = shell
    board = get_board("pynq-z2")
    calls = run_in_tclsh(hardware, tmp_path)
    assert ["project", "tn_shell", str(tmp_path / "project"), board.part] in calls
    assert ["property", "tn_shell", "board_part", board.vivado_board_part] in calls, "its board files set up the PS"
    cells = {call[1]: call[3] for call in calls if call[0] == "cell"}
    assert cells == {
        "ps7": "xilinx.com:ip:processing_system7:5.5",
        "axi_dma_0": "xilinx.com:ip:axi_dma:7.1",
        "tn": SHELL_TOP,
        "ctrl": "xilinx.com:ip:smartconnect:1.0",
        "mem": "xilinx.com:ip:smartconnect:1.0",
        "reset": "xilinx.com:ip:proc_sys_reset:5.0",
    }
    properties = {(call[1], call[2]): call[3] for call in calls if call[0] == "property"}
    assert properties["ps7", "CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ"] == "125", "FCLK_CLK0 at the flow's clock"
    assert properties["ps7", "CONFIG.PCW_USE_S_AXI_HP0"] == "1" and properties["ps7", "CONFIG.PCW_USE_M_AXI_GP0"] == "1"
    dma = {key.removeprefix("CONFIG."): value for (cell, key), value in properties.items() if cell == "axi_dma_0"}
    assert dma["c_include_sg"] == "0" and dma["c_sg_length_width"] == "26", "simple mode, 64 MiB transfers"
    assert dma["c_m_axis_mm2s_tdata_width"] == str(design.stream_bits)
    assert dma["c_s_axis_s2mm_tdata_width"] == str(8 * design.output_bytes)
    streams = {(call[1], call[2]) for call in calls if call[0] == "interface"}
    assert streams == {
        ("ps7/M_AXI_GP0", "ctrl/S00_AXI"),
        ("ctrl/M00_AXI", "axi_dma_0/S_AXI_LITE"),
        ("axi_dma_0/M_AXI_MM2S", "mem/S00_AXI"),
        ("axi_dma_0/M_AXI_S2MM", "mem/S01_AXI"),
        ("mem/M00_AXI", "ps7/S_AXI_HP0"),
        ("axi_dma_0/M_AXIS_MM2S", "tn/s_axis"),
        ("tn/m_axis", "axi_dma_0/S_AXIS_S2MM"),
    }
    nets = [(call[1], call[2]) for call in calls if call[0] == "net"]
    clocked = {pin for source, pin in nets if source == "ps7/FCLK_CLK0"}
    assert {"tn/aclk", "axi_dma_0/m_axi_mm2s_aclk", "axi_dma_0/m_axi_s2mm_aclk", "ps7/S_AXI_HP0_ACLK"} <= clocked
    assert ("reset/peripheral_aresetn", "tn/aresetn") in nets and ("ps7/FCLK_RESET0_N", "reset/ext_reset_in") in nets
    added = {Path(call[1]).name for call in calls if call[0] == "file"}
    assert {RTL_FILE, SHELL_TOP_FILE} <= added
    assert ["run", "impl_1", "-to_step write_bitstream -jobs 4"] in calls
    bitfile = hardware.parent / "bitfile"
    assert (bitfile / "tn.bit").read_text() == "stub bitstream\n" and (bitfile / "tn.hwh").is_file()
    order = [call[0] for call in calls]
    assert order.index("validate_bd_design") < order.index("wrapper") < order.index("run")


def test_the_shell_top_elaborates_with_the_network_at_the_dma_widths(shell, tmp_path):
    hardware, design = shell
    verilator = console_script(VERILATOR)
    result = subprocess.run(
        [verilator, "--lint-only", "-Wno-fatal", "-Wno-lint", "--top-module", SHELL_TOP,
         str(hardware / SHELL_TOP_FILE), str(hardware / RTL_FILE)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    top = (hardware / SHELL_TOP_FILE).read_text()
    assert f"input  wire [{design.stream_bits - 1}:0] s_axis_tdata," in top
    assert f"output wire [{8 * design.output_bytes - 1}:0] m_axis_tdata," in top


def test_boards_without_a_zynq_7000_shell_are_refused_by_name(shell, tmp_path):
    _, design = shell
    with pytest.raises(ShellError, match=r"kv260 \(xck26-sfvc784-2LV-c\) is not a Zynq-7000"):
        write_shell(design, get_board("kv260"), 100.0, tmp_path, "small")
    board = get_board("pynq-z2").model_copy(update={"vivado_board_part": None})
    with pytest.raises(ShellError, match="names no vivado_board_part"):
        write_shell(design, board, 100.0, tmp_path, "small")


@pytest.mark.vivado
def test_vivado_builds_the_bitfile(shell, tmp_path):
    vivado = shutil.which("vivado")
    if vivado is None:
        pytest.skip("Vivado is not installed (run in docker/ with the Xilinx tools mounted)")
    hardware, _ = shell
    bitfile = build_bitfile(hardware, Path(vivado), tmp_path / "project", tmp_path / "vivado.log")
    assert bitfile.stat().st_size > 100_000 and (bitfile.parent / "tn.hwh").is_file()
