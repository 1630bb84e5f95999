"""QONNX export: Brevitas -> QONNX, cleanup, input datatype, and the torch-vs-QONNX check."""
