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
