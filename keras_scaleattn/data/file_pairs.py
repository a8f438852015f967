"""Reads (image file, mask file) pairs into a source dataset.

Shared by the file-backed loaders (`voc`, `list_file`, `person_part`).

Why PIL and not `tf.io.decode_png`: segmentation masks such as PASCAL VOC's
`SegmentationClass/*.png` are *palette* PNGs whose palette index is the class
id. `tf.io.decode_png` (TF 2.21, checked with `channels=0, 1, 3` and
`tf.io.decode_image`) expands a palette to its RGB colours, so the class ids
are lost; PIL's `np.asarray(Image.open(path))` on a mode-"P" image returns the
indices. Images are decoded with PIL too, inside the same
`tf.numpy_function`, so that a corrupt or truncated file raises an error that
names the file (TF's decoders report only "Invalid JPEG data"). PIL
decodes JPEGs with libjpeg's accurate integer DCT: the pixels equal
`tf.io.decode_jpeg(..., dct_method="INTEGER_ACCURATE")` (TF's default,
INTEGER_FAST, differs by a few levels), which is what a serving-side decoder
should use to see the same pixels as training.

The size check and the class-id check are graph asserts
(`validation.check_example`) fed with the file names.
"""

import os

import numpy as np
import tensorflow as tf
from PIL import Image
from PIL import ImageOps

from keras_scaleattn.data.validation import check_example
from keras_scaleattn.data.validation import check_int
from keras_scaleattn.data.validation import check_num_classes

# Mask modes whose pixel values are class ids. "RGB"/"RGBA" masks (colour-coded
# labels) are refused: mapping colours back to ids needs the dataset's palette.
_MASK_MODES = ("P", "L", "1", "I", "I;16", "I;16B", "I;16L")

# How many missing files an error message lists before "...".
_MAX_LISTED = 5


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class _ImageModeError(ValueError):
    """A decodable image whose pixel format cannot be mapped to 8 bits."""


# PIL modes of 16-bit grayscale images (PNG, TIFF). PIL reads a PGM with
# maxval > 255 as mode "I" (32-bit), its values stretched to [0, 65535].
_GRAY16_MODES = ("I;16", "I;16L", "I;16B", "I;16N")


