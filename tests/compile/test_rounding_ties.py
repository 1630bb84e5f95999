"""A float-input Brevitas network whose input quantizer meets values exactly halfway between two levels.

Brevitas (and the QONNX Quant node) round half to even; FINN's MultiThreshold tests ``x >= t`` and so
rounds halves up. ``finn_compat.ExactThresholds`` moves the thresholds to the exact boundaries.
"""

import numpy as np
import pytest
import torch

import hwcompress
from hwcompress.compile.finn_compat import ExactThresholds


@pytest.fixture(scope="module")
def tfc_on_ties():
    """brevitas_examples' TFC-w2a2 (its input quantizer is 2-bit on 2x - 1) and inputs of 0, 0.25, 0.5, 0.75, 1:
    2 * 0.75 - 1 = 0.5 and 2 * 0.25 - 1 = -0.5 lie exactly between two levels."""
    from brevitas_examples.bnn_pynq.models import model_with_cfg

    torch.manual_seed(0)
    net, _ = model_with_cfg("tfc_2w2a", pretrained=False)
    net.eval()
    rng = np.random.default_rng(0)
    inputs = rng.choice(np.array([0.0, 0.25, 0.5, 0.75, 1.0], dtype=np.float32), size=(30, 1, 28, 28))
    return net, inputs


def compile_on_ties(net, inputs, out_dir):
    return hwcompress.compile_model(net, input_shape=(1, 28, 28), inputs=inputs, target_fps=10_000, out_dir=out_dir)


def test_inputs_on_rounding_ties_verify_bit_exactly(tfc_on_ties, tmp_path):
    report = compile_on_ties(*tfc_on_ties, tmp_path / "fixed")
    assert report["verify"]["mismatches"] == 0 and report["verify"]["samples"] == 30
    assert all(report["verify"]["finn_verify_steps"].values()), "FINN's own checks run after the fix too"


@pytest.mark.filterwarnings("ignore:The values of tensor:UserWarning")  # FINN alone mis-annotates threshold counts
def test_without_the_fix_finn_rounds_ties_up_and_verification_catches_it(tfc_on_ties, tmp_path, monkeypatch):
    monkeypatch.setattr(ExactThresholds, "steps", lambda self: {})
    with pytest.raises(hwcompress.VerificationError, match="differ from the model's on 30 inputs of 30"):
        compile_on_ties(*tfc_on_ties, tmp_path / "unfixed")
