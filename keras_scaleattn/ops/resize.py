"""Align-corners bilinear resizing: the Caffe `Interp` layer of DeepLab.

The paper's released prototxts resize images and score maps with Caffe's
`Interp` layer, which is bilinear interpolation with *align-corners*
geometry: output pixel `i` samples input coordinate `i * (n_in - 1) /
(n_out - 1)`, so the first and last pixels of input and output coincide. A
scale `s` maps a side of `n` pixels to `(n - 1) * s + 1` pixels
(321 -> 241 -> 161), so that the scaled image's pixel `i` is exactly the
original pixel `i / s` whenever that is an integer.

`keras.ops.image.resize` has no align-corners option and rejects sizes known
only at run time (keras PR #22079), so this module provides one. On the
TensorFlow backend it calls `ResizeBilinear(align_corners=True)` (the op of
`tf.compat.v1.image.resize_bilinear`), the one op that tf2onnx turns into ONNX `Resize`
(`coordinate_transformation_mode=align_corners`) and the TFLite converter into
`RESIZE_BILINEAR(align_corners=True)`, so exported models keep the same
convention. Every other backend uses a gather-and-lerp in `keras.ops` that
computes the same numbers.
"""

import functools
import math
import numbers
from fractions import Fraction

import keras
from keras import ops

# A scale is used as the nearest fraction p / q with q <= 1000 (exact for
# 0.75 = 3/4, 0.65 = 13/20, 1/3, any scale of three decimals), so that
# `floor((n - 1) * p / q)` is computed in integers, identically for Python
# ints and int32 tensors: float32 misses exact multiples from about 5000
# pixels on (5140 * 0.65 = 3341 evaluates to 3340.9998).
MAX_SCALE_DENOMINATOR = 1000
MIN_SCALE = 1.0 / MAX_SCALE_DENOMINATOR


def scale_fraction(scale):
    """Returns the fraction `(p, q)` by which `scaled_size` multiplies.

    The nearest fraction to `scale` with a denominator of at most 1000
    (`MAX_SCALE_DENOMINATOR`), in lowest terms: exact for any scale with
    three decimals and for fractions such as 1/3.

    Args:
        scale: float >= 0.001 (`MIN_SCALE`).

    Returns:
        A pair of positive ints `(p, q)`.

    Raises:
        ValueError: if `scale` is not a finite number >= 0.001.

    Example:

    >>> scale_fraction(0.75), scale_fraction(0.65), scale_fraction(1 / 3)
    ((3, 4), (13, 20), (1, 3))
    """
    if (isinstance(scale, bool) or not isinstance(scale, numbers.Real)
            or not math.isfinite(scale) or scale < MIN_SCALE):
        raise ValueError(
            f"`scale` must be a number >= {MIN_SCALE} (scales are used as "
            f"fractions with a denominator of at most {MAX_SCALE_DENOMINATOR})"
            f". Received: scale={scale!r}")
    return _fraction(float(scale))


@functools.lru_cache(maxsize=None)
def _fraction(scale):
    fraction = Fraction(scale).limit_denominator(MAX_SCALE_DENOMINATOR)
    return fraction.numerator, fraction.denominator


def scaled_size(size, scale):
    """Returns the side length of an image side of `size` pixels at `scale`.

    Caffe `Interp` geometry: `floor((size - 1) * scale) + 1`, so 321 -> 241
    at 0.75 and 161 at 0.5, and 513 -> 385 -> 257. It is computed exactly,
    in integers, as `(size - 1) * p // q + 1` with `p / q =
    scale_fraction(scale)` (the nearest fraction with a denominator of at
    most 1000, exactly the scale for 0.75, 0.65, 1/3, ...), so a static side
    (an int) and a dynamic one (a tensor) always get the same size. The
    tensor path is int32: sides up to `2**31 / (1000 * scale)` pixels
    (over a million at scale 2).

    Args:
        size: int (NumPy integers included) or integer tensor. The input
            side length(s).
        scale: float >= 0.001. The scale factor.

    Returns:
        An int if `size` is an int, else an int32 tensor of `size`'s shape.

    Raises:
        ValueError: if `scale` is not a finite number >= 0.001.

    Example:

    >>> scaled_size(321, 0.75), scaled_size(5141, 0.65)
    (241, 3342)
    """
    p, q = scale_fraction(scale)
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        return (int(size) - 1) * p // q + 1
    size = ops.cast(size, "int32")
    return ops.floor_divide((size - 1) * p, q) + 1


