import os
import signal
import subprocess
import time

import torch

from hwcompress.config import parse_flow
from hwcompress.data import SearchPath, load_splits
from hwcompress.models import build_model
from hwcompress.train import accuracy, fit
from hwcompress.train.checkpoint import load_checkpoint


def test_qat_learns_digits_well_above_chance(tmp_path, tiny_flow):
    flow = parse_flow(tiny_flow(train={"epochs": 5}))
    data = load_splits(flow.data, SearchPath())
    torch.manual_seed(0)
    model = build_model(flow.model, flow.quant, data.input_shape, data.num_classes)
    history = fit(model, data, flow.train, tmp_path / "ckpt.pt", "hash")
    assert len(history) == 5 and history[-1].loss < history[0].loss
    assert accuracy(model, data.test_x, data.test_y) > 0.8
    assert load_checkpoint(tmp_path / "ckpt.pt").epoch == 5


def test_checkpoint_of_another_config_is_not_resumed(tmp_path, tiny_flow):
    flow = parse_flow(tiny_flow(train={"epochs": 1}))
    data = load_splits(flow.data, SearchPath())
    model = build_model(flow.model, flow.quant, data.input_shape, data.num_classes)
    fit(model, data, flow.train, tmp_path / "ckpt.pt", "old-config")
    history = fit(model, data, flow.train, tmp_path / "ckpt.pt", "new-config")
    assert [h.epoch for h in history] == [1]
    assert load_checkpoint(tmp_path / "ckpt.pt").config_hash == "new-config"


def _state(path):
    return torch.load(path, weights_only=True)


def test_killed_run_resumes_to_the_same_weights_as_an_uninterrupted_one(
    tmp_path, write_flow, cli_env, tiny_flow, hwcompress_exe
):
    epochs = 40
    flow = tiny_flow(train={"epochs": epochs, "augment": {"flip": True, "shift": 1}})  # augmentation draws resume too
    flow_path = write_flow(flow)

    def train(runs: str, wait: bool = True):
        args = [str(hwcompress_exe), "train", str(flow_path), "--runs-dir", str(tmp_path / runs)]
        proc = subprocess.Popen(args, env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if wait:
            out, _ = proc.communicate(timeout=300)
            assert proc.returncode == 0, out
            return out
        return proc

    train("straight")

    proc = train("killed", wait=False)
    checkpoint = tmp_path / "killed" / ".incomplete" / "tiny" / "01-train" / "checkpoint.pt"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stopped_at = load_checkpoint(checkpoint).epoch
    assert 1 <= stopped_at < epochs, "the run must have been killed part-way"
    assert not (checkpoint.parent / "manifest.json").exists()
    assert not (tmp_path / "killed" / "tiny" / "01-train").exists(), "an unfinished stage is not in the run directory"

    out = train("killed")
    assert f"resuming after epoch {stopped_at}" in out
    straight = _state(tmp_path / "straight" / "tiny" / "01-train" / "model.pt")
    resumed = _state(tmp_path / "killed" / "tiny" / "01-train" / "model.pt")
    assert straight.keys() == resumed.keys()
    for name in straight:
        assert torch.equal(straight[name], resumed[name]), name


def test_ctrl_c_stops_with_one_line_and_keeps_the_checkpoint(tmp_path, write_flow, cli_env, tiny_flow, hwcompress_exe):
    flow_path = write_flow(tiny_flow(train={"epochs": 200}))
    args = [str(hwcompress_exe), "train", str(flow_path), "--runs-dir", str(tmp_path / "runs")]
    # A suite started as a background job inherits an ignored SIGINT, which Python keeps ignoring: undo that here.
    proc = subprocess.Popen(args, env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    checkpoint = tmp_path / "runs" / ".incomplete" / "tiny" / "01-train" / "checkpoint.pt"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip().splitlines() == [
        "interrupted: finished stages and the last checkpoint are kept; run the same command again to resume"
    ]
    assert 1 <= load_checkpoint(checkpoint).epoch < 200
    assert not list(checkpoint.parent.glob(".*.tmp")), "no half-written file may be left behind"


def test_training_runs_where_the_flow_says_and_a_missing_gpu_is_one_clear_error(tiny_flow, tmp_path):
    import pytest

    from hwcompress.errors import HwcompressError
    from hwcompress.train.loop import training_device

    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert training_device("auto").type == expected and training_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(HwcompressError, match=r"train\.device is 'cuda:1' but PyTorch sees no CUDA device"):
            training_device("cuda:1")
    flow = parse_flow(tiny_flow(train={"epochs": 1, "device": "cpu"}))
    data = load_splits(flow.data, SearchPath())
    model = build_model(flow.model, flow.quant, data.input_shape, data.num_classes)
    fit(model, data, flow.train, tmp_path / "ckpt.pt", "device")
    assert {p.device.type for p in model.parameters()} == {"cpu"}, "the network comes back on the CPU"
    with pytest.raises(Exception, match=r"train\.device"):
        parse_flow(tiny_flow(train={"device": "tpu"}))
