"""Shared fixtures: the real CLI in a subprocess, small flows, real Brevitas models, the shared MNIST copy."""

from __future__ import annotations

import getpass
import gzip
import os
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

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


def _idx_bytes(array: np.ndarray) -> bytes:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def _write_idx_set(directory: Path, n_train: int = 20, n_test: int = 10, gz: bool = True, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test),
    }
    directory.mkdir(parents=True, exist_ok=True)
    for stem, array in arrays.items():
        data = _idx_bytes(array)
        if gz:
            (directory / f"{stem}.gz").write_bytes(gzip.compress(data))
        else:
            (directory / stem).write_bytes(data)
    return arrays


@pytest.fixture(scope="session")
def idx_bytes():
    """``idx_bytes(array)``: the bytes of an unsigned-byte IDX file holding ``array``."""
    return _idx_bytes


@pytest.fixture(scope="session")
def write_idx_set():
    """``write_idx_set(directory, n_train, n_test, gz, seed)``: the four MNIST files, in the real IDX format;
    returns their arrays."""
    return _write_idx_set


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


def _compiled(model, input_shape, directory: Path, target=None):
    """``model`` exported to QONNX in ``directory`` and compiled by FINN for PYNQ-Z2 (estimates only)."""
    from hwcompress.boards import get_board
    from hwcompress.compile.accelerator import compile_qonnx
    from hwcompress.config import CompileConfig, TargetConfig
    from hwcompress.export.qonnx_export import export_qonnx_model
    from hwcompress.fileio import save_onnx
    from hwcompress.tools import Toolchain

    save_onnx(export_qonnx_model(model, input_shape), directory / "model.onnx")
    target = target or TargetConfig()
    return compile_qonnx(
        directory / "model.onnx", directory / "out", get_board("pynq-z2"), target, CompileConfig(), Toolchain()
    )


@pytest.fixture(scope="session")
def binary_design(tmp_path_factory, tiny_flow):
    """An untrained 64-16-16-10 MLP with binary weights and activations (XNOR-popcount layers), compiled.

    Its batch-norm biases make neurons fire at different points, four of them always on or always off (which
    FINN's XNOR thresholds reject unless clipped). Returns (model, data, compiled).
    """
    import torch

    from hwcompress.config import parse_flow
    from hwcompress.data import SearchPath, load_splits
    from hwcompress.models import build_model

    flow = parse_flow(tiny_flow(model={"hidden": [16, 16]}, quant={"weight_bits": 1, "act_bits": 1}))
    data = load_splits(flow.data, SearchPath())
    torch.manual_seed(0)
    model = build_model(flow.model, flow.quant, data.input_shape, data.num_classes).eval()
    with torch.no_grad():
        for bn in (model.body.bn0, model.body.bn1):
            bn.bias.uniform_(-3, 3)
        model.body.bn1.bias[:4] = torch.tensor([50.0, 50.0, -50.0, -50.0])  # always on / always off
    return model, data, _compiled(model, data.input_shape, tmp_path_factory.mktemp("binary"))


def _calibrated_convnet(model, quant, shape, images=48):
    """An untrained zoo network whose batch-norm statistics come from random images; returns (net, images)."""
    import torch

    from hwcompress.models import build_model

    torch.manual_seed(0)
    net = build_model(model, quant, shape, 10)
    batch = np.random.default_rng(0).integers(0, 256, (images, *shape), dtype=np.uint8)
    net.train()
    with torch.no_grad():
        net(torch.from_numpy(batch))  # batch-norm statistics from data, not the defaults
    return net.eval(), batch


@pytest.fixture(scope="session")
def compiled_convnet(tmp_path_factory):
    """``compiled_convnet(model, quant, shape)``: a calibrated untrained network compiled for 1,000 fps.
    Returns (net, images, compiled)."""
    from hwcompress.config import TargetConfig

    def compile_it(model, quant, shape):
        net, images = _calibrated_convnet(model, quant, shape)
        directory = tmp_path_factory.mktemp(model.arch.value)
        return net, images, _compiled(net, shape, directory, TargetConfig(fps=1000))

    return compile_it


@pytest.fixture(scope="session")
def compile_network(tmp_path_factory):
    """``compile_network(net, shape)``: any network compiled by FINN for PYNQ-Z2 at 1,000 fps (estimates only)."""
    from hwcompress.config import TargetConfig

    return lambda net, shape: _compiled(net, shape, tmp_path_factory.mktemp("network"), TargetConfig(fps=1000))


@pytest.fixture(scope="session")
def lenet_design(compiled_convnet):
    """An untrained LeNet-5, compiled for 1,000 fps: sliding windows, pools, MVAUs. Returns (net, images, compiled)."""
    from hwcompress.config import ModelConfig, QuantConfig

    return compiled_convnet(ModelConfig(arch="lenet5"), QuantConfig(), (1, 28, 28))


