import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest

from hwcompress.config import DataConfig
from hwcompress.data import SearchPath, load_dataset, load_splits
from hwcompress.data.idx import read_idx
from hwcompress.errors import DatasetError

NOWHERE = SearchPath(cache=Path("/nonexistent/cache"), system=Path("/nonexistent/system"))


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
def test_idx_files_load_gzipped_or_raw_as_uint8_nchw(tmp_path, gz, write_idx_set):
    arrays = write_idx_set(tmp_path / "mnist", gz=gz)
    data = load_dataset(DataConfig(name="mnist", path=tmp_path / "mnist", download=False), NOWHERE)
    assert data.train_x.dtype == np.uint8 and data.train_x.shape == (20, 1, 28, 28)
    np.testing.assert_array_equal(data.test_x[:, 0], arrays["t10k-images-idx3-ubyte"])
    np.testing.assert_array_equal(data.train_y, arrays["train-labels-idx1-ubyte"])


def test_truncated_idx_file_is_a_clear_error(idx_dir):
    path = idx_dir / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-100]))
    with pytest.raises(DatasetError, match=r"t10k-images-idx3-ubyte.gz: truncated or padded: .* replace the file"):
        read_idx(path, 3)


def test_wrong_magic_number_is_a_clear_error(tmp_path):
    path = tmp_path / "labels"
    path.write_bytes(b"\x00\x00\x0d\x01" + b"\x00\x00\x00\x02" + b"\x01\x02")
    with pytest.raises(DatasetError, match="not an unsigned-byte IDX file with 1 dimension"):
        read_idx(path, 1)


def test_corrupt_gzip_is_a_clear_error(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(b"definitely not gzip")
    with pytest.raises(DatasetError, match="cannot be read"):
        read_idx(path, 3)


def test_image_and_label_counts_must_agree(idx_dir, idx_bytes):
    (idx_dir / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(7))))
    with pytest.raises(DatasetError, match="20 train images but 7 labels"):
        load_dataset(DataConfig(name="mnist", path=idx_dir, download=False), NOWHERE)


def test_discovery_order_explicit_then_data_root_then_cache_then_system(tmp_path, write_idx_set):
    labels = {
        place: write_idx_set(tmp_path / place / "fashion-mnist", seed=seed)["train-labels-idx1-ubyte"]
        for seed, place in enumerate(("explicit", "root", "cache", "sys"))
    }
    explicit = tmp_path / "explicit" / "fashion-mnist"

    def source(explicit_path, roots=(tmp_path / "root",), cache="cache"):
        search = SearchPath(roots=roots, cache=tmp_path / cache, system=tmp_path / "sys")
        found = load_dataset(DataConfig(name="fashion-mnist", path=explicit_path, download=False), search).train_y
        return next(place for place, expected in labels.items() if np.array_equal(found, expected))

    assert source(explicit) == "explicit"
    assert source(None) == "root"
    assert source(None, roots=()) == "cache"
    assert source(None, roots=(), cache="empty") == "sys"


def test_missing_dataset_says_which_files_go_where(tmp_path):
    search = SearchPath(roots=(tmp_path / "root",), cache=tmp_path / "cache", system=tmp_path / "sys")
    with pytest.raises(DatasetError) as err:
        load_dataset(DataConfig(name="mnist", download=False), search)
    message = str(err.value)
    assert "dataset 'mnist' not found" in message
    assert "t10k-images-idx3-ubyte.gz" in message
    for place in ("root/mnist", "cache/mnist", "sys/mnist"):
        assert str(tmp_path / place) in message
    assert "\n" not in message


def test_cifar10_batches_load_as_uint8_rgb(tmp_path, write_cifar):
    first = write_cifar(tmp_path / "cifar")
    data = load_dataset(DataConfig(name="cifar10", path=tmp_path / "cifar", download=False), NOWHERE)
    assert data.train_x.shape == (20, 3, 32, 32) and data.test_x.shape == (4, 3, 32, 32)
    np.testing.assert_array_equal(data.train_x[0], first[0].reshape(3, 32, 32))
    assert data.classes[0] == "airplane"


def test_cifar10_batch_that_tries_to_run_code_is_refused(tmp_path, write_cifar):
    write_cifar(tmp_path / "cifar")

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (tmp_path / "cifar" / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps({b"data": Evil()}))
    with pytest.raises(DatasetError, match=r"refusing to load builtins\.print"):
        load_dataset(DataConfig(name="cifar10", path=tmp_path / "cifar", download=False), NOWHERE)


def test_digits_are_embedded_uint8_with_a_fixed_test_split():
    data = load_dataset(DataConfig(name="digits"), NOWHERE)
    assert data.train_x.dtype == np.uint8 and data.input_shape == (1, 8, 8)
    assert len(data.train_x) + len(data.test_x) == 1797
    assert data.train_x.max() == 255 and data.train_x.min() == 0
    again = load_dataset(DataConfig(name="digits"), NOWHERE)
    np.testing.assert_array_equal(data.test_y, again.test_y)


def test_validation_split_is_fixed_by_its_seed_and_independent_of_limits():
    a = load_splits(DataConfig(name="digits", val_fraction=0.2, split_seed=3), NOWHERE)
    b = load_splits(DataConfig(name="digits", val_fraction=0.2, split_seed=3, train_limit=100), NOWHERE)
    c = load_splits(DataConfig(name="digits", val_fraction=0.2, split_seed=4), NOWHERE)
    np.testing.assert_array_equal(a.val_x, b.val_x)
    assert len(b.train_x) == 100 and len(a.val_x) == round(1438 * 0.2)
    assert not np.array_equal(a.val_y, c.val_y)
    whole = load_dataset(DataConfig(name="digits"), NOWHERE)
    rows = sorted(x.tobytes() for x in np.concatenate([a.train_x, a.val_x]))
    assert rows == sorted(x.tobytes() for x in whole.train_x), "train + val must partition the training data"


def test_real_mnist_has_the_standard_counts(mnist_dir):
    data = load_dataset(DataConfig(name="mnist", path=mnist_dir, download=False), NOWHERE)
    assert (len(data.train_x), len(data.test_x)) == (60_000, 10_000)
    assert data.input_shape == (1, 28, 28) and set(np.unique(data.test_y)) == set(range(10))


def test_pad_to_centres_every_split_in_zeros_and_refuses_to_shrink():
    plain = load_splits(DataConfig(name="digits"), NOWHERE)
    padded = load_splits(DataConfig(name="digits", pad_to=11), NOWHERE)
    assert padded.input_shape == (1, 11, 11)
    for before, after in ((plain.train_x, padded.train_x), (plain.val_x, padded.val_x), (plain.test_x, padded.test_x)):
        np.testing.assert_array_equal(after[:, :, 1:9, 1:9], before)
        assert after.sum() == before.sum(), "padding adds zeros only"
    with pytest.raises(DatasetError, match=r"data\.pad_to is 6 but the images are 8x8"):
        load_splits(DataConfig(name="digits", pad_to=6), NOWHERE)


def test_crop_keeps_the_centre_of_every_image_in_every_split():
    full = load_splits(DataConfig(name="digits"), SearchPath())
    cropped = load_splits(DataConfig(name="digits", crop_to=4), SearchPath())
    for part in ("train_x", "val_x", "test_x"):
        assert (getattr(cropped, part) == getattr(full, part)[:, :, 2:6, 2:6]).all()
    assert DataConfig(crop_to=4, pad_to=6).image_shape((1, 8, 8)) == (1, 6, 6)
