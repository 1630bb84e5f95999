"""The checks before a deployment, against real board-like Pythons behind the loopback SSH server: the board's
(3.10, numpy 1.x, pynq 3.1), a drifted one (numpy 2, no pynq), and a user without sudo."""

import re

import pytest
import yaml

from hwcompress.boards import get_board
from hwcompress.config import DeployConfig
from hwcompress.errors import HwcompressError
from hwcompress.measure.board_check import Expected, blocking_failures, check_board, require_ready
from hwcompress.measure.ssh import Board


@pytest.fixture
def deploy_config(loopback_deploy, tmp_path):
    """``deploy_config(python, **changes)``: the deploy settings for the loopback board with ``python``."""
    return lambda python, **changes: DeployConfig(
        **loopback_deploy(python, tmp_path / "board"), timeout_s=120, **changes
    )


def checks_of(cfg, expected=None):
    user, host, port = cfg.target
    with Board(user, host, port, cfg.key_file, cfg.known_hosts, 60) as board:
        return {check.name: check for check in check_board(board, cfg, expected or Expected())}


PYNQ_Z2 = Expected(image=get_board("pynq-z2").image, board="Pynq-Z2")


def test_the_board_python_passes_and_a_machine_without_fpga_only_warns(deploy_config, board_python, tmp_path):
    checks = checks_of(deploy_config(board_python), PYNQ_Z2)
    assert checks["python"].ok and checks["python"].found.startswith("Python 3.10.")
    assert checks["numpy"].ok and checks["numpy"].found.startswith("1.") and checks["pynq"].found == "3.1.2"
    assert checks["space"].ok and "MiB free in" in checks["space"].found
    assert not checks["fpga"].ok and not checks["fpga"].blocking, "a bundle without bitfile runs on its simulated board"
    assert not checks["image"].ok and not checks["image"].blocking and "not a PYNQ image" in checks["image"].found
    assert blocking_failures(list(checks.values())) == ""


def test_numpy_2_and_no_pynq_block_with_their_fixes(deploy_config, drifted_board_python, tmp_path):
    checks = checks_of(deploy_config(drifted_board_python), PYNQ_Z2)
    numpy, pynq = checks["numpy"], checks["pynq"]
    assert not numpy.ok and numpy.blocking and numpy.found.startswith("2.2.") and "pip install 'numpy<2'" in numpy.fix
    assert not pynq.ok and pynq.blocking and "ModuleNotFoundError" in pynq.found and "deploy.activate" in pynq.fix
    with pytest.raises(HwcompressError, match=r"cannot take this bundle: numpy: 2\.2\.\d+: pynq 3\.1 needs numpy 1\.x"):
        require_ready(list(checks.values()), "xilinx@pynq")


def test_sudo_that_is_refused_blocks_a_deploy_that_needs_it(deploy_config, board_python, tmp_path):
    no_sudo = tmp_path / "no_sudo.sh"
    no_sudo.write_text(f"export PATH={tmp_path / 'empty'}\n")  # a login whose PATH holds no sudo
    checks = checks_of(deploy_config(board_python, sudo=True, activate=str(no_sudo)))
    assert not checks["sudo"].ok and checks["sudo"].blocking and "sudo -n refused" in checks["sudo"].found
    assert "passwordless sudo" in checks["sudo"].fix and "deploy.sudo: false" in checks["sudo"].fix
    assert "sudo" not in checks_of(deploy_config(board_python)), "checked only when asked"


def test_a_bundle_with_a_bitfile_needs_an_fpga_and_its_board(deploy_config, board_python, tmp_path):
    checks = checks_of(deploy_config(board_python), Expected(board="Pynq-Z2", bitfile=True))
    assert checks["fpga"].blocking and checks["image"].blocking
    assert "fpga: no FPGA manager" in blocking_failures(list(checks.values()))


def test_a_python_that_does_not_run_is_one_failed_check(deploy_config, tmp_path):
    checks = checks_of(deploy_config(str(tmp_path / "no-python")))
    assert list(checks) == ["python"] and "does not run" in checks["python"].found
    assert "deploy.python" in checks["python"].fix


def test_doctor_host_prints_one_line_per_check_and_fails_on_a_drifted_board(
    deploy_config, drifted_board_python, board_python, tmp_path, run_cli, tiny_flow
):
    def doctor(python):
        flow = tiny_flow(deploy=deploy_config(python).model_dump(mode="json"))
        (tmp_path / "flow.yaml").write_text(yaml.safe_dump(flow))
        return run_cli("doctor", "--flow", "flow.yaml", timeout=120)

    drifted = doctor(drifted_board_python)
    assert drifted.returncode == 1, drifted.stdout + drifted.stderr
    lines = drifted.stdout.strip().splitlines()
    assert [line.split()[1] for line in lines] == ["python", "numpy", "pynq", "space", "fpga", "image"]
    assert lines[1].startswith("  FAIL  numpy    2.2.") and "; fix: pip install 'numpy<2'" in lines[1]
    assert "Traceback" not in drifted.stderr
    good = doctor(board_python)
    assert good.returncode == 0 and "ok    pynq     3.1.2" in good.stdout and "warn  fpga" in good.stdout


def test_doctor_host_without_a_flow_uses_deploys_defaults_and_says_why_it_cannot_reach(run_cli):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    result = run_cli("doctor", "--host", f"xilinx@127.0.0.1:{closed}", timeout=60)
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and re.fullmatch(rf"error: cannot reach 127\.0\.0\.1:{closed} \(.*\); is the board on and "
                                            r"sshd running\?", lines[0])  # fmt: skip
    bad = run_cli("doctor", "--host", "bad host", timeout=60)
    assert bad.returncode == 1 and bad.stderr.startswith("error: --host 'bad host': no host name;")
