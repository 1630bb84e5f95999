"""The ``hwcompress`` command: argument parsing, console output and doctor over ``hwcompress.api``."""

from hwcompress.cli.main import main

__all__ = ["main"]
