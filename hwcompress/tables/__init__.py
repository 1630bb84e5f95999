"""Table networks (the seeds' "Cache AI"): every node a truth table over a few input bits.

The trainable network is in the model zoo (``models/tablenet.py``, with its thermometer encoder in
``models/thermometer.py``). Here: ``tables`` enumerates the trained network into truth tables and runs it by
look-ups alone (numpy), ``rtl`` writes its Verilog, ``verilator`` simulates that Verilog cycle by cycle, ``yosys``
synthesizes it for a 7-series part, ``cost`` estimates its logic before training.
"""
