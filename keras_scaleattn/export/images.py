"""Image batches for the exported models: validation and folders of files.

The deployment contract is 8-bit RGB: `[B, H, W, 3]` or `[H, W, 3]` uint8.
Other integer dtypes and float arrays are accepted when every value lies
in [0, 255]; floats are rounded to the nearest integer (what storing them as
an 8-bit image would do), so that every runtime sees the same pixels
whatever its input dtype (uint8 for SavedModel / TFLite, float32 for ONNX /
TensorRT). Anything else is a `ValueError` naming the problem.
"""

import os

import numpy as np

from keras_scaleattn.data.file_pairs import read_image_file

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".tif", ".tiff",
                    ".webp")


def prepare_images(images):
    """Validates images and returns them as a uint8 batch.

    Args:
        images: array-like `[B, H, W, 3]` or `[H, W, 3]`, RGB; uint8, or
            integers / floats with every value in [0, 255].

    Returns:
        tuple `(batch, single)`: a C-contiguous uint8 array `[B, H, W, 3]`
        and whether the input was a single `[H, W, 3]` image.

    Raises:
        ValueError: for a wrong rank, a channel count other than 3, an empty
            batch or side, a dtype that is not a number (bool, complex,
            str, object), or values outside [0, 255] or not finite.

    Example:

    >>> batch, single = prepare_images(np.zeros((40, 50, 3), np.uint8))
    >>> batch.shape, single
    ((1, 40, 50, 3), True)
    """
    array = np.asarray(images)
    if array.dtype == np.bool_ or array.dtype.kind not in "uif":
        raise ValueError(
            "`images` must be uint8 RGB (or integers / floats in [0, 255]). "
            f"Received: images.dtype={array.dtype}"
        )
    if array.ndim not in (3, 4):
        raise ValueError(
            "`images` must be a batch [B, H, W, 3] or one image [H, W, 3]. "
            f"Received: images.shape={array.shape}"
        )
    if array.shape[-1] != 3:
        raise ValueError(
            "`images` must have 3 (RGB) channels in the last axis. "
            f"Received: images.shape={array.shape}"
        )
    single = array.ndim == 3
    if single:
        array = array[None]
    if 0 in array.shape:
        raise ValueError(
            "`images` must not be empty. "
            f"Received: images.shape={np.asarray(images).shape}"
        )
    if array.dtype != np.uint8:
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            raise ValueError(
                "`images` must be finite. Received: NaN or infinite values")
        low, high = array.min(), array.max()
        if low < 0 or high > 255:
            raise ValueError(
                "`images` must have values in [0, 255] (8-bit RGB, not "
                "normalised). Received: values in "
                f"[{float(low):g}, {float(high):g}] of dtype {array.dtype}"
            )
        if array.dtype.kind == "f":
            array = np.rint(array)
        array = array.astype(np.uint8)
    return np.ascontiguousarray(array), single


# The names `predict_folder` writes next to each image.
OUTPUT_SUFFIXES = ("_mask.png", "_overlay.png")


def is_prediction_output(path):
    """Whether a file is named like an output of `predict_folder`.

    Args:
        path: str. A file path.

    Returns:
        bool: True for names ending in `_mask.png` or `_overlay.png` (any
        case).
    """
    return os.path.basename(path).lower().endswith(OUTPUT_SUFFIXES)


def list_image_files(folder, skip_prediction_outputs=True, argument="folder"):
    """Sorted image files (by extension) directly inside `folder`.

    Hidden files (names starting with "."), such as the `._IMG_1.jpg`
    resource forks macOS leaves on shared drives, are not listed, nor by
    default `predict_folder`'s outputs (`*_mask.png`, `*_overlay.png`, e.g.
    written into the images' own folder), which are no photos to export
    with, calibrate on or segment.

    Args:
        folder: str or os.PathLike. A directory.
        skip_prediction_outputs: bool. Leave out files named like
            `predict_folder`'s outputs. Defaults to True.
        argument: str. The name errors give `folder` (a script passes its
            flag, `"--images"`). Defaults to `"folder"`.

    Returns:
        list of str paths, sorted by name.

    Raises:
        ValueError: if `folder` is not a directory or holds no image file.
    """
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise ValueError(
            f"`{argument}` must be a directory. "
            f"Received: {argument}={folder!r}")
    paths = sorted(
        os.path.join(folder, name) for name in os.listdir(folder)
        if name.lower().endswith(IMAGE_EXTENSIONS)
        and not name.startswith(".")
        and not (skip_prediction_outputs and is_prediction_output(name))
        and os.path.isfile(os.path.join(folder, name)))
    if not paths:
        raise ValueError(
            f"`{argument}` holds no image file "
            f"({', '.join(IMAGE_EXTENSIONS)}; hidden files, named '.*', and "
            "prediction outputs, named "
            f"{', '.join('*' + s for s in OUTPUT_SUFFIXES)}, are skipped). "
            f"Received: {argument}={folder!r}"
        )
    return paths


def read_images(paths):
    """Reads image files as uint8 RGB arrays, upright (see `read_image_file`).

    The EXIF Orientation tag is applied (`apply_exif_orientation=True`):
    a phone photo stored sideways with Orientation 6 is read as it is
    displayed, so the model sees it upright and the masks written for it
    have its displayed size. Training reads the stored grid instead (masks
    are drawn on it).

    Args:
        paths: iterable of str paths.

    Returns:
        list of uint8 arrays `[H, W, 3]`.

    Raises:
        ValueError: if a file cannot be decoded; the message names it.
    """
    return [read_image_file(path, apply_exif_orientation=True)
            for path in paths]


def sample_images(folder=None, num_images=8, image_size=129, split="val"):
    """Images for parity checks, calibration and benchmarks.

    Args:
        folder: str or None. A directory of image files; None uses the
            package's synthetic dataset (`synthetic_scale_arrays`).
        num_images: int >= 1. How many images (the first ones of the sorted
            folder, or of the synthetic split). Defaults to 8.
        image_size: int >= 97. Side of the synthetic images (ignored for a
            folder). Defaults to 129.
        split: str. Synthetic split: `"val"` for parity, `"train"` for
            calibration. Defaults to `"val"`.

    Returns:
        list of uint8 arrays `[H, W, 3]`.

    Example:

    >>> images = sample_images(num_images=2, image_size=97)
    >>> len(images), images[0].shape
    (2, (97, 97, 3))
    """
    if (isinstance(num_images, bool) or not isinstance(num_images, int)
            or num_images < 1):
        raise ValueError(
            "`num_images` must be a positive int. "
            f"Received: num_images={num_images!r}")
    if folder is not None:
        return read_images(list_image_files(folder)[:num_images])
    from keras_scaleattn.data.synthetic import synthetic_scale_arrays

    images, _ = synthetic_scale_arrays(split, num_images, image_size)
    return list(images)
