"""Augmentation functions against NumPy expectations."""

import numpy as np
import pytest
import tensorflow as tf

from keras_scaleattn.data import MEAN_RGB
from keras_scaleattn.data import pad_to_size
from keras_scaleattn.data import random_crop
from keras_scaleattn.data import random_mirror
from keras_scaleattn.data import random_scale


def _coded_example(height, width):
    """Image whose channels hold (row, col, row*width+col mod 251), and a label
    holding the pixel's index mod 200: any window can be located exactly."""
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    image = np.stack([rows, cols, (rows * width + cols) % 251], -1).astype(np.uint8)
    label = ((rows * width + cols) % 200).astype(np.uint8)
    return image, label


def _bilinear_half_pixel(image, out_h, out_w):
    """NumPy bilinear resize with half-pixel centres (no antialiasing)."""
    in_h, in_w = image.shape[:2]

    def coords(out_size, in_size):
        x = (np.arange(out_size) + 0.5) * in_size / out_size - 0.5
        x = np.clip(x, 0, in_size - 1)
        lo = np.floor(x).astype(int)
        hi = np.minimum(lo + 1, in_size - 1)
        return lo, hi, x - lo

    y0, y1, fy = coords(out_h, in_h)
    x0, x1, fx = coords(out_w, in_w)
    image = image.astype(np.float64)
    wx = fx[None, :, None]
    top = image[y0][:, x0] * (1 - wx) + image[y0][:, x1] * wx
    bottom = image[y1][:, x0] * (1 - wx) + image[y1][:, x1] * wx
    return top * (1 - fy)[:, None, None] + bottom * fy[:, None, None]


def _nearest_half_pixel(label, out_h, out_w):
    in_h, in_w = label.shape
    rows = np.minimum(np.floor((np.arange(out_h) + 0.5) * in_h / out_h), in_h - 1)
    cols = np.minimum(np.floor((np.arange(out_w) + 0.5) * in_w / out_w), in_w - 1)
    return label[rows.astype(int)][:, cols.astype(int)]


def test_pad_to_size_uses_exactly_mean_rgb_and_ignore_label():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (3, 2, 3), dtype=np.uint8)
    label = rng.integers(0, 21, (3, 2), dtype=np.uint8)

    out_image, out_label = pad_to_size(image, label, (5, 4))

    expected_image = np.empty((5, 4, 3), np.float32)
    expected_image[:] = np.asarray(MEAN_RGB, np.float32)
    expected_image[:3, :2] = image
    expected_label = np.full((5, 4), 255, np.uint8)
    expected_label[:3, :2] = label
    assert out_image.dtype == tf.float32
    np.testing.assert_array_equal(out_image.numpy(), expected_image)
    np.testing.assert_array_equal(out_label.numpy(), expected_label)


def test_pad_to_size_never_crops_a_larger_image():
    image = np.ones((6, 3, 3), np.uint8)
    label = np.zeros((6, 3), np.int32)
    out_image, out_label = pad_to_size(image, label, 4)
    assert out_image.shape == (6, 4, 3)
    np.testing.assert_array_equal(out_image.numpy()[:, :3], 1.0)
    np.testing.assert_array_equal(out_label.numpy()[:, 3], 255)
    assert out_label.dtype == tf.int32


def _locate(crop_image):
    """Top-left of a crop of `_coded_example`, read from its first pixel."""
    return int(crop_image[0, 0, 0]), int(crop_image[0, 0, 1])


def test_random_crop_takes_image_and_label_from_the_same_window():
    image, label = _coded_example(12, 15)
    positions = set()
    for s in range(60):
        out_image, out_label = random_crop(image, label, (5, 7), seed=[s, 3])
        top, left = _locate(out_image.numpy())
        positions.add((top, left))
        np.testing.assert_array_equal(
            out_image.numpy(), image[top : top + 5, left : left + 7].astype(np.float32)
        )
        np.testing.assert_array_equal(
            out_label.numpy(), label[top : top + 5, left : left + 7]
        )
    # Every window stays inside the image, and different seeds move it.
    assert all(0 <= t <= 12 - 5 and 0 <= l <= 15 - 7 for t, l in positions)
    assert len(positions) > 20


