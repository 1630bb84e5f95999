"""The container's entrypoint against a fake Xilinx tree: stub settings64.sh files that put stub tools on PATH."""

import os
import subprocess
import sys
from pathlib import Path

import pytest


def fake_tool(directory: Path, name: str) -> None:
    """``directory/settings64.sh`` putting ``directory/bin/name`` (a stub) on PATH, as Xilinx's do."""
    (directory / "bin").mkdir(parents=True)
    tool = directory / "bin" / name
    tool.write_text("#!/bin/sh\necho stub\n")
    tool.chmod(0o755)
    variable = {"vivado": "XILINX_VIVADO", "vitis_hls": "XILINX_HLS"}[name]
    (directory / "settings64.sh").write_text(f'export PATH="{directory}/bin:$PATH"\nexport {variable}="{directory}"\n')


@pytest.mark.parametrize("layout", ["tool/version", "version/tool"])
def test_the_entrypoint_finds_the_mounted_tools_for_hwcompress(tmp_path, repo, layout):
    root, version = tmp_path / "Xilinx", "2024.2"
    for tool, name in (("Vivado", "vivado"), ("Vitis_HLS", "vitis_hls")):
        place = root / tool / version if layout == "tool/version" else root / version / tool
        fake_tool(place, name)
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "XILINX_ROOT": str(root),
        "XILINX_VERSION": version,
        "HOME": str(tmp_path),
    }
    result = subprocess.run(
        [str(repo / "docker" / "entrypoint.sh"), "hwcompress", "doctor"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    vivado = root / ("Vivado/2024.2" if layout == "tool/version" else "2024.2/Vivado") / "bin" / "vivado"
    assert f"Vivado       {vivado}" in result.stdout
    assert "bitfile: yes" in result.stdout


def test_the_entrypoint_says_where_it_looked_when_the_version_is_missing(tmp_path, repo):
    env = {**os.environ, "XILINX_ROOT": str(tmp_path), "XILINX_VERSION": "2099.1"}
    result = subprocess.run(
        [str(repo / "docker" / "entrypoint.sh"), "true"], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0
    assert result.stderr.strip() == (
        f"entrypoint: no settings64.sh for 2099.1 under {tmp_path} "
        "(looked for <root>/Vivado/<version> and <root>/<version>/Vivado)"
    )
