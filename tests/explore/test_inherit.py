"""Weight inheritance: a candidate starts from the parent's trained weights."""

from __future__ import annotations

import torch

from hwcompress.config import ModelConfig, QuantConfig
from hwcompress.explore.inherit import PaddedTeacher, crop_columns, inherit
from hwcompress.models import build_model

SHAPE = (1, 8, 8)


def test_a_narrower_child_keeps_the_parents_strongest_channels_at_its_own_bits():
    parent_model, child_model = ModelConfig(hidden=[8]), ModelConfig(hidden=[4])
    torch.manual_seed(1)
    parent = build_model(parent_model, QuantConfig(weight_bits=4, act_bits=4), SHAPE, 10)
    with torch.no_grad():
        parent.body.fc0.weight[[1, 3, 4, 6]] *= 0.01  # these four channels are the weakest
    child = inherit(parent.state_dict(), parent_model, child_model, QuantConfig(weight_bits=2, act_bits=1), SHAPE,
                    SHAPE, 10)  # fmt: skip
    kept = [0, 2, 5, 7]
    assert torch.equal(child.body.fc0.weight, parent.body.fc0.weight[kept])
    assert torch.equal(child.body.out.weight, parent.body.out.weight[:, kept])
    assert torch.equal(child.body.bn0.running_mean, parent.body.bn0.running_mean[kept])
    assert child.body.act0.act_quant.bit_width() == 1


def test_a_cropped_child_keeps_the_first_layers_weights_on_the_remaining_pixels():
    weight = torch.arange(2 * 16, dtype=torch.float32).reshape(2, 16)  # two outputs over a 4x4 image
    cropped = crop_columns(weight, (1, 4, 4), (1, 2, 2))
    assert cropped.tolist() == [[5, 6, 9, 10], [21, 22, 25, 26]]


def test_the_teacher_sees_a_cropped_image_padded_back_to_the_parents_size():
    parent = build_model(ModelConfig(hidden=[8]), QuantConfig(), SHAPE, 10).eval()
    image = torch.zeros(3, 1, 8, 8)
    image[:, :, 2:6, 2:6] = torch.randint(0, 256, (3, 1, 4, 4)).float()
    teacher = PaddedTeacher(parent, SHAPE)
    assert torch.equal(teacher(image[:, :, 2:6, 2:6]), parent(image))


def test_a_narrower_convolutional_child_keeps_the_strongest_filters_of_every_layer():
    parent_model, child_model = ModelConfig(arch="lenet5"), ModelConfig(arch="lenet5", width=0.5)
    shape = (1, 28, 28)
    torch.manual_seed(2)
    parent = build_model(parent_model, QuantConfig(), shape, 10)
    with torch.no_grad():
        parent.features.conv0.weight[10:] *= 0.01  # the last 10 of conv0's 20 filters are the weakest
    child = inherit(parent.state_dict(), parent_model, child_model, QuantConfig(), shape, shape, 10)
    assert child_model.conv_channels == (10, 25)
    assert torch.equal(child.features.conv0.weight, parent.features.conv0.weight[:10])
    assert child.features.conv1.weight.shape[:2] == (25, 10)
    assert child(torch.zeros(2, *shape)).shape == (2, 10)
