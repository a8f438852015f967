"""Fit images to a deployed model's input sizes, and map its outputs back.

A fixed-size TFLite model (what phone GPU and NPU delegates run best) takes
one image size, a TensorRT engine the sizes of its optimisation profile, and
every model a smallest size (its coarsest scale needs 17 pixels). Photos
come in any size. Letterboxing fits them without distorting them: the image
is resized, keeping its aspect ratio, to fit inside the allowed size (for a
fixed size, as large as fits; otherwise only shrunk, and only if it is too
large), padded at the bottom and right with the training mean (`MEAN_RGB`,
which the model's mean subtraction turns into zeros, as the paper's padded
crops), and run; then the padding is cropped off the outputs and the
probabilities (and attention weights) are resized back to the image's own
size, bilinearly, so that they stay distributions; the class map is their
argmax.
"""

import math
import numbers

import numpy as np
from PIL import Image

from keras_scaleattn.data.constants import MEAN_RGB

# The padding colour: the training mean, rounded to 8 bits.
FILL_RGB = tuple(int(math.floor(v + 0.5)) for v in MEAN_RGB)


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def size_pair(value, name):
    """A size argument as `(height, width)`, or None.

    Args:
        value: None, a positive int (a square) or a pair of positive ints
            (NumPy ints too).
        name: str. The argument's name, for the error message.

    Returns:
        None or a tuple of two Python ints.

    Raises:
        ValueError: naming `name` and the value, for anything else.

    Example:

    >>> size_pair(513, "max_size"), size_pair([385, 513], "max_size")
    ((513, 513), (385, 513))
    """
    if value is None:
        return None
    pair = (value, value) if _is_int(value) else value
    if (
        not isinstance(pair, (tuple, list))
        or len(pair) != 2
        or not all(_is_int(v) and v >= 1 for v in pair)
    ):
        raise ValueError(
            f"`{name}` must be a positive int or a pair (height, width) of "
            f"positive ints, or None. Received: {name}={value!r}")
    return int(pair[0]), int(pair[1])


def letterbox_plan(height, width, fixed_size=None, min_size=None,
                   max_size=None):
    """How an image of `height x width` is fitted to a model's sizes.

    Args:
        height: int >= 1.
        width: int >= 1.
        fixed_size: `(height, width)` or None. The one size the model takes;
            the image is resized, aspect ratio kept, to the largest size that
            fits inside it, then padded to it. When given, `min_size` and
            `max_size` are ignored.
        min_size: int, `(height, width)` or None. Each side is padded up to
            at least this.
        max_size: int, `(height, width)` or None. An image larger than this on
            either side is shrunk, aspect ratio kept, to fit inside it.

    Returns:
        None if the image fits as it is, else `(resized, padded)`: the
        `(height, width)` the image is resized to, and the `(height, width)`
        it is then padded to (bottom and right).

    Raises:
        ValueError: if a size is not a positive int or pair of them.

    Example:

    >>> letterbox_plan(100, 117, fixed_size=(129, 129))
    ((110, 129), (129, 129))
    >>> letterbox_plan(600, 301, max_size=513)
    ((513, 257), (513, 257))
    >>> letterbox_plan(10, 40, min_size=17)
    ((10, 40), (17, 40))
    >>> letterbox_plan(40, 40, min_size=17, max_size=513) is None
    True
    """
    if not (_is_int(height) and _is_int(width) and min(height, width) >= 1):
        raise ValueError(
            "`height` and `width` must be positive ints. Received: "
            f"height={height!r}, width={width!r}")
    height, width = int(height), int(width)
    fixed_size = size_pair(fixed_size, "fixed_size")
    min_size = size_pair(min_size, "min_size")
    max_size = size_pair(max_size, "max_size")
    if fixed_size is not None:
        scale = min(fixed_size[0] / height, fixed_size[1] / width)
        limit, padded = fixed_size, fixed_size
    else:
        scale, limit = 1.0, (height, width)
        if max_size is not None:
            scale = min(1.0, max_size[0] / height, max_size[1] / width)
            limit = max_size
    # Round half up, never past the limit, never below one pixel.
    resized = tuple(max(1, min(lim, int(math.floor(side * scale + 0.5))))
                    for side, lim in zip((height, width), limit))
    if fixed_size is None:
        padded = resized
        if min_size is not None:
            padded = (max(resized[0], min_size[0]), max(resized[1], min_size[1]))
    if resized == (height, width) and padded == (height, width):
        return None
    return resized, padded


