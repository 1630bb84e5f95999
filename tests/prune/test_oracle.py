"""The oracle of the criteria diagnosis: each channel's loss rise when it alone is zeroed."""

import numpy as np
import torch

from hwcompress.config import ModelConfig, QuantConfig
from hwcompress.models import build_model
from hwcompress.prune.groups import sequential_groups
from hwcompress.prune.oracle import zeroed_loss_rise


def test_a_channel_nothing_reads_costs_nothing_and_the_network_comes_back_unchanged():
    torch.manual_seed(0)
    net = build_model(ModelConfig(arch="mlp", hidden=(8, 8)), QuantConfig(), (1, 8, 8), 10)
    groups = sequential_groups(net)
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (200, 1, 8, 8), dtype=np.uint8), rng.integers(0, 10, 200)
    with torch.no_grad():
        net.body.out.weight[:, 3] = 0  # fc1's channel 3 reaches nothing
    net.eval()
    before = net(torch.from_numpy(images)).detach()
    rises = zeroed_loss_rise(net, groups, images, labels, batch_size=64)
    assert set(rises) == {"fc0", "fc1"} and rises["fc1"].shape == (8,)
    assert rises["fc1"][3] == 0.0, "zeroing a channel its consumer ignores changes no output"
    assert (rises["fc1"] != 0).sum() >= 5 and (rises["fc0"] != 0).sum() >= 5
    assert torch.equal(net(torch.from_numpy(images)).detach(), before), "no hook left behind"
