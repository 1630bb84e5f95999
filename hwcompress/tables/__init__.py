"""Table networks (the seeds' "Cache AI"): every node a truth table over a few input bits.

The trainable network is in the model zoo (``models/tablenet.py``, with its thermometer encoder in
``models/thermometer.py``). Here: ``tables`` enumerates the trained network into truth tables and runs it by
look-ups alone (numpy), ``check`` compares them with the network, ``rtl`` writes their Verilog, ``verilator``
simulates it cycle by cycle and ``verification`` compares that with the tables, ``yosys`` synthesizes it for a
7-series part, ``cost`` estimates its logic from the network's shape, ``fit`` checks it against a board, and
``report`` writes report.json and report.md.
"""
