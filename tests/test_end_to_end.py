import json

import numpy as np
import yaml

from hwcompress.boards import BOARDS_DIR
from tests.conftest import REPO, tiny_flow


def test_quickstart_end_to_end_from_the_cli(run_cli, tmp_path):
    result = run_cli("run", str(REPO / "flows" / "quickstart.yaml"), "--runs-dir", str(tmp_path / "runs"))
    assert result.returncode == 0, result.stderr
    run_dir = tmp_path / "runs" / "quickstart"
    report = json.loads((run_dir / "report.json").read_text())
    assert report["schema_version"] == 1
    assert report["verify"]["samples"] == 359 and report["verify"]["mismatches"] == 0
    assert report["accuracy"]["dataflow"] == report["accuracy"]["torch"] == report["accuracy"]["qonnx"]
    assert report["accuracy"]["torch"] > 0.9
    for key in ("lut", "bram18", "dsp", "fps", "latency_us"):
        assert report["estimate"][key] >= 0
    assert report["board"]["name"] == "pynq-z2" and report["board"]["lut"] == 53_200
    assert report["estimate"]["kind"] == "estimate (FINN)"
    assert report["verify"]["kind"].startswith("simulated") and report["accuracy"]["kind"].startswith("simulated")
    assert [row.get("layer") for row in report["layers"] if "layer" in row] == ["fc0", "fc1", "out"]
    assert set(report["timings"]) == {"train", "prune", "export", "compile", "verify"}
    markdown = (run_dir / "report.md").read_text()
    assert "| fc0 | 64 → 64 | MVAU_hls_0 |" in markdown and "bit-exact" in markdown
    assert f"report        {run_dir / 'report.md'}" in result.stdout
    assert "bit-exact, 0 mismatches of 359" in result.stdout


def test_a_design_that_cannot_fit_fails_with_one_line_giving_the_numbers(run_cli, write_flow, tmp_path):
    board = yaml.safe_load((BOARDS_DIR / "pynq-z2.yaml").read_text())
    board.update(name="tiny-board", resources={**board["resources"], "lut": 500})
    (tmp_path / "tiny-board.yaml").write_text(yaml.safe_dump(board))
    path = write_flow(tiny_flow(board="tiny-board.yaml", train={"epochs": 1}))
    result = run_cli("run", str(path))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith("error: design does not fit tiny-board: needs ")
    assert " LUT of 425 allowed (85% of 500) (FINN estimate); lower target.fps" in lines[0]
    assert (tmp_path / "runs" / "tiny" / "01-train" / "manifest.json").exists(), "finished work survives"

    path = write_flow(tiny_flow(board="tiny-board.yaml", train={"epochs": 1}, target={"enforce_fit": False}))
    result = run_cli("run", str(path))
    assert result.returncode == 0, result.stderr
    assert "train 0.0 s" not in result.stdout and "(skipped)" in result.stdout, "training is reused"
    assert "DOES NOT FIT tiny-board (LUT over the ceiling)" in result.stdout
    report = json.loads((tmp_path / "runs" / "tiny" / "report.json").read_text())
    assert report["utilization"]["lut"]["fits"] is False and report["verify"]["mismatches"] == 0


def _foreign_model(tmp_path):
    """A Brevitas model hwcompress never saw: float inputs, learned-scale quantizers, ReLU."""
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


def test_bring_your_own_qonnx_compiles_and_verifies_from_the_cli(run_cli, tmp_path):
    _foreign_model(tmp_path)
    result = run_cli(
        "compile",
        "foreign.onnx",
        "--inputs",
        "x.npy",
        "--expected",
        "expected.npy",
        "--labels",
        "labels.npy",
        "--fps",
        "1000",
        "--out",
        "byo",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "byo" / "report.json").read_text())
    assert report["verify"]["samples"] == 40 and report["verify"]["mismatches"] == 0
    assert report["accuracy"]["dataflow"] == 1.0, "labels are the model's own predictions"
    assert "bit-exact, 0 mismatches of 40" in result.stdout


def test_broken_onnx_fails_with_one_line(run_cli, tmp_path):
    (tmp_path / "broken.onnx").write_bytes(b"\x08\x07garbage")
    np.save(tmp_path / "x.npy", np.zeros((2, 4), dtype=np.float32))
    result = run_cli("compile", "broken.onnx", "--inputs", "x.npy")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith("error: broken.onnx: not a readable ONNX model")


def test_inputs_that_do_not_fit_the_model_fail_with_one_line(run_cli, tmp_path):
    _foreign_model(tmp_path)
    np.save(tmp_path / "wrong.npy", np.zeros((3, 15), dtype=np.float32))
    result = run_cli("compile", "foreign.onnx", "--inputs", "wrong.npy")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: inputs of shape (15,) do not fit the model's input (16,); "
        "give one row per sample with the model's input size"
    )
