"""list_image_files: which files of a folder are images to read."""

import numpy as np
import pytest
from PIL import Image

from keras_scaleattn.export.images import list_image_files


def _write_corrupt(path):
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 4)


def test_hidden_files_are_not_listed(tmp_path):
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "b.png")
    _write_corrupt(tmp_path / "._b.png")  # a macOS resource fork
    (tmp_path / ".hidden.jpg").write_bytes(b"")
    assert list_image_files(tmp_path) == [str(tmp_path / "b.png")]


def test_only_hidden_files_is_no_image(tmp_path):
    _write_corrupt(tmp_path / "._b.png")
    with pytest.raises(ValueError, match="holds no image file .*hidden"):
        list_image_files(tmp_path)


def test_export_sample_images_skip_a_resource_fork(tmp_path):
    from keras_scaleattn.export.images import sample_images

    Image.fromarray(np.full((5, 7, 3), 9, np.uint8)).save(tmp_path / "a.png")
    _write_corrupt(tmp_path / "._a.png")
    (image,) = sample_images(tmp_path)
    np.testing.assert_array_equal(image, np.full((5, 7, 3), 9, np.uint8))


def test_prediction_outputs_are_not_listed_unless_asked(tmp_path):
    # An images folder that was also predict.py's --out-dir: its masks and
    # overlays are no photos to export with or calibrate on.
    from keras_scaleattn.export.exporter import split_image_files

    for name in ("a.png", "a_mask.png", "a_overlay.png", "b.jpg",
                 "b_MASK.png", "c.png"):
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / name)
    photos = [str(tmp_path / n) for n in ("a.png", "b.jpg", "c.png")]
    assert list_image_files(tmp_path) == photos
    assert split_image_files(list_image_files(tmp_path), 1, 2) == (
        photos[:1], photos[1:])
    assert len(list_image_files(tmp_path, skip_prediction_outputs=False)) == 6


def test_only_prediction_outputs_is_no_image(tmp_path):
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "a_mask.png")
    with pytest.raises(ValueError, match=r"prediction outputs, named "
                       r"\*_mask.png, \*_overlay.png, are skipped"):
        list_image_files(tmp_path)
