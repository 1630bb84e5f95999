"""What FINN's full build inserts between the accelerator's layers, estimated here without Vivado.

The full build puts a data-width converter wherever one layer's output stream is narrower or wider than the next
layer's input, and a FIFO between every pair of layers (its depth found by simulation there; at the layers'
default depths here). FINN's estimate reports stop before both; FINN's own estimates of the nodes it inserts are
summed instead.
"""

from __future__ import annotations

from pathlib import Path

from hwcompress.compile.finn_compat import import_hw_ops
from hwcompress.hw.estimate import Overhead

CONVERTER = "StreamingDataWidthConverter"
FIFO = "StreamingFIFO"


def stream_overhead(accelerator: Path, part: str) -> Overhead:
    """The converters and FIFOs FINN would insert into the dataflow graph in ``accelerator``, for ``part``."""
    from finn.analysis.fpgadataflow.res_estimation import res_estimation
    from finn.transformation.fpgadataflow.insert_dwc import InsertDWC
    from finn.transformation.fpgadataflow.insert_fifo import InsertFIFO
    from finn.transformation.fpgadataflow.specialize_layers import SpecializeLayers
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.general import GiveUniqueNodeNames

    import_hw_ops()
    model = ModelWrapper(str(accelerator))
    model = model.transform(InsertDWC()).transform(SpecializeLayers(part))
    model = model.transform(InsertFIFO(create_shallow_fifos=True)).transform(SpecializeLayers(part))
    model = model.transform(GiveUniqueNodeNames())
    estimates = model.analysis(lambda graph: res_estimation(graph, part))
    inserted = [node for node in model.graph.node if node.op_type.startswith((CONVERTER, FIFO))]
    keys = ("LUT", "BRAM_18K", "URAM", "DSP")
    totals = {key: sum(float(estimates[node.name][key]) for node in inserted) for key in keys}
    return Overhead(
        lut=totals["LUT"],
        bram18=totals["BRAM_18K"],
        uram=totals["URAM"],
        dsp=totals["DSP"],
        converters=sum(node.op_type.startswith(CONVERTER) for node in inserted),
        fifos=sum(node.op_type.startswith(FIFO) for node in inserted),
    )
