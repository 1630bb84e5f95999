"""hwcompress: hardware-aware compression and FPGA deployment (Brevitas QAT, pruning, QONNX, FINN).

Importing this package is cheap: torch, finn and pynq load only when a stage needs them.
"""

__version__ = "0.1.0"
