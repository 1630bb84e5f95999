"""The bundle over a real SSH server to the board's Python (3.10, numpy 1.26, pynq 3.1), and every way it fails."""

import hashlib
import json
import tarfile

import pytest

from hwcompress.config import DeployConfig
from hwcompress.errors import HwcompressError
from hwcompress.measure.remote import measure_bundle
from hwcompress.measure.ssh import Board, SSHError


@pytest.fixture
def deploy(loopback_deploy, board_python, tmp_path):
    return DeployConfig(
        **loopback_deploy(board_python, tmp_path / "board"),
        batch_sizes=(1, 10),
        repeats=2,
        timeout_s=120,
    )


def archive_of(bundle, tmp_path):
    path = tmp_path / "deploy.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(bundle, arcname="deploy")
    return path


def board(cfg, port=None, key_file=None, known_hosts=None):
    user, host, default_port = cfg.target
    return Board(user, host, port or default_port, key_file or cfg.key_file, known_hosts or cfg.known_hosts, 60)


def test_the_bundle_runs_on_the_board_python_over_ssh(deploy, write_tiny_bundle, tiny_design, tmp_path):
    archive = archive_of(write_tiny_bundle(tmp_path / "local"), tmp_path)
    with board(deploy) as target:
        measured = measure_bundle(target, archive, "tiny", deploy, tmp_path / "measure.log")
        imported = target.run([deploy.python, "-c", IMPORTS], cwd=f"{deploy.remote_dir}/tiny/deploy")
    assert measured.backend == "simulated-board" and measured.samples == len(tiny_design["data"].test_x)
    assert measured.mismatches == 0 and measured.reference_agrees is None, "no evidence on a simulated board"
    assert set(measured.fps) == {"1", "10"} and measured.clock_mhz == 100.0
    versions, loaded = json.loads(imported.stdout)
    assert versions[0].startswith("3.10.") and versions[1].startswith("1.") and versions[2] == "3.1.2"
    assert loaded == [], "the driver imports no torch, finn, qonnx or onnx"
    assert "$ " in (tmp_path / "measure.log").read_text()


IMPORTS = """
import json, platform, sys
import numpy, pynq
sys.argv = ["driver", "--help"]
import driver.__main__, driver.measure, driver.hardware
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "finn", "qonnx", "onnx", "onnxruntime"})
print(json.dumps([[platform.python_version(), numpy.__version__, pynq.__version__], heavy]))
"""


def test_an_unknown_host_key_is_refused_with_its_fingerprint(deploy, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(SSHError) as err:
        board(deploy, known_hosts=empty).__enter__()
    message = str(err.value)
    assert f"the host key of [127.0.0.1]:{deploy.target[2]} is not in {empty} (ssh-ed25519 SHA256:" in message
    assert f"trust it with `ssh-keyscan -p {deploy.target[2]} 127.0.0.1 >> {empty}`" in message


def test_a_changed_host_key_is_refused(deploy, ssh_server, tmp_path):
    other = (ssh_server.root / "other_key.pub").read_text().split()
    changed = tmp_path / "known_hosts"
    changed.write_text(f"[127.0.0.1]:{ssh_server.port} {other[0]} {other[1]}\n")
    with pytest.raises(SSHError, match=r"host key of \[127.0.0.1\]:\d+ changed: it is SHA256:.*`ssh-keygen -R"):
        board(deploy, known_hosts=changed).__enter__()


def test_a_refused_connection_and_a_refused_key_each_give_one_line(deploy, ssh_server):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with pytest.raises(SSHError, match=rf"cannot reach 127.0.0.1:{closed} \(.*\); is the board on and sshd running\?"):
        board(deploy, port=closed).__enter__()
    with pytest.raises(
        SSHError, match=rf"^{ssh_server.user}@127.0.0.1:\d+ refused the key {ssh_server.other_key}; add"
    ):
        board(deploy, key_file=ssh_server.other_key).__enter__()


def test_a_bundle_file_that_does_not_match_its_manifest_fails_on_the_board(deploy, write_tiny_bundle, tmp_path):
    bundle = write_tiny_bundle(tmp_path / "local")
    (bundle / "data" / "labels.npy").write_bytes((bundle / "data" / "labels.npy").read_bytes()[:-8])
    with board(deploy) as target, pytest.raises(HwcompressError) as err:
        measure_bundle(target, archive_of(bundle, tmp_path), "tiny", deploy, tmp_path / "measure.log")
    message = str(err.value)
    assert "-m driver validate` failed on" in message and "(exit status 1): error: data/labels.npy: sha256" in message
    assert message.endswith(f"(log: {tmp_path / 'measure.log'})") and "\n" not in message


def test_a_driver_that_crashes_on_the_board_shows_the_remote_error(deploy, write_tiny_bundle, tmp_path):
    bundle = write_tiny_bundle(tmp_path / "local")
    measure = bundle / "driver" / "measure.py"
    measure.write_text(
        measure.read_text().replace("def validate(", "def validate(*_, **__):\n    1 / 0\n\n\ndef _old(", 1)
    )
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"]["driver/measure.py"] = hashlib.sha256(measure.read_bytes()).hexdigest()
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    with board(deploy) as target, pytest.raises(HwcompressError) as err:
        measure_bundle(target, archive_of(bundle, tmp_path), "tiny", deploy, tmp_path / "measure.log")
    assert "(exit status 1): ZeroDivisionError: division by zero" in str(err.value)
    assert "Traceback" in (tmp_path / "measure.log").read_text(), "the full remote stderr is in the log"
