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
from hwcompress.prune.groups import coupling_groups, sequential_groups
from hwcompress.prune.surgery import channel_counts, prune_channels
from hwcompress.tools import Toolchain
from hwcompress.train import predict
from hwcompress.verify.accelerator import verify_compiled


def calibrated(arch: str, shape, hidden=None, seed=0, width=1.0):
    torch.manual_seed(seed)
    net = build_model(ModelConfig(arch=arch, hidden=hidden, width=width), QuantConfig(), shape, 10)
    images = np.random.default_rng(seed).integers(0, 256, (64, *shape), dtype=np.uint8)
    net.train()
    with torch.no_grad():
        net(torch.from_numpy(images))
    return net.eval(), images


def zero_consumer_inputs(net, group, removed):
    """The original network with the removed channels' contributions zeroed in every consumer."""
    net = __import__("copy").deepcopy(net)
    modules = dict(net.named_modules())
    with torch.no_grad():
        for part in group.consumers:
            for channel in removed:
                modules[part.module].weight[:, channel * part.stride : (channel + 1) * part.stride] = 0
    return net


@pytest.mark.parametrize(
    ("arch", "shape", "hidden", "width"),
    [
        ("mlp", (1, 8, 8), (16, 12), 1.0),
        ("lenet5", (1, 28, 28), None, 1.0),
        ("mobilenet", (1, 28, 28), None, 0.25),
        ("resnet8", (3, 16, 16), None, 0.5),
    ],
)
def test_removing_channels_equals_silencing_them(arch, shape, hidden, width):
    net, images = calibrated(arch, shape, hidden, width=width)
    groups = coupling_groups(net)
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


def test_depthwise_convolutions_join_the_group_of_the_layer_before_them():
    net, _ = calibrated("mobilenet", (1, 28, 28), width=0.25)
    groups = sequential_groups(net)
    assert [(g.name, g.depthwise, g.consumers[0].module) for g in groups] == [
        ("conv0", ("features.conv1",), "features.conv2"),
        ("conv2", ("features.conv3",), "features.conv4"),
        ("conv4", ("features.conv5",), "features.conv6"),
        ("conv6", (), "classifier.out"),
    ]
    assert groups[0].norms == ("features.bn0", "features.bn1"), "the batch norms after the stem and the depthwise"
    pruned = prune_channels(net, groups, {"conv0": torch.tensor([0, 2, 5])})
    depthwise = pruned.features.conv1
    assert (depthwise.in_channels, depthwise.out_channels, depthwise.groups) == (3, 3, 3)
    assert depthwise.weight.shape == (3, 1, 3, 3) and pruned.features.bn1.num_features == 3
    torch.testing.assert_close(depthwise.weight, net.features.conv1.weight[[0, 2, 5]])
    assert pruned.features.conv2.in_channels == 3 and pruned(torch.zeros(1, 1, 28, 28)).shape == (1, 10)


def test_pruned_mobilenet_compiles_and_verifies_bit_exactly(tmp_path):
    net, images = calibrated("mobilenet", (1, 28, 28), width=0.25)
    groups = sequential_groups(net)
    pruned = prune_channels(net, groups, {"conv0": torch.arange(0, 8, 2), "conv2": torch.arange(0, 16, 3)}).eval()
    save_onnx(export_qonnx_model(pruned, (1, 28, 28)), tmp_path / "m.onnx")
    board, target = get_board("pynq-z2"), TargetConfig(fps=1000)
    compiled = compile_qonnx(tmp_path / "m.onnx", tmp_path / "out", board, target, CompileConfig(), Toolchain())
    result = verify_compiled(compiled.directory, images[:24], predict(pruned, images[:24]).numpy())
    assert result.mismatches == 0
    vvaus = [layer for layer in compiled.estimate.layers if layer.op_type.startswith("VVAU")]
    assert len(vvaus) == 3


