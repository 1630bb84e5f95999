"""Brevitas -> QONNX: export, cleanup, input datatype, identity quantizers removed."""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
import warnings
from pathlib import Path

import torch
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.util.cleanup import cleanup_model
from torch import nn

from hwcompress.export.rewrites import RemoveIdentityQuant, set_input_datatype


def export_qonnx_model(model: nn.Module, input_shape: tuple[int, ...], input_datatype: str = "UINT8") -> ModelWrapper:
    """The QONNX graph of ``model`` for one input of ``input_shape`` (C, H, W), cleaned up for FINN.

    ``input_datatype`` annotates the global input (``UINT8`` for pixels; ``FLOAT32`` leaves it unannotated).
    """
    from brevitas.export import export_qonnx

    model = model.eval()
    onnx_log = logging.getLogger("torch.onnx")
    level = onnx_log.level
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            onnx_log.setLevel(logging.ERROR)  # torch.onnx reports missing torchvision ops we never use
            try:
                export_qonnx(model, torch.zeros(1, *input_shape), str(path))
            finally:
                onnx_log.setLevel(level)
        qonnx_model = cleanup_model(ModelWrapper(str(path)))
    if input_datatype != "FLOAT32":
        qonnx_model = set_input_datatype(qonnx_model, input_datatype)
    return cleanup_model(qonnx_model.transform(RemoveIdentityQuant()))
