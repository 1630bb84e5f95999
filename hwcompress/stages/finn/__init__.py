"""The FINN backend's stages: QONNX export, FINN's dataflow build and estimates, bit-exact verification of the
dataflow graph, the deployment bundle and the report."""
