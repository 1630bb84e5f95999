"""Where the benchmarks look for datasets: $HWCOMPRESS_DATA, else the shared copy beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

from hwcompress.data import SearchPath

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"


def search_path() -> SearchPath:
    return SearchPath.default(os.environ.get("HWCOMPRESS_DATA") or (str(SHARED) if SHARED.exists() else None))
