"""Shared fixtures: the real CLI in a subprocess, small flows, the shared MNIST copy when present."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
SHARED_MNIST = REPO.parent / "shared" / "datasets" / "mnist"
HWCOMPRESS = Path(sys.executable).parent / "hwcompress"


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """An environment with an empty dataset cache and no user data root or board."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HWCOMPRESS_")}
    env["HWCOMPRESS_CACHE"] = str(tmp_path / "cache")
    return env


@pytest.fixture
def run_cli(cli_env: dict[str, str], tmp_path: Path):
    """Run ``hwcompress ARGS...`` as a user would; returns the CompletedProcess."""

    def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(HWCOMPRESS), *args], cwd=tmp_path, env=cli_env, capture_output=True, text=True, timeout=timeout
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


def tiny_flow(name: str = "tiny", **overrides) -> dict:
    """A flow that trains in well under a second per epoch: digits, a 32-unit MLP."""
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


@pytest.fixture
def mnist_dir() -> Path:
    if not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("the shared MNIST copy is not present")
    return SHARED_MNIST


@pytest.fixture(scope="session")
def tiny_design(tmp_path_factory):
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
