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
