"""Every workaround that running finn-plus without the Xilinx tools needs, in one place.

- ``finn.builder.build_dataflow_steps`` imports ``finn.xsi.SimEngine`` at import time, which raises
  without Vivado: it is set to None first.
- The builder's exit records the Vivado version and raises when XILINX_VIVADO is unset, even after every
  step succeeded: a placeholder is set when no Vivado exists.
- FINN finds its build directory through its settings; FINN_BUILD_DIR alone is enough to build them
  without writing ``~/.finn/settings.yaml``.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

#: Stands in for XILINX_VIVADO where no Vivado exists; never used to find a tool.
NO_VIVADO = "/nonexistent/no-vivado"


def prepare_finn(build_dir: Path, vivado_present: bool = False) -> ModuleType:
    """Make finn's builder importable here and return ``finn.builder.build_dataflow``.

    Args:
        build_dir: where FINN writes its temporary files.
        vivado_present: when True the real XILINX_VIVADO is left as it is.
    """
    build_dir.mkdir(parents=True, exist_ok=True)
    os.environ["FINN_BUILD_DIR"] = str(build_dir.resolve())
    if not vivado_present:
        os.environ.setdefault("XILINX_VIVADO", NO_VIVADO)
    import finn.xsi

    if not vivado_present:
        finn.xsi.SimEngine = None
    import finn.builder.build_dataflow as build_dataflow

    return build_dataflow