def _rgb_array(img, path):
    """The uint8 `[H, W, 3]` pixels of a loaded PIL image (see above)."""
    if img.mode in _GRAY16_MODES or img.mode == "I":
        gray = np.asarray(img)
        if img.mode == "I" and gray.size and (
                gray.min() < 0 or gray.max() > 65535):
            raise _ImageModeError(
                f"Image file '{path}' is a 32-bit integer image (PIL mode "
                f"'I') with values in [{gray.min()}, {gray.max()}]; expected "
                "values in [0, 65535] (16-bit) to scale to 8 bits. Convert "
                "it to an 8-bit or 16-bit image."
            )
        # round(v / 257) in integers: (v + 128) // 257 (257 is odd, no ties).
        gray = ((gray.astype(np.uint32) + 128) // 257).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=-1)
    if img.mode == "F":
        raise _ImageModeError(
            f"Image file '{path}' is a floating-point image (PIL mode 'F'); "
            "expected an 8-bit or 16-bit image, since float pixels have no "
            "single convention for white (1.0? 255? 65535?). Convert it to "
            "8 or 16 bits."
        )
    if img.mode != "RGB":
        img = img.convert("RGB")
    return np.asarray(img, dtype=np.uint8)


def read_image_file(path, *, apply_exif_orientation=False):
    """Reads an image file as a uint8 RGB array.

    Grayscale, palette and CMYK images are converted to RGB; an alpha
    channel is dropped. 16-bit grayscale images (PIL modes "I;16",
    "I;16L", "I;16B", "I;16N", and "I", 32-bit integers, whose values
    must then lie in [0, 65535]) are scaled to 8 bits as
    `round(value / 257)`, so that 65535 is white (255) and 32768 is
    mid-grey (128); 48-bit RGB PNGs are read by PIL as their high bytes.

    By default the pixels are the file's stored grid and an EXIF
    Orientation tag is ignored: training reads images this way, since
    annotation masks are drawn on the stored grid (PASCAL VOC has no
    rotated images) and an image rotated without its mask would no longer
    match it. Prediction (`keras_scaleattn.export.images.read_images`)
    applies the tag, so that a phone photo is segmented upright, as
    viewers show it.

    Args:
        path: str or bytes. The image file.
        apply_exif_orientation: bool. If True, rotate / flip the image as
            its EXIF Orientation tag says (`PIL.ImageOps.exif_transpose`):
            a 100x60 (WxH) JPEG with Orientation 6 becomes 60x100. Defaults
            to False (the stored grid).

    Returns:
        numpy uint8 array `[H, W, 3]`.

    Raises:
        ValueError: if the file cannot be opened or decoded (corrupt,
            truncated, or a header claiming over twice PIL's
            `Image.MAX_IMAGE_PIXELS`), is a floating-point image (PIL mode
            "F": no single convention says which value is white), or a
            32-bit integer image with values outside [0, 65535]; the
            message names the file.

    Example:

    >>> image = read_image_file("JPEGImages/2007_000032.jpg")  # doctest: +SKIP
    >>> image.shape, image.dtype  # doctest: +SKIP
    ((281, 500, 3), dtype('uint8'))
    """
    path = _text(path)
    try:
        with Image.open(path) as img:
            img.load()
            if apply_exif_orientation:
                img = ImageOps.exif_transpose(img)
            array = _rgb_array(img, path)
    except (OSError, ValueError, SyntaxError,
            Image.DecompressionBombError) as error:
        if isinstance(error, _ImageModeError):
            raise
        raise ValueError(
            f"Cannot decode image file '{path}': {error}"
        ) from None  # the message already holds the cause
    return array


# Formats whose compression always alters pixel values (MPO: a phone's
# multi-picture JPEG). WebP can be lossless, so it is not refused.
_LOSSY_FORMATS = ("JPEG", "MPO")


def read_mask_file(path):
    """Reads a segmentation mask whose pixel values are class ids.

    Palette ("P") PNGs give their palette indices (not colours); grayscale
    ("L") PNGs their values; 16-bit masks are accepted if every value fits in
    uint8.

    Args:
        path: str or bytes. The mask file (normally a PNG).

    Returns:
        numpy uint8 array `[H, W]`.

    Raises:
        ValueError: if the file cannot be decoded, is a (lossy) JPEG,
            is a colour (RGB) image, or holds values above 255; the message
            names the file.

    Example:

    >>> mask = read_mask_file("SegmentationClass/2007_000032.png")  # doctest: +SKIP
    >>> mask.shape, mask.dtype  # doctest: +SKIP
    ((281, 500), dtype('uint8'))
    """
    path = _text(path)
    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            file_format = img.format
            array = np.asarray(img)
    except (OSError, ValueError, SyntaxError) as error:
        raise ValueError(
            f"Cannot decode mask file '{path}': {error}"
        ) from None  # the message already holds the cause
    if file_format in _LOSSY_FORMATS:
        raise ValueError(
            f"Mask file '{path}' is a {file_format}: lossy compression changes "
            "the class ids near object edges (a 1 between 0 and 2, say), which "
            "would be trained as labels. Store masks losslessly (PNG)."
        )
    if mode not in _MASK_MODES:
        raise ValueError(
            f"Mask file '{path}' has PIL mode '{mode}'; expected a palette "
            "('P') or grayscale ('L') image whose pixel values are class ids. "
            "Colour-coded RGB masks must be converted to class ids first."
        )
    if array.dtype != np.uint8:
        if array.size and (array.min() < 0 or array.max() > 255):
            raise ValueError(
                f"Mask file '{path}' holds values in [{array.min()}, "
                f"{array.max()}]; class ids must fit in uint8 (0..255)."
            )
        array = array.astype(np.uint8)
    return array


def _read_pair(image_path, mask_path):
    """Decodes a pair; a file that cannot be read gives its error message.

    The message travels as a third output into a graph assert (see
    `file_pair_dataset`) rather than as an exception: TensorFlow logs an
    exception raised inside `tf.numpy_function` with its Python stack trace,
    a graph assert as one line.
    """
    try:
        return (read_image_file(image_path), read_mask_file(mask_path),
                np.bytes_(b""))
    except (OSError, ValueError) as error:
        empty = np.zeros((0, 0, 3), np.uint8)
        return empty, empty[..., 0], np.bytes_(str(error).encode())


def check_files_exist(paths, what):
    """Raises FileNotFoundError listing the first paths that do not exist.

    Args:
        paths: sequence of str. Files to check.
        what: str. What the files are, for the message (e.g. "image").

    Raises:
        FileNotFoundError: naming up to 5 missing files and how many in all.

    Example:

    >>> check_files_exist([], "image")
    """
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        listed = ", ".join(f"'{p}'" for p in missing[:_MAX_LISTED])
        more = "" if len(missing) <= _MAX_LISTED else ", ..."
        raise FileNotFoundError(
            f"{len(missing)} of {len(paths)} {what} files do not exist: "
            f"{listed}{more}"
        )


def file_pair_dataset(image_paths, mask_paths, *, num_classes=None,
                      shuffle_seed=None):
    """Source dataset of `(image, label)` decoded from pairs of files.

    Args:
        image_paths: sequence of str. Image files (JPEG, PNG, ...).
        mask_paths: sequence of str, same length. Mask files whose pixel
            values (or palette indices) are class ids, 255 = ignore.
        num_classes: int in [1, 255] or None. If given, label ids outside
            `[0, num_classes)` other than 255 raise an error naming the mask
            file. Defaults to None.
        shuffle_seed: int or None. If given, the examples come in one fixed
            random order drawn from this seed (a cheap shuffle of the file
            list, before decoding); use it for training, since
            `make_pipeline`'s shuffle buffer only mixes nearby examples of a
            sorted list. Defaults to None (list order).

    Returns:
        `tf.data.Dataset` of `(image uint8 [H, W, 3], label uint8 [H, W])`, in
        the given order (or the `shuffle_seed` order).

    Raises:
        ValueError: if the lists are empty or differ in length, or
            `shuffle_seed` is not an int >= 0 or None.
        FileNotFoundError: if a listed file does not exist.
        tf.errors.InvalidArgumentError: while iterating, for a corrupt file, a
            mask whose size differs from its image, or an out-of-range label;
            the message names the file.

    Example:

    >>> ds = file_pair_dataset(["a.jpg"], ["a.png"], num_classes=21)  # doctest: +SKIP
    """
    image_paths = [os.fspath(p) for p in image_paths]
    mask_paths = [os.fspath(p) for p in mask_paths]
    num_classes = check_num_classes(num_classes)
    shuffle_seed = check_int(shuffle_seed, "shuffle_seed", minimum=0,
                             allow_none=True)
    if len(image_paths) != len(mask_paths):
        raise ValueError(
            "`image_paths` and `mask_paths` must have the same length. "
            f"Received: {len(image_paths)} images and {len(mask_paths)} masks"
        )
    if not image_paths:
        raise ValueError("`image_paths` is empty: no examples to read.")
    check_files_exist(image_paths, "image")
    check_files_exist(mask_paths, "mask")
    if shuffle_seed is not None:
        order = np.random.default_rng(shuffle_seed).permutation(
            len(image_paths)
        )
        image_paths = [image_paths[i] for i in order]
        mask_paths = [mask_paths[i] for i in order]

    def decode(image_path, mask_path):
        image, label, error = tf.numpy_function(
            _read_pair,
            [image_path, mask_path],
            [tf.uint8, tf.uint8, tf.string],
            stateful=False,
        )
        read_check = tf.debugging.Assert(tf.equal(error, ""), [error])
        with tf.control_dependencies([read_check]):
            image, label = tf.identity(image), tf.identity(label)
        image.set_shape([None, None, 3])
        label.set_shape([None, None])
        # No quotes: TF escapes them when it prints string tensors.
        name = tf.strings.join(["image ", image_path, ", mask ", mask_path])
        return check_example(image, label, name=name, num_classes=num_classes)

    ds = tf.data.Dataset.from_tensor_slices((image_paths, mask_paths))
    return ds.map(
        decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
