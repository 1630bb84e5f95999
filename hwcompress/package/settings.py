"""FINN's driver ``settings.json`` for a compiled accelerator, without Vivado.

Where FINN's full flow ran, its own ``settings.json`` (written by ``MakePYNQDriver``) goes into the bundle.
Without Vivado this module writes the same keys: ``io_shape_dict`` as FINN's ``get_driver_shapes`` derives it
(datatypes; normal shapes of the graph's input and output; folded shapes of the first and last dataflow layer;
packed shapes with each folded row in whole bytes), the DMA names Vivado's block design gives (``idma0``,
``odma0``), the platform and the clock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hwcompress.compile.finn_compat import import_hw_ops

PLATFORM = "zynq-iodma"
DRIVER_TYPE = "FINNDMAOverlay"


def driver_settings(accelerator: Path, clock_mhz: float) -> dict[str, Any]:
    """``settings.json`` for the dataflow graph in ``accelerator`` (FINN's HW-layer ONNX) at ``clock_mhz``."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.custom_op.registry import getCustomOp

    import_hw_ops()
    model = ModelWrapper(str(accelerator))
    first, last = getCustomOp(model.graph.node[0]), getCustomOp(model.graph.node[-1])
    streams: dict[str, Any] = {}
    for side, tensor, folded in (
        ("i", model.graph.input[0].name, first.get_folded_input_shape()),
        ("o", model.graph.output[0].name, last.get_folded_output_shape()),
    ):
        dtype = model.get_tensor_datatype(tensor)
        folded = [int(n) for n in folded]
        streams.update(
            {
                f"{side}dt": [f"DataType['{dtype.name}']"],
                f"{side}shape_normal": [[int(n) for n in model.get_tensor_shape(tensor)]],
                f"{side}shape_folded": [folded],
                f"{side}shape_packed": [[*folded[:-1], -(-folded[-1] * dtype.bitwidth() // 8)]],
                f"{side}dma_names": [f"{side}dma0"],
            }
        )
    return {
        "driver_information": {
            "driver_type": DRIVER_TYPE,
            "platform": PLATFORM,
            "fclk_mhz": clock_mhz,
            "io_shape_dict": {
                **streams,
                "num_inputs": 1,
                "num_outputs": 1,
                "number_of_external_weights": 0,
                "external_weights_input_shapes": {},
            },
            "external_weights": False,
            "runtime_weights": False,
        },
        "experiment_information": {},
    }
