"""Table networks (the seeds' "Cache AI"): every node a truth table over a few input bits.

``encoder`` turns pixels into thermometer bits, ``network`` is the trainable PyTorch model (learned wiring,
table entries, gradients by extended finite differences), ``tables`` enumerates the trained network into truth
tables and runs it by look-ups alone (numpy), ``rtl`` writes its Verilog, ``verilator`` simulates that Verilog
cycle by cycle, ``yosys`` synthesizes it for a 7-series part, ``cost`` estimates its logic before training.
"""
