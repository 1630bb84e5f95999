"""Fetching dataset archives where the network allows it, written atomically into the cache."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

from hwcompress.fileio import atomic_open

TIMEOUT_S = 30


def fetch(url: str, dest: Path) -> bool:
    """Download ``url`` to ``dest``; False (and nothing written) when the network does not allow it."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, atomic_open(dest) as out:
            while block := response.read(1 << 20):
                out.write(block)
    except (urllib.error.URLError, OSError, TimeoutError):
        return False
    return True
