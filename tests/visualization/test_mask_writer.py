import os

import numpy as np
import pytest
from PIL import Image

from keras_scaleattn.visualization import save_prediction


def test_mask_png_round_trips_class_ids(tmp_path):
    rng = np.random.default_rng(0)
    class_map = rng.integers(0, 21, size=(13, 17)).astype(np.int64)
    class_map[0] = 255
    image = np.full((13, 17, 3), 100, np.uint8)
    mask_path, overlay_path = save_prediction(tmp_path / "2007_000033", image, class_map)
    assert mask_path == str(tmp_path / "2007_000033_mask.png")
    assert overlay_path == str(tmp_path / "2007_000033_overlay.png")
    assert sorted(os.listdir(tmp_path)) == ["2007_000033_mask.png", "2007_000033_overlay.png"]
    with Image.open(mask_path) as mask:
        assert mask.mode == "P"
        np.testing.assert_array_equal(np.array(mask), class_map)
        colours = np.array(mask.getpalette()[: 3 * 256]).reshape(-1, 3)
    # VOC colours: person (15) and void (255).
    assert tuple(colours[15]) == (192, 128, 128)
    assert tuple(colours[255]) == (224, 224, 192)
    with Image.open(overlay_path) as blended:
        assert blended.mode == "RGB"
        pixels = np.array(blended)
    # Class 1 is (128, 0, 0): half of it over grey 100.
    row, col = np.argwhere(class_map == 1)[0]
    assert pixels[row, col].tolist() == [114, 50, 50]


def test_custom_palette_and_errors(tmp_path):
    image = np.zeros((2, 2, 3), np.uint8)
    class_map = np.array([[0, 1], [1, 0]])
    mask_path, _ = save_prediction(tmp_path / "x", image, class_map, palette=[[9, 9, 9], [7, 8, 9]])
    with Image.open(mask_path) as mask:
        assert mask.getpalette()[:6] == [9, 9, 9, 7, 8, 9]
        np.testing.assert_array_equal(np.array(mask), class_map)
    with pytest.raises(ValueError, match="class_map"):
        save_prediction(tmp_path / "y", image, np.full((2, 2), 300))
    with pytest.raises(ValueError, match="class_map"):
        save_prediction(tmp_path / "y", image, class_map.astype(np.float32))
    assert sorted(os.listdir(tmp_path)) == ["x_mask.png", "x_overlay.png"]
