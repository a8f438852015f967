import numpy as np
import pytest

from keras_scaleattn.visualization import colorize
from keras_scaleattn.visualization import overlay
from keras_scaleattn.visualization import voc_palette


def _devkit_colormap(n):
    """VOClabelcolormap.m from the VOC devkit, transcribed loop for loop."""
    cmap = []
    for i in range(n):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        cmap.append((r, g, b))
    return cmap


def test_known_entries():
    palette = voc_palette()
    assert palette.shape == (256, 3) and palette.dtype == np.uint8
    assert tuple(palette[0]) == (0, 0, 0)
    assert tuple(palette[1]) == (128, 0, 0)
    assert tuple(palette[2]) == (0, 128, 0)
    assert tuple(palette[15]) == (192, 128, 128)
    assert tuple(palette[255]) == (224, 224, 192)


def test_matches_devkit_and_truncates():
    assert [tuple(c) for c in voc_palette().tolist()] == _devkit_colormap(256)
    np.testing.assert_array_equal(voc_palette(21), voc_palette()[:21])
    with pytest.raises(ValueError, match="num_colors=257"):
        voc_palette(257)


def test_colorize():
    out = colorize(np.array([[0, 1], [15, 255]], np.uint8))
    assert out.dtype == np.uint8 and out.shape == (2, 2, 3)
    assert out.tolist() == [[[0, 0, 0], [128, 0, 0]], [[192, 128, 128], [224, 224, 192]]]
    custom = colorize(np.array([1, 0]), palette=[[1, 2, 3], [4, 5, 6]])
    assert custom.tolist() == [[4, 5, 6], [1, 2, 3]]
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        colorize(np.array([2]), palette=[[1, 2, 3], [4, 5, 6]])
    with pytest.raises(ValueError, match="dtype"):
        colorize(np.array([0.5]))
    with pytest.raises(ValueError, match="palette"):
        colorize(np.array([0]), palette=[[1, 2]])


def test_overlay_blends_by_alpha():
    image = np.array([[[10, 20, 30], [200, 100, 50]]], np.uint8)
    class_map = np.array([[1, 2]])  # (128, 0, 0), (0, 128, 0)
    np.testing.assert_array_equal(overlay(image, class_map, alpha=0.0), image)
    assert overlay(image, class_map, alpha=1.0).tolist() == [[[128, 0, 0], [0, 128, 0]]]
    half = overlay(image, class_map, alpha=0.5)
    assert half.dtype == np.uint8
    assert half.tolist() == [[[69, 10, 15], [100, 114, 25]]]


def test_overlay_errors():
    image = np.zeros((2, 3, 3), np.uint8)
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3, 3\)"):
        overlay(image, np.zeros((3, 2), int))
    with pytest.raises(ValueError, match="alpha=1.5"):
        overlay(image, np.zeros((2, 3), int), alpha=1.5)
    with pytest.raises(ValueError, match="uint8"):
        overlay(image.astype(np.float32), np.zeros((2, 3), int))
