"""The table-network backend's stage bodies (``stages.backend``): its own Verilog, Verilator and Yosys."""
