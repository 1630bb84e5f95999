import numpy as np
import pytest
import torch
from brevitas.nn import QuantLinear

from hwcompress.boards import get_board
from hwcompress.compile.accelerator import compile_qonnx
from hwcompress.config import CompileConfig, ModelConfig, QuantConfig, TargetConfig
from hwcompress.export.qonnx_export import export_qonnx_model
from hwcompress.fileio import save_onnx
from hwcompress.models import build_model
from hwcompress.prune.groups import sequential_groups
from hwcompress.prune.surgery import channel_counts, prune_channels
from hwcompress.tools import Toolchain
from hwcompress.train import predict
from hwcompress.verify.accelerator import verify_compiled


def calibrated(arch: str, shape, hidden=None, seed=0):
    torch.manual_seed(seed)
    net = build_model(ModelConfig(arch=arch, hidden=hidden), QuantConfig(), shape, 10)
    images = np.random.default_rng(seed).integers(0, 256, (64, *shape), dtype=np.uint8)
    net.train()
    with torch.no_grad():
        net(torch.from_numpy(images))
    return net.eval(), images


def zero_consumer_inputs(net, group, removed):
    """The original network with the removed channels' contributions zeroed in the consumer."""
    net = __import__("copy").deepcopy(net)
    consumer = dict(net.named_modules())[group.consumers[0].module]
    stride = group.consumers[0].stride
    with torch.no_grad():
        for channel in removed:
            consumer.weight[:, channel * stride : (channel + 1) * stride] = 0
    return net


@pytest.mark.parametrize(("arch", "shape", "hidden"), [("mlp", (1, 8, 8), (16, 12)), ("lenet5", (1, 28, 28), None)])
def test_removing_channels_equals_silencing_them(arch, shape, hidden):
    net, images = calibrated(arch, shape, hidden)
    groups = sequential_groups(net)
    for group in groups:
        keep = torch.tensor([c for c in range(group.channels) if c % 3])
        removed = [c for c in range(group.channels) if c % 3 == 0]
        pruned = prune_channels(net, groups, {group.name: keep})
        assert channel_counts(pruned, groups)[group.name] == len(keep)
        expected = predict(zero_consumer_inputs(net, group, removed), images)
        assert torch.equal(predict(pruned, images), expected), group.name


def test_surgery_leaves_the_original_untouched_and_keeps_quantizers():
    net, _ = calibrated("mlp", (1, 8, 8), (16,))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    groups = sequential_groups(net)
    pruned = prune_channels(net, groups, {"fc0": torch.arange(8)})
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    layer = pruned.body.fc0
    assert isinstance(layer, QuantLinear) and layer.weight.shape == (8, 64)
    assert int(layer.quant_weight().bit_width) == 2 and pruned.body.out.in_features == 8
    with pytest.raises(ValueError, match=r"within 0\.\.15"):
        prune_channels(net, groups, {"fc0": torch.tensor([3, 16])})


def test_pruned_lenet5_exports_compiles_and_verifies_bit_exactly(tmp_path):
    net, images = calibrated("lenet5", (1, 28, 28))
    groups = sequential_groups(net)
    keep = {"conv0": torch.arange(0, 20, 2), "conv1": torch.arange(0, 50, 2), "fc0": torch.arange(0, 500, 4)}
    pruned = prune_channels(net, groups, keep).eval()
    save_onnx(export_qonnx_model(pruned, (1, 28, 28)), tmp_path / "m.onnx")
    compiled = compile_qonnx(
        tmp_path / "m.onnx",
        tmp_path / "out",
        get_board("pynq-z2"),
        TargetConfig(fps=1000),
        CompileConfig(),
        Toolchain(),
    )
    result = verify_compiled(compiled.directory, images[:24], predict(pruned, images[:24]).numpy())
    assert result.mismatches == 0
    mvaus = [layer for layer in compiled.estimate.layers if layer.op_type.startswith("MVAU")]
    assert len(mvaus) == 4