@pytest.fixture(scope="session")
def mobilenet_design(compiled_convnet):
    """A MobileNet at 1/8 width on 28x28 images, compiled: depthwise convolutions as VVAUs, pointwise as MVAUs."""
    from hwcompress.config import ModelConfig, QuantConfig

    return compiled_convnet(ModelConfig(arch="mobilenet", width=0.125), QuantConfig(), (1, 28, 28))


@pytest.fixture(scope="session")
def resnet_design(compiled_convnet):
    """A ResNet-8 at 1/4 width on 32x32 images, compiled: padding, forks (DuplicateStreams), additions."""
    from hwcompress.config import ModelConfig, QuantConfig

    return compiled_convnet(ModelConfig(arch="resnet8", width=0.25), QuantConfig(), (3, 32, 32))


@pytest.fixture(scope="session")
def write_tiny_bundle(tiny_design):
    """``write_tiny_bundle(directory)``: the tiny design's deployment bundle in ``directory/deploy``; returns it."""
    from hwcompress.package.bundle import write_bundle
    from hwcompress.verify.dataflow_exec import Accelerator

    design, data = tiny_design["compiled"].directory, tiny_design["data"]
    golden = Accelerator.load(design / "parent.onnx", design / "accelerator.onnx").execute(data.test_x)

    def write(directory: Path) -> Path:
        write_bundle(directory / "deploy", design, data.test_x, data.test_y, golden, {"flow": "tiny"}, 100.0)
        return directory / "deploy"

    return write


SSHD = Path("/usr/sbin/sshd")


def _keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def ssh_server(tmp_path_factory):
    """sshd on 127.0.0.1 with a generated host key, accepting one generated user key.

    Yields user, port, key (the accepted private key), other_key (a key it refuses), known_hosts (a file with
    its host key), host_key (its public key line).
    """
    if not SSHD.exists():
        pytest.skip("OpenSSH's server is not installed (apt-get install openssh-server; .ci/run does)")
    root = tmp_path_factory.mktemp("sshd")
    host_key, user_key, other_key = (_keygen(root / name) for name in ("host_key", "user_key", "other_key"))
    port = _free_port()
    config = root / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {host_key}",
                f"AuthorizedKeysFile {user_key}.pub",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password",
                f"PidFile {root / 'sshd.pid'}",
                "StrictModes no",
                "UsePAM no",
                "Subsystem sftp internal-sftp",
                "",
            ]
        )
    )
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)
    subprocess.run([str(SSHD), "-f", str(config), "-E", str(root / "sshd.log")], check=True)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"sshd did not start: {(root / 'sshd.log').read_text()}") from None
            time.sleep(0.05)
    host_line = Path(f"{host_key}.pub").read_text().split()
    known_hosts = root / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {host_line[0]} {host_line[1]}\n")
    yield SimpleNamespace(
        user=getpass.getuser(),
        port=port,
        key=user_key,
        other_key=other_key,
        known_hosts=known_hosts,
        host_key=" ".join(host_line[:2]),
        root=root,
    )
    pid = (root / "sshd.pid").read_text().strip()
    subprocess.run(["kill", pid], check=False)


def _venv_python(venv: Path, what: str) -> str:
    """The Python of ``venv``, which ``make install`` builds from a Python 3.10; the test skips without it."""
    python = venv / "bin" / "python"
    if not python.exists():
        pytest.skip(f"no {what}: `make install` builds {venv.name} from a Python 3.10 (pyenv install 3.10)")
    return str(python)


@pytest.fixture(scope="session")
def board_python(repo) -> str:
    """The board-like Python: 3.10 with numpy 1.x and pynq 3.1 (.venv-board)."""
    return _venv_python(repo / ".venv-board", "board-like Python")


@pytest.fixture(scope="session")
def drifted_board_python(repo) -> str:
    """A drifted board Python: 3.10 with numpy 2 and no pynq (.venv-board-drifted)."""
    return _venv_python(repo / ".venv-board-drifted", "drifted board Python")


@pytest.fixture(scope="session")
def loopback_deploy(ssh_server):
    """``loopback_deploy(python, remote_dir, **more)``: a flow's deploy section for the loopback sshd, with
    ``python`` as the board's Python."""

    def section(python: str, remote_dir: Path, **more) -> dict:
        return {
            "host": f"{ssh_server.user}@127.0.0.1:{ssh_server.port}",
            "key_file": str(ssh_server.key),
            "known_hosts": str(ssh_server.known_hosts),
            "python": python,
            "remote_dir": str(remote_dir),
            **more,
        }

    return section
