"""Shared fixtures: the real CLI in a subprocess, small flows, real Brevitas models, the shared MNIST copy."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo() -> Path:
    """The repository root (flows/, boards/)."""
    return REPO


@pytest.fixture(scope="session")
def hwcompress_exe() -> Path:
    """The installed ``hwcompress`` command of this environment."""
    return Path(sys.executable).parent / "hwcompress"


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """An environment with an empty dataset cache and no user data root or board."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HWCOMPRESS_")}
    env["HWCOMPRESS_CACHE"] = str(tmp_path / "cache")
    return env


@pytest.fixture
def run_cli(cli_env: dict[str, str], tmp_path: Path, hwcompress_exe: Path):
    """Run ``hwcompress ARGS...`` as a user would; returns the CompletedProcess."""

    def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(hwcompress_exe), *args], cwd=tmp_path, env=cli_env, capture_output=True, text=True, timeout=timeout
        )

    return run


@pytest.fixture
def write_flow(tmp_path: Path):
    """Write a flow dict as YAML into tmp_path and return its path."""

    def write(flow: dict, name: str = "flow.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(flow))
        return path

    return write


@pytest.fixture(scope="session")
def tiny_flow() -> Callable[..., dict]:
    """``tiny_flow(name, section=values...)``: a flow that trains in well under a second per epoch.

    Digits and a 32-unit MLP; each keyword updates (or, for a non-mapping value, replaces) a section.
    """

    def make(name: str = "tiny", **overrides) -> dict:
        flow = {
            "name": name,
            "data": {"name": "digits"},
            "model": {"arch": "mlp", "hidden": [32], "dropout": 0.1},
            "quant": {"weight_bits": 2, "act_bits": 2},
            "train": {"epochs": 2, "batch_size": 64, "lr": 0.02, "threads": 2},
        }
        for section, values in overrides.items():
            flow[section] = {**flow.get(section, {}), **values} if isinstance(values, dict) else values
        return flow

    return make


@pytest.fixture
def mnist_dir() -> Path:
    shared = REPO.parent / "shared" / "datasets" / "mnist"
    if not (shared / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("the shared MNIST copy is not present")
    return shared


@pytest.fixture
def foreign_model(tmp_path: Path):
    """A Brevitas model hwcompress never saw (float inputs, learned-scale quantizers, ReLU), exported to
    ``foreign.onnx`` with ``x.npy``, ``expected.npy`` and ``labels.npy`` next to it in tmp_path.

    Returns (module, inputs, expected outputs).
    """
    import torch
    from brevitas.export import export_qonnx
    from brevitas.nn import QuantIdentity, QuantLinear, QuantReLU
    from brevitas.quant import Int8ActPerTensorFloat, Int8WeightPerTensorFloat, Uint8ActPerTensorFloat

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        QuantIdentity(act_quant=Int8ActPerTensorFloat, return_quant_tensor=True),
        QuantLinear(16, 12, bias=False, weight_quant=Int8WeightPerTensorFloat, weight_bit_width=4),
        QuantReLU(act_quant=Uint8ActPerTensorFloat, bit_width=4, return_quant_tensor=True),
        QuantLinear(12, 3, bias=False, weight_quant=Int8WeightPerTensorFloat, weight_bit_width=4),
    ).eval()
    x = torch.rand(40, 16)
    with torch.no_grad():
        net(x)  # brevitas initializes scales on the first batch
        expected = net(x).numpy()
    export_qonnx(net, torch.zeros(1, 16), str(tmp_path / "foreign.onnx"))
    np.save(tmp_path / "x.npy", x.numpy())
    np.save(tmp_path / "expected.npy", expected)
    np.save(tmp_path / "labels.npy", expected.argmax(1))
    return net, x.numpy(), expected


@pytest.fixture(scope="session")
def tiny_design(tmp_path_factory, tiny_flow):
    """One tiny trained MLP (digits), its QONNX export and its FINN design; tests only read it."""
    import torch

    from hwcompress.boards import get_board
    from hwcompress.compile.accelerator import compile_qonnx
    from hwcompress.config import parse_flow
    from hwcompress.data import SearchPath, load_splits
    from hwcompress.export.qonnx_export import export_qonnx_model
    from hwcompress.fileio import save_onnx
    from hwcompress.models import build_model
    from hwcompress.tools import Toolchain
    from hwcompress.train import fit, predict

    root = tmp_path_factory.mktemp("design")
    flow = parse_flow(tiny_flow(train={"epochs": 3}))
    data = load_splits(flow.data, SearchPath())
    torch.manual_seed(0)
    model = build_model(flow.model, flow.quant, data.input_shape, data.num_classes)
    fit(model, data, flow.train, root / "ckpt.pt", "tiny")
    model.eval()
    qonnx_model = export_qonnx_model(model, data.input_shape)
    save_onnx(qonnx_model, root / "model.onnx")
    reference = predict(model, data.test_x).numpy()
    compiled = compile_qonnx(
        root / "model.onnx",
        root / "compiled",
        get_board("pynq-z2"),
        flow.target,
        flow.compile,
        Toolchain(),
        (data.test_x[:4].astype("float32"), reference[:4]),
    )
    return {
        "flow": flow,
        "data": data,
        "model": model,
        "qonnx": qonnx_model,
        "reference": reference,
        "compiled": compiled,
        "root": root,
    }
