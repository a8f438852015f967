"""EXIF orientation: prediction reads photos upright, training the stored grid.

References: NumPy rotations / flips of the stored pixels, per the EXIF
Orientation tag (6 = rotate 90 degrees clockwise to display, 8 = 90
counter-clockwise, 3 = 180, 2 / 4 = mirror, 5 / 7 = transpose /
transverse).
"""

import numpy as np
import pytest
from PIL import Image

from keras_scaleattn.data import read_image_file
from keras_scaleattn.export.folder_prediction import predict_folder
from keras_scaleattn.export.images import read_images
from keras_scaleattn.export.images import sample_images

ORIENTATION = 0x0112

DISPLAYED = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1, :],
    5: lambda a: np.swapaxes(a, 0, 1),
    6: lambda a: np.rot90(a, k=-1),
    7: lambda a: np.swapaxes(a[::-1, ::-1], 0, 1),
    8: lambda a: np.rot90(a, k=1),
}


def _save_with_orientation(path, array, orientation, **kwargs):
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    Image.fromarray(array).save(path, exif=exif.tobytes(), **kwargs)


def _marked_photo():
    """60 rows x 100 columns, black, with a white block at the top left."""
    stored = np.zeros((60, 100, 3), np.uint8)
    stored[:20, :30] = 255
    return stored


@pytest.mark.parametrize("orientation", sorted(DISPLAYED))
def test_read_images_applies_every_orientation(tmp_path, rng, orientation):
    stored = rng.integers(0, 256, size=(7, 11, 3), dtype=np.uint8)
    path = tmp_path / "photo.png"
    _save_with_orientation(path, stored, orientation)
    (image,) = read_images([str(path)])
    np.testing.assert_array_equal(image, DISPLAYED[orientation](stored))
    # Training keeps the stored grid (its masks are drawn on it).
    np.testing.assert_array_equal(read_image_file(str(path)), stored)


def test_sideways_jpeg_is_read_upright(tmp_path):
    path = tmp_path / "phone.jpg"
    _save_with_orientation(path, _marked_photo(), 6, quality=95)
    (image,) = read_images([str(path)])
    assert image.shape == (100, 60, 3)
    # Rotated clockwise: the block is now at the top right, 30 rows x 20.
    assert image[:30, -20:].min() > 200
    assert image[40:, :].max() < 50 and image[:, :30].max() < 50
    stored = read_image_file(str(path))
    assert stored.shape == (60, 100, 3)
    np.testing.assert_array_equal(image, np.rot90(stored, k=-1))


def test_sample_images_from_a_folder_are_upright(tmp_path):
    _save_with_orientation(tmp_path / "a.png", _marked_photo(), 8)
    (image,) = sample_images(tmp_path, num_images=1)
    np.testing.assert_array_equal(image, np.rot90(_marked_photo(), k=1))


def test_predicted_mask_and_overlay_have_the_displayed_size(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    _save_with_orientation(photos / "phone.png", _marked_photo(), 6)

    def runtime(image):  # class 1 where the pixel is bright
        return {"class_map": (image[..., 0] > 127).astype(np.int32)}

    predict_folder(runtime, photos, tmp_path / "out")
    mask = np.array(Image.open(tmp_path / "out" / "phone_mask.png"))
    expected = np.zeros((100, 60), np.uint8)
    expected[:30, -20:] = 1
    np.testing.assert_array_equal(mask, expected)
    with Image.open(tmp_path / "out" / "phone_overlay.png") as overlay:
        assert overlay.size == (60, 100)  # (width, height)