def spatial_size(x):
    """`[height, width]` of a `[B, H, W, C]` tensor (images, score maps).

    Python ints where the static shape knows them, scalar tensors where it
    does not (a `tf.function` traced for any size).

    Example:

    >>> import numpy as np
    >>> spatial_size(np.zeros((2, 41, 33, 21)))
    [41, 33]
    """
    static = x.shape[1:3]
    dynamic = ops.shape(x)[1:3]
    return [s if s is not None else d for s, d in zip(static, dynamic)]


def _axis_interpolation(in_size, out_size):
    """Source indices and weights for one axis under align-corners."""
    out_f = ops.cast(out_size, "float32")
    in_f = ops.cast(in_size, "float32")
    # A one-pixel output samples the first input pixel, as Caffe does.
    ratio = ops.where(out_f > 1.0, (in_f - 1.0) / ops.maximum(out_f - 1.0, 1.0), 0.0)
    coords = ops.arange(out_size, dtype="float32") * ratio
    low = ops.minimum(ops.floor(coords), in_f - 1.0)
    frac = coords - low
    low = ops.cast(low, "int32")
    high = ops.minimum(low + 1, ops.cast(in_size, "int32") - 1)
    return low, high, frac


def _resize_gather(images, size):
    in_h, in_w = spatial_size(images)
    out_h, out_w = size
    y0, y1, fy = _axis_interpolation(in_h, out_h)
    x0, x1, fx = _axis_interpolation(in_w, out_w)
    top = ops.take(images, y0, axis=1)
    bottom = ops.take(images, y1, axis=1)
    fy = ops.reshape(fy, (1, -1, 1, 1))
    rows = top + (bottom - top) * ops.cast(fy, images.dtype)
    left = ops.take(rows, x0, axis=2)
    right = ops.take(rows, x1, axis=2)
    fx = ops.reshape(fx, (1, 1, -1, 1))
    return left + (right - left) * ops.cast(fx, images.dtype)


def resize_bilinear_align_corners(images, size):
    """Resizes `[B, H, W, C]` images bilinearly with align-corners geometry.

    Args:
        images: 4D float tensor `[B, H, W, C]`.
        size: pair `(height, width)` of ints or scalar integer tensors.

    Returns:
        A float tensor `[B, height, width, C]` of the dtype of `images`.

    Example:

    >>> x = np.arange(3.0).reshape(1, 1, 3, 1)
    >>> y = resize_bilinear_align_corners(x, (1, 5))
    >>> keras.ops.convert_to_numpy(y)[0, 0, :, 0].tolist()
    [0.0, 0.5, 1.0, 1.5, 2.0]
    """
    size = tuple(size)
    if len(size) != 2:
        raise ValueError(
            f"`size` must be a pair (height, width). Received: size={size}"
        )
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        dtype = images.dtype
        # The op behind `tf.compat.v1.image.resize_bilinear`, called
        # directly to skip its deprecation warning.
        out = tf.raw_ops.ResizeBilinear(
            images=images,
            size=tf.stack([tf.cast(s, tf.int32) for s in size]),
            align_corners=True, half_pixel_centers=False,
        )
        out = tf.cast(out, dtype)
        static = [s if isinstance(s, int) else None for s in size]
        out.set_shape([images.shape[0], static[0], static[1], images.shape[3]])
        return out
    return _resize_gather(images, size)