def test_random_crop_reaches_every_offset():
    image, label = _coded_example(6, 6)
    positions = {
        _locate(random_crop(image, label, 4, seed=[s, 0])[0].numpy())
        for s in range(200)
    }
    assert positions == {(t, l) for t in range(3) for l in range(3)}


def test_random_crop_same_seed_same_result():
    image, label = _coded_example(20, 20)
    a = random_crop(image, label, 8, seed=[7, 7])
    b = random_crop(image, label, 8, seed=tf.constant([7, 7], tf.int64))
    np.testing.assert_array_equal(a[0].numpy(), b[0].numpy())
    np.testing.assert_array_equal(a[1].numpy(), b[1].numpy())


def test_random_crop_of_too_small_image_fails_clearly():
    image, label = _coded_example(4, 4)
    with pytest.raises(tf.errors.InvalidArgumentError, match="pad it first"):
        random_crop(image, label, 5, seed=[0, 0])


def test_random_mirror_flips_image_and_label_together():
    image, label = _coded_example(4, 6)
    outcomes = set()
    for s in range(20):
        out_image, out_label = random_mirror(image, label, seed=[s, 1])
        flipped = bool(out_image.numpy()[0, 0, 1] == 5)
        outcomes.add(flipped)
        expected_image = image[:, ::-1] if flipped else image
        expected_label = label[:, ::-1] if flipped else label
        np.testing.assert_array_equal(
            out_image.numpy(), expected_image.astype(np.float32)
        )
        np.testing.assert_array_equal(out_label.numpy(), expected_label)
    assert outcomes == {True, False}


def test_random_scale_fixed_factor_matches_numpy_resizes():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (4, 6, 3), dtype=np.uint8)
    label = rng.integers(0, 5, (4, 6), dtype=np.uint8)

    out_image, out_label = random_scale(image, label, [0, 0], scale_range=(1.5, 1.5))

    assert out_image.shape == (6, 9, 3) and out_label.shape == (6, 9)
    np.testing.assert_allclose(
        out_image.numpy(), _bilinear_half_pixel(image, 6, 9), atol=1e-3
    )
    np.testing.assert_array_equal(out_label.numpy(), _nearest_half_pixel(label, 6, 9))
    assert out_label.dtype == tf.uint8


def test_random_scale_draws_factor_in_range_and_is_seeded():
    image = np.zeros((20, 30, 3), np.uint8)
    label = np.zeros((20, 30), np.uint8)
    heights = set()
    for s in range(30):
        out_image, out_label = random_scale(image, label, [s, 5], (0.5, 1.5))
        h, w = out_image.shape[:2]
        assert 10 <= h <= 30 and 15 <= w <= 45
        assert out_label.shape == (h, w)
        heights.add(h)
        again = random_scale(image, label, [s, 5], (0.5, 1.5))[0]
        assert again.shape == out_image.shape
    assert len(heights) > 5


def test_bad_arguments_raise_value_error_naming_them():
    # One test for all cases: they are pure argument checks, and each test
    # item pays for the root conftest's keras session reset.
    image, label = np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8)
    for kwargs, name in [
        (dict(scale_range=(1.4, 0.6)), "scale_range"),
        (dict(scale_range=(0.0, 1.0)), "scale_range"),
        (dict(scale_range=0.5), "scale_range"),
        (dict(seed=[1, 2, 3]), "seed"),
        (dict(seed=[0.5, 1.0]), "seed"),
    ]:
        args = dict(seed=[0, 0], scale_range=(0.5, 1.5))
        args.update(kwargs)
        with pytest.raises(ValueError, match=name):
            random_scale(image, label, **args)
    for size in [0, -3, (4,), (4, 0), 2.5, True]:
        with pytest.raises(ValueError, match=r"`size`.*Received: size="):
            pad_to_size(image, label, size)
        with pytest.raises(ValueError, match=r"`size`.*Received: size="):
            random_crop(image, label, size, seed=[0, 0])
