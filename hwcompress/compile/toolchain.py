"""What a FINN result depends on besides the network and the flow: the compiler's version and hwcompress's
workarounds for it. A stage or cache that recorded other values is out of date."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

WORKAROUNDS = Path(__file__).with_name("finn_compat.py")


@cache
def toolchain() -> dict[str, str]:
    """FINN's and QONNX's versions and a hash of ``finn_compat.py`` (without importing finn)."""
    return {
        "finn-plus": _version("finn-plus"),
        "qonnx": _version("qonnx"),
        "workarounds": hashlib.sha256(WORKAROUNDS.read_bytes()).hexdigest()[:16],
    }


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"
