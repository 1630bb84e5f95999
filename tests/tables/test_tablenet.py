"""The trainable table network: its encoder, its gradients, and the tables it enumerates into."""

import numpy as np
import pytest
import torch

from hwcompress.models.tablenet import TableNet, efd
from hwcompress.models.thermometer import fit_thresholds, thermometer
from hwcompress.tables.check import check_tables, network_counts
from hwcompress.tables.tables import TableModel


def test_thresholds_are_increasing_multiples_of_4_from_the_nonzero_pixels():
    pixels = np.concatenate([np.zeros(1000), np.arange(1, 256)]).astype(np.uint8)
    thresholds = fit_thresholds(pixels, 3)
    assert thresholds.tolist() == [64, 128, 192], "quartiles of 1..255, rounded to multiples of 4"
    crowded = fit_thresholds(np.full(100, 255, np.uint8), 8)  # every quantile is 255
    assert (np.diff(crowded) > 0).all() and (crowded % 4 == 0).all() and crowded.max() <= 252


def test_thermometer_bits_follow_pixel_order_then_threshold_order():
    bits = thermometer(np.array([[0, 100, 255]], np.uint8), np.array([64, 128]))
    assert bits.tolist() == [[0, 0, 1, 0, 1, 1]]


def test_extended_finite_difference_matches_its_definition():
    """d/d(input k) = sum over addresses p with bit k clear of alpha * beta^h * (T[p + 2^k] - T[p]), h the Hamming
    distance of p from the current address on the other bits (DWN, Bacellar et al. 2024)."""
    torch.manual_seed(0)
    fan_in = 4
    table = torch.rand(3, 2**fan_in, dtype=torch.float64) * 2 - 1
    address = torch.randint(0, 2**fan_in, (5, 3))
    alpha, beta = 0.5 * 0.75 ** (fan_in - 1), 0.25 / 0.75
    expected = torch.zeros(5, 3, fan_in, dtype=torch.float64)
    for b in range(5):
        for n in range(3):
            for k in range(fan_in):
                for p in range(2**fan_in):
                    if not (p >> k) & 1:
                        h = bin((p ^ int(address[b, n])) & ~(1 << k)).count("1")
                        expected[b, n, k] += alpha * beta**h * (table[n, p | 1 << k] - table[n, p])
    assert torch.allclose(efd(table, address, fan_in), expected, atol=1e-12)


@pytest.mark.parametrize(
    ("nodes", "wiring"),
    [
        ((100,), {"learned": True}),
        ((100,), {"learned": True, "candidates": 8}),
        ((100,), {"learned": False}),
        ((120, 60), {"learned": True}),  # the first layer learns through the second's wiring
    ],
)
def test_every_parameter_gets_a_gradient_and_training_lowers_the_loss(digits_images, nodes, wiring):
    images, labels = digits_images
    torch.manual_seed(0)
    net = TableNet((1, 8, 8), 10, nodes=nodes, fan_in=6, thermometer=2, **wiring)
    net.calibrate(images)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    x, y = torch.from_numpy(images), torch.from_numpy(labels)
    losses = []
    for _ in range(15):
        loss = torch.nn.functional.cross_entropy(net(x), y)
        optimizer.zero_grad()
        loss.backward()
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]


def test_tables_answer_exactly_as_the_network_on_every_image(small_net, small_model, digits_images):
    images, labels = digits_images
    counts = small_model.counts(images)
    assert np.array_equal(counts, network_counts(small_net, images))
    assert counts.sum(axis=1).max() <= 30 and counts.shape == (len(images), 10)
    check = check_tables(small_net, small_model, images, labels)
    assert check.mismatches == 0 and check.accuracy_torch == check.accuracy_tables


def test_ties_go_to_the_lowest_class():
    model = TableModel(np.array([128]), (), 3, (1, 1, 3))
    # no layers: the counts are the thermometer bits themselves, one node per class
    assert model.predict(np.array([[[[0, 200, 200]]], [[[200, 0, 200]]]], np.uint8)).tolist() == [1, 0]


def test_tables_survive_saving_and_loading(tmp_path, small_model, digits_images):
    small_model.save(tmp_path)
    loaded = TableModel.load(tmp_path)
    assert np.array_equal(loaded.counts(digits_images[0]), small_model.counts(digits_images[0]))
    assert loaded.input_shape == (1, 8, 8) and loaded.classes == 10
