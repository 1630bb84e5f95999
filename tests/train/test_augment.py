import torch

from hwcompress.config import AugmentConfig
from hwcompress.data.augment import augment


def _images(n=64):
    return torch.randint(1, 256, (n, 2, 5, 6), generator=torch.Generator().manual_seed(1), dtype=torch.int64).to(
        torch.uint8
    )


def test_flip_mirrors_about_half_the_images_and_leaves_the_rest():
    images = _images()
    out = augment(images, AugmentConfig(flip=True), torch.Generator().manual_seed(0))
    flipped = [bool(torch.equal(o, i.flip(-1))) for o, i in zip(out, images, strict=True)]
    kept = [bool(torch.equal(o, i)) for o, i in zip(out, images, strict=True)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True))
    assert 16 < sum(flipped) < 48 and out.dtype == torch.uint8


def test_shift_moves_each_image_by_at_most_shift_pixels_and_fills_with_zeros():
    images, shift = _images(), 2
    out = augment(images, AugmentConfig(shift=shift), torch.Generator().manual_seed(0))
    padded = torch.nn.functional.pad(images, (shift,) * 4)
    offsets = set()
    for o, p in zip(out, padded, strict=True):
        matches = [
            (dy, dx)
            for dy in range(2 * shift + 1)
            for dx in range(2 * shift + 1)
            if torch.equal(o, p[:, dy : dy + 5, dx : dx + 6])
        ]
        assert matches, "every output is a window of the zero-padded image"
        offsets.add(matches[0])
    assert len(offsets) > 10, "offsets vary from image to image"


def test_the_same_generator_state_gives_the_same_batch():
    images, cfg = _images(), AugmentConfig(flip=True, shift=3)
    a = augment(images, cfg, torch.Generator().manual_seed(7))
    b = augment(images, cfg, torch.Generator().manual_seed(7))
    assert torch.equal(a, b) and not torch.equal(a, images)