def test_a_residual_stream_is_one_group_from_the_stem_to_the_next_shortcut():
    net, _ = calibrated("resnet8", (3, 16, 16), width=0.5)
    stream = coupling_groups(net)[0]
    assert stream.name == "stage0" and [part.module for part in stream.producers] == ["conv0", "conv2"]
    assert [part.module for part in stream.consumers] == ["conv1", "conv3", "conv5"]
    assert stream.observed == "add0", "PCAS and Taylor look at the stream after the addition"
    pruned = prune_channels(net, coupling_groups(net), {"stage0": torch.tensor([1, 4, 6])})
    assert pruned.conv0.out_channels == pruned.conv2.out_channels == pruned.bn2.num_features == 3
    assert pruned.conv1.in_channels == pruned.conv3.in_channels == pruned.conv5.in_channels == 3
    assert pruned.conv2.in_channels == 8, "the block's inner channels are their own group"


def test_pruned_resnet8_compiles_and_verifies_bit_exactly(tmp_path):
    net, images = calibrated("resnet8", (3, 16, 16), width=0.5)
    keep = {"stage0": torch.arange(0, 8, 2), "conv3": torch.arange(0, 16, 3), "stage2": torch.arange(0, 32, 4)}
    pruned = prune_channels(net, coupling_groups(net), keep).eval()
    save_onnx(export_qonnx_model(pruned, (3, 16, 16)), tmp_path / "m.onnx")
    board, target = get_board("pynq-z2"), TargetConfig(fps=1000)
    compiled = compile_qonnx(tmp_path / "m.onnx", tmp_path / "out", board, target, CompileConfig(), Toolchain())
    assert verify_compiled(compiled.directory, images[:24], predict(pruned, images[:24]).numpy()).mismatches == 0
    kinds = [layer.op_type.rsplit("_", 1)[0] for layer in compiled.estimate.layers]
    assert kinds.count("ElementwiseAdd") == 3 and kinds.count("DuplicateStreams") == 3


def _gemms_to_matmuls(model):
    """qonnx's GemmToMatMul needs a bias input; Brevitas exports bias-free Gemms, so give them a zero one."""
    from qonnx.transformation.gemm_to_matmul import GemmToMatMul

    for node in model.graph.node:
        if node.op_type == "Gemm" and len(node.input) == 2:
            weight = model.get_initializer(node.input[1])
            transposed = any(a.name == "transB" and a.i for a in node.attribute)
            model.set_initializer(f"{node.name}_zero_bias", np.zeros(weight.shape[0 if transposed else 1], np.float32))
            node.input.append(f"{node.name}_zero_bias")
    return model.transform(GemmToMatMul())


# The input's Reshape is upstream of every pruned channel: qonnx says it cannot carry a mask through it, and need not.
@pytest.mark.filterwarnings("ignore:Can't propagate sparsity mask through op_type Reshape:UserWarning")
def test_pruning_in_pytorch_equals_qonnx_prune_channels():
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.pruning import PruneChannels
    from qonnx.util.cleanup import cleanup_model

    net, images = calibrated("mlp", (1, 8, 8), (16, 12))
    groups = sequential_groups(net)
    keep = {"fc0": torch.tensor([0, 2, 3, 5, 7, 8, 9, 11, 13]), "fc1": torch.tensor([1, 2, 4, 6, 7, 10])}
    graph = cleanup_model(_gemms_to_matmuls(cleanup_model(export_qonnx_model(net, (1, 8, 8)), preserve_qnt_ops=False)))
    activations = [node.output[0] for node in graph.graph.node if node.op_type == "Quant"]
    removed = {
        name: {1: set(range(g.channels)) - set(keep[g.name].tolist())}
        for name, g in zip(activations, groups, strict=True)
    }
    graph = cleanup_model(graph.transform(PruneChannels(removed)))
    weights = [graph.get_initializer(n.input[1]).shape for n in graph.graph.node if n.op_type == "MatMul"]
    assert weights == [(64, 9), (9, 6), (6, 10)]
    pruned = prune_channels(net, groups, keep)
    x = images[:16].astype(np.float32)
    name_in, name_out = graph.graph.input[0].name, graph.graph.output[0].name
    from_qonnx = np.concatenate([execute_onnx(graph, {name_in: x[i : i + 1]})[name_out] for i in range(len(x))])
    np.testing.assert_array_equal(from_qonnx, predict(pruned, images[:16]).numpy())
