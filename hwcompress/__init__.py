"""hwcompress: hardware-aware compression and FPGA deployment (Brevitas QAT, pruning, QONNX, FINN).

Importing this package is cheap: torch, finn and pynq load only when a stage needs them.

Example:
    >>> import hwcompress
    >>> run = hwcompress.run("flows/quickstart.yaml")
    >>> run.report["accuracy"]["dataflow"]
    >>> report = hwcompress.compile_model("model.onnx", board="pynq-z2", target_fps=10_000, inputs=x, labels=y)
"""

from hwcompress.version import __version__ as __version__

__all__ = ["Run", "VerificationError", "compile_model", "load", "measure", "run"]


def __getattr__(name: str):
    if name in __all__:
        from hwcompress import api

        return getattr(api, name)
    raise AttributeError(f"module 'hwcompress' has no attribute {name!r}")