def letterbox_images(batch, resized, padded):
    """Resizes a uint8 batch to `resized` and pads it to `padded`.

    Args:
        batch: uint8 `[B, H, W, 3]`.
        resized: `(height, width)`. Bilinear resize (PIL, antialiased when
            shrinking); no resize if it is the batch's size.
        padded: `(height, width)`, at least `resized`. Padded at the bottom
            and right with `FILL_RGB`.

    Returns:
        uint8 `[B, padded_height, padded_width, 3]`.

    Example:

    >>> out = letterbox_images(np.zeros((1, 4, 6, 3), np.uint8), (2, 3), (3, 3))
    >>> out.shape, out[0, :2, :, 0].tolist(), out[0, 2, 0].tolist()
    ((1, 3, 3, 3), [[0, 0, 0], [0, 0, 0]], [123, 117, 104])
    """
    out = np.empty((len(batch),) + tuple(padded) + (3,), np.uint8)
    out[...] = np.asarray(FILL_RGB, np.uint8)
    for i, image in enumerate(batch):
        if tuple(image.shape[:2]) != tuple(resized):
            image = np.asarray(Image.fromarray(image).resize(
                (resized[1], resized[0]), Image.BILINEAR))
        out[i, :resized[0], :resized[1]] = image
    return out


def _resize_maps(maps, size):
    """Bilinear resize of float `[B, h, w, K]` maps to `size`, per channel."""
    if tuple(maps.shape[1:3]) == tuple(size):
        return maps
    out = np.empty((len(maps),) + tuple(size) + maps.shape[3:], np.float32)
    for i in range(len(maps)):
        for k in range(maps.shape[3]):
            channel = Image.fromarray(np.ascontiguousarray(
                maps[i, :, :, k], np.float32), mode="F")
            out[i, :, :, k] = np.asarray(
                channel.resize((size[1], size[0]), Image.BILINEAR))
    return out


def restore_outputs(outputs, resized, size):
    """Maps a letterboxed batch's outputs back to the images' own size.

    Args:
        outputs: dict of batched arrays as `SegmentationRuntime` returns:
            `"class_map"` `[B, H, W]`, `"probabilities"` `[B, H, W, C]` and
            optionally `"attention"` `[B, H, W, S]`, at the padded size.
        resized: `(height, width)` of the image inside the padding.
        size: `(height, width)` of the original images.

    Returns:
        dict of the same keys at `size`: the probabilities and attention
        cropped to `resized` and resized bilinearly; the class map their
        argmax (or, without probabilities, the cropped class map resized by
        nearest neighbour).

    Example:

    >>> probs = np.zeros((1, 3, 3, 2), np.float32)
    >>> probs[..., 1] = 1.0
    >>> out = restore_outputs({"class_map": np.ones((1, 3, 3), np.int32),
    ...                        "probabilities": probs}, (2, 3), (4, 6))
    >>> out["probabilities"].shape, int(out["class_map"].min())
    ((1, 4, 6, 2), 1)
    """
    height, width = resized
    restored = {}
    for name in ("probabilities", "attention"):
        if name in outputs:
            restored[name] = _resize_maps(
                np.asarray(outputs[name])[:, :height, :width], size)
    if "probabilities" in restored:
        restored["class_map"] = np.argmax(
            restored["probabilities"], axis=-1).astype(np.int32)
    elif "class_map" in outputs:
        class_map = np.asarray(outputs["class_map"])[:, :height, :width]
        rows = np.minimum((np.arange(size[0]) * height) // size[0], height - 1)
        cols = np.minimum((np.arange(size[1]) * width) // size[1], width - 1)
        restored["class_map"] = class_map[:, rows][:, :, cols].astype(np.int32)
    return {name: restored[name] for name in outputs if name in restored}
