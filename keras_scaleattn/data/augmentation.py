"""Training augmentation of one `(image, label)` pair, with explicit seeds.

The paper (PAPER.md, "Training") trains on random 321x321 crops, padded with
the image mean and the ignore label where the image is smaller, with random
mirroring and, optionally, random scaling by 0.6-1.4. Each function here is a
pure function of its inputs and a stateless seed (a `[2]` integer tensor, as
taken by `tf.random.stateless_uniform`): the same seed gives the same result,
which is what makes `make_pipeline` reproducible.

Images may be uint8 or float; every function returns a float32 image (the
padding value `MEAN_RGB` is not an integer) and keeps the label's dtype.
Padding goes to the bottom and right, as in DeepLab's Caffe data layer, so the
top-left of a padded image is the original image.
"""

import numbers

import tensorflow as tf

from keras_scaleattn.data.constants import IGNORE_LABEL
from keras_scaleattn.data.constants import MEAN_RGB


def check_size(size, arg_name="size"):
    """Validates a size given as an int or a `(height, width)` pair.

    Args:
        size: positive int, or pair of positive ints `(height, width)`.
        arg_name: str. Argument name used in the error message. Defaults to
            `"size"`.

    Returns:
        `(height, width)` as ints.

    Raises:
        ValueError: if `size` is not a positive int or pair of positive ints.

    Example:

    >>> check_size(321)
    (321, 321)
    """
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        pair = (int(size), int(size))
    elif (
        isinstance(size, (tuple, list))
        and len(size) == 2
        and all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool)
            for s in size
        )
    ):
        pair = (int(size[0]), int(size[1]))
    else:
        raise ValueError(
            f"`{arg_name}` must be a positive int or a pair of positive ints "
            f"(height, width). Received: {arg_name}={size!r}"
        )
    if min(pair) < 1:
        raise ValueError(
            f"`{arg_name}` must be positive. Received: {arg_name}={size!r}"
        )
    return pair


def check_scale_range(scale_range):
    """Validates a `(min_scale, max_scale)` pair and returns it as floats.

    Args:
        scale_range: pair of positive numbers with `min_scale <= max_scale`.

    Returns:
        `(float(min_scale), float(max_scale))`.

    Raises:
        ValueError: if `scale_range` is not such a pair.

    Example:

    >>> check_scale_range((0.6, 1.4))
    (0.6, 1.4)
    """
    if (
        not isinstance(scale_range, (tuple, list))
        or len(scale_range) != 2
        or not all(
            isinstance(s, numbers.Real) and not isinstance(s, bool)
            for s in scale_range
        )
    ):
        raise ValueError(
            "`scale_range` must be a pair of numbers (min_scale, max_scale). "
            f"Received: scale_range={scale_range!r}"
        )
    low, high = float(scale_range[0]), float(scale_range[1])
    if not 0.0 < low <= high:
        raise ValueError(
            "`scale_range` must satisfy 0 < min_scale <= max_scale. "
            f"Received: scale_range={scale_range!r}"
        )
    return low, high


def _as_float_image(image):
    image = tf.convert_to_tensor(image)
    return image if image.dtype == tf.float32 else tf.cast(image, tf.float32)


def _seed(seed):
    """Checks that `seed` is a `[2]` integer tensor (stateless RNG seed)."""
    seed = tf.convert_to_tensor(seed)
    if not seed.dtype.is_integer:
        raise ValueError(
            "`seed` must be an integer tensor of shape [2]. "
            f"Received: seed with dtype {seed.dtype.name}"
        )
    if seed.shape.rank is not None and seed.shape.as_list() != [2]:
        raise ValueError(
            "`seed` must be an integer tensor of shape [2]. "
            f"Received: seed with shape {seed.shape}"
        )
    # Stateless ops give different numbers for the same seed values in int32
    # and int64; one dtype makes `[7, 7]` mean one thing.
    return tf.cast(seed, tf.int64)


def random_scale(image, label, seed, scale_range=(0.6, 1.4)):
    """Rescales image (bilinear) and label (nearest) by one random factor.

    The factor `s` is uniform in `scale_range`; the new size is
    `max(1, round(H * s)) x max(1, round(W * s))`. The image is resized with
    TF's bilinear (half-pixel centres, no antialiasing, like OpenCV's
    INTER_LINEAR used by Caffe data layers); the label with nearest neighbour,
    so no new class ids appear.

    Args:
        image: tensor `[H, W, 3]`, uint8 or float.
        label: integer tensor `[H, W]`.
        seed: integer tensor `[2]`. Stateless RNG seed.
        scale_range: pair of positive floats `(min_scale, max_scale)`.
            Defaults to `(0.6, 1.4)` (the paper's range).

    Returns:
        `(image, label)`: float32 `[H', W', 3]` and `[H', W']` of the label's
        dtype.

    Raises:
        ValueError: if `scale_range` or `seed` is malformed.

    Example:

    >>> image = tf.zeros([10, 20, 3], tf.uint8)
    >>> label = tf.zeros([10, 20], tf.uint8)
    >>> image, label = random_scale(image, label, seed=[1, 2], scale_range=(2.0, 2.0))
    >>> image.shape, label.shape
    (TensorShape([20, 40, 3]), TensorShape([20, 40]))
    """
    low, high = check_scale_range(scale_range)
    seed = _seed(seed)
    image = _as_float_image(image)
    label = tf.convert_to_tensor(label)
    factor = tf.random.stateless_uniform(
        [], seed, minval=low, maxval=high, dtype=tf.float32
    )
    size = tf.shape(image)[:2]
    new_size = tf.maximum(
        tf.cast(tf.round(tf.cast(size, tf.float32) * factor), tf.int32), 1
    )
    image = tf.image.resize(image, new_size, method="bilinear")
    label = tf.image.resize(label[..., tf.newaxis], new_size, method="nearest")
    return image, label[..., 0]


