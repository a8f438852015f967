"""read_image_file on images that are not 8-bit RGB: 16-bit, 32-bit, float.

The references are computed here with NumPy: 16-bit values map to 8 bits as
round(v / 257) (65535 -> 255, 32768 -> 128), grey repeated on R, G and B.
"""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from keras_scaleattn.data import read_image_file
from keras_scaleattn.data.file_pairs import file_pair_dataset


def _expected_rgb(gray16):
    """By hand: round(v / 257) in floating point, repeated on 3 channels."""
    gray8 = np.rint(np.asarray(gray16, np.float64) / 257.0).astype(np.uint8)
    return np.stack([gray8] * 3, axis=-1)


def _png_chunk(kind, data):
    body = kind + data
    return (struct.pack(">I", len(data)) + body
            + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF))


def _write_png16(path, array):
    """A 16-bit PNG (grey [H, W] or RGB [H, W, 3]) written byte by byte."""
    array = np.asarray(array, ">u2")
    height, width = array.shape[:2]
    colour_type = 2 if array.ndim == 3 else 0
    rows = array.reshape(height, -1)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
                + _png_chunk(b"IDAT", zlib.compress(raw))
                + _png_chunk(b"IEND", b""))


def test_mid_grey_16_bit_png_is_mid_grey(tmp_path):
    path = tmp_path / "grey.png"
    Image.fromarray(np.full((10, 10), 32768, np.uint16)).save(path)
    image = read_image_file(str(path))
    assert image.dtype == np.uint8 and image.shape == (10, 10, 3)
    assert np.all(image == 128)


def test_16_bit_extremes_are_black_and_white(tmp_path):
    path = tmp_path / "ends.png"
    Image.fromarray(np.array([[0, 257, 65535]], np.uint16)).save(path)
    np.testing.assert_array_equal(read_image_file(str(path))[0],
                                  [[0, 0, 0], [1, 1, 1], [255, 255, 255]])


@pytest.mark.parametrize("name, mode", [
    ("png_pil.png", "I;16"), ("hand.png", "I;16"), ("little.tif", "I;16"),
    ("big.tif", "I;16B"), ("int32.tif", "I"), ("stretched.pgm", "I")])
def test_random_16_bit_grey_is_scaled_by_257(tmp_path, rng, name, mode):
    gray = rng.integers(0, 65536, size=(23, 31), dtype=np.uint16)
    path = tmp_path / name
    if name == "hand.png":
        _write_png16(path, gray)
    elif name == "big.tif":
        Image.frombytes("I;16B", (31, 23),
                        gray.astype(">u2").tobytes()).save(path)
    elif name == "int32.tif":
        Image.fromarray(gray.astype(np.int32)).save(path)
    elif name == "stretched.pgm":
        # maxval 65535: PIL reads it as mode "I" with the values unchanged.
        path.write_bytes(b"P5 31 23 65535\n" + gray.astype(">u2").tobytes())
    else:
        Image.fromarray(gray).save(path)
    with Image.open(path) as img:
        assert img.mode == mode
    image = read_image_file(str(path))
    np.testing.assert_array_equal(image, _expected_rgb(gray))
    # The old code saturated: most of a random 16-bit image became 255.
    assert np.mean(image == 255) < 0.01


def test_48_bit_rgb_png_keeps_its_high_bytes(tmp_path, rng):
    rgb = rng.integers(0, 65536, size=(9, 13, 3), dtype=np.uint16)
    path = tmp_path / "rgb48.png"
    _write_png16(path, rgb)
    np.testing.assert_array_equal(read_image_file(str(path)),
                                  (rgb >> 8).astype(np.uint8))


def test_32_bit_integers_outside_16_bits_name_the_file(tmp_path):
    path = tmp_path / "wide.tif"
    Image.fromarray(np.array([[0, 70000]], np.int32)).save(path)
    with pytest.raises(ValueError, match=r"wide\.tif' is a 32-bit integer "
                       r"image \(PIL mode 'I'\) with values in \[0, 70000\]"):
        read_image_file(str(path))


def test_float_image_is_refused_with_file_and_mode(tmp_path):
    path = tmp_path / "float.tif"
    Image.fromarray(np.full((4, 4), 0.5, np.float32)).save(path)
    with pytest.raises(ValueError, match=r"float\.tif' is a floating-point "
                       r"image \(PIL mode 'F'\)"):
        read_image_file(str(path))


@pytest.mark.parametrize("mode", ["RGB", "L", "P", "RGBA", "LA", "1",
                                  "CMYK"])
def test_8_bit_images_read_as_pil_converts_them(tmp_path, rng, mode):
    rgb = rng.integers(0, 256, size=(17, 21, 3), dtype=np.uint8)
    image = Image.fromarray(rgb).convert(mode)
    path = tmp_path / ("x.jpg" if mode == "CMYK" else "x.png")
    image.save(path)
    with Image.open(path) as img:
        expected = np.asarray(img.convert("RGB"))
    np.testing.assert_array_equal(read_image_file(str(path)), expected)


def test_training_pairs_read_16_bit_images_scaled(tmp_path, rng):
    gray = rng.integers(0, 65536, size=(11, 14), dtype=np.uint16)
    image_path = tmp_path / "a.png"
    mask_path = tmp_path / "a_label.png"
    Image.fromarray(gray).save(image_path)
    Image.fromarray(np.zeros((11, 14), np.uint8)).save(mask_path)
    ds = file_pair_dataset([str(image_path)], [str(mask_path)],
                           num_classes=2)
    (image, label), = list(ds.as_numpy_iterator())
    np.testing.assert_array_equal(image, _expected_rgb(gray))


def test_decompression_bomb_header_is_a_value_error_naming_the_file(
        tmp_path):
    # 20000 x 20000 pixels: over twice PIL's MAX_IMAGE_PIXELS, refused by
    # Image.open from the header alone.
    path = tmp_path / "bomb.png"
    header = struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
                     + _png_chunk(b"IEND", b""))
    with pytest.raises(ValueError, match=r"Cannot decode image file "
                       r"'.*bomb\.png': .*decompression bomb"):
        read_image_file(str(path))


def test_jpeg_masks_are_refused_naming_the_file(tmp_path):
    # A grayscale class-id mask saved as JPEG: compression invents ids at
    # the edge between classes 0 and 9 (PIL decodes values other than 0/9).
    from keras_scaleattn.data.file_pairs import read_mask_file

    mask = np.zeros((16, 16), np.uint8)
    mask[:, 5:] = 9
    path = tmp_path / "mask.jpg"
    Image.fromarray(mask).save(path, quality=75)
    assert set(np.unique(np.asarray(Image.open(path)))) - {0, 9}
    with pytest.raises(ValueError, match=r"Mask file '.*mask\.jpg' is a JPEG: "
                       "lossy compression"):
        read_mask_file(str(path))
    Image.fromarray(mask).save(tmp_path / "mask.png")
    np.testing.assert_array_equal(read_mask_file(str(tmp_path / "mask.png")),
                                  mask)
