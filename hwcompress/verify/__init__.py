"""Bit-exact verification: the accelerator's dataflow graph executed on the whole test set."""