def pad_to_size(image, label, size):
    """Pads image with `MEAN_RGB` and label with 255 to at least `size`.

    Padding is added at the bottom and the right only; dimensions already at
    least as large are left alone (never cropped).

    Args:
        image: tensor `[H, W, 3]`, uint8 or float.
        label: integer tensor `[H, W]`.
        size: int or pair `(height, width)`. The minimum output size.

    Returns:
        `(image, label)`: float32 `[max(H, h), max(W, w), 3]` and the label,
        same dtype, `[max(H, h), max(W, w)]`.

    Raises:
        ValueError: if `size` is not a positive int or pair of positive ints.

    Example:

    >>> image = tf.zeros([2, 3, 3], tf.uint8)
    >>> label = tf.zeros([2, 3], tf.uint8)
    >>> image, label = pad_to_size(image, label, 4)
    >>> image.shape
    TensorShape([4, 4, 3])
    >>> [round(float(v), 3) for v in image[3, 3]]
    [122.675, 116.669, 104.008]
    >>> int(label[3, 3])
    255
    """
    target_h, target_w = check_size(size)
    image = _as_float_image(image)
    label = tf.convert_to_tensor(label)
    shape = tf.shape(image)
    pad_h = tf.maximum(target_h - shape[0], 0)
    pad_w = tf.maximum(target_w - shape[1], 0)
    paddings = [[0, pad_h], [0, pad_w]]
    # Padding a zero-mean copy and adding the mean back would round the
    # original pixels; instead add the mean only where the pad mask is 1,
    # which leaves original pixels bit-exact and padded ones exactly MEAN_RGB.
    mean = tf.constant(MEAN_RGB, tf.float32)
    pad_mask = tf.pad(
        tf.zeros(shape[:2], tf.float32), paddings, constant_values=1.0
    )
    image = tf.pad(image, paddings + [[0, 0]])
    image += pad_mask[..., tf.newaxis] * mean
    label = tf.pad(
        label, paddings, constant_values=tf.cast(IGNORE_LABEL, label.dtype)
    )
    return image, label


def random_crop(image, label, size, seed):
    """Crops the same random `size` window from image and label.

    The window's top-left corner is uniform over all positions that keep the
    window inside the image. Pad first (`pad_to_size`) if the image may be
    smaller than `size`.

    Args:
        image: tensor `[H, W, 3]`, uint8 or float.
        label: integer tensor `[H, W]`.
        size: int or pair `(height, width)`.
        seed: integer tensor `[2]`. Stateless RNG seed.

    Returns:
        `(image, label)`: float32 `[h, w, 3]` and `[h, w]` of the label's dtype.

    Raises:
        ValueError: if `size` or `seed` is malformed.
        tf.errors.InvalidArgumentError: at run time, if the image is smaller
            than `size`.

    Example:

    >>> image = tf.zeros([10, 12, 3], tf.uint8)
    >>> label = tf.zeros([10, 12], tf.uint8)
    >>> image, label = random_crop(image, label, 5, seed=[0, 1])
    >>> image.shape, label.shape
    (TensorShape([5, 5, 3]), TensorShape([5, 5]))
    """
    crop_h, crop_w = check_size(size)
    seed = _seed(seed)
    image = _as_float_image(image)
    label = tf.convert_to_tensor(label)
    shape = tf.shape(image)
    fits = tf.logical_and(shape[0] >= crop_h, shape[1] >= crop_w)
    check = tf.debugging.Assert(
        fits,
        [
            f"random_crop: image is smaller than the crop {crop_h}x{crop_w}; "
            "pad it first (pad_to_size). Image HxW:",
            shape[:2],
        ],
    )
    with tf.control_dependencies([check]):
        seeds = tf.random.experimental.stateless_split(seed, 2)
        top = tf.random.stateless_uniform(
            [], seeds[0], minval=0, maxval=shape[0] - crop_h + 1, dtype=tf.int32
        )
        left = tf.random.stateless_uniform(
            [], seeds[1], minval=0, maxval=shape[1] - crop_w + 1, dtype=tf.int32
        )
    image = image[top : top + crop_h, left : left + crop_w]
    label = label[top : top + crop_h, left : left + crop_w]
    image = tf.ensure_shape(image, [crop_h, crop_w, image.shape[-1]])
    label = tf.ensure_shape(label, [crop_h, crop_w])
    return image, label


def random_mirror(image, label, seed):
    """Flips image and label left-right together with probability 1/2.

    Args:
        image: tensor `[H, W, 3]`, uint8 or float.
        label: integer tensor `[H, W]`.
        seed: integer tensor `[2]`. Stateless RNG seed.

    Returns:
        `(image, label)`: float32 `[H, W, 3]` and the label, both flipped or
        both unchanged.

    Raises:
        ValueError: if `seed` is malformed.

    Example:

    >>> image = tf.reshape(tf.range(6, dtype=tf.float32), [1, 2, 3])
    >>> label = tf.constant([[0, 1]], tf.uint8)
    >>> image, label = random_mirror(image, label, seed=[0, 0])
    >>> label.numpy().tolist() in ([[0, 1]], [[1, 0]])
    True
    """
    seed = _seed(seed)
    image = _as_float_image(image)
    label = tf.convert_to_tensor(label)
    flip = tf.random.stateless_uniform([], seed) < 0.5
    image = tf.cond(flip, lambda: tf.reverse(image, [1]), lambda: image)
    label = tf.cond(flip, lambda: tf.reverse(label, [1]), lambda: label)
    return image, label
