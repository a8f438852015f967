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

import math

import keras
from keras import ops

# Float tolerance for `floor((n - 1) * s)`: (n - 1) * 0.6 may evaluate to
# 191.99999 for n = 321 and must still give 192.
_FLOOR_EPSILON = 1e-4


def scaled_size(size, scale):
    """Returns the side length of an image side of `size` pixels at `scale`.

    Caffe `Interp` geometry: `floor((size - 1) * scale) + 1`, so 321 -> 241
    at 0.75 and 161 at 0.5, and 513 -> 385 -> 257.

    Args:
        size: int or scalar integer tensor. The input side length.
        scale: float. The scale factor, positive.

    Returns:
        An int if `size` is an int, else a scalar int32 tensor.

    Example:

    >>> scaled_size(321, 0.75)
    241
    """
    if isinstance(size, int):
        return int(math.floor((size - 1) * scale + _FLOOR_EPSILON)) + 1
    size = ops.cast(size, "float32")
    out = ops.floor((size - 1.0) * scale + _FLOOR_EPSILON) + 1.0
    return ops.cast(out, "int32")


def _static_or_dynamic_hw(images):
    static = images.shape[1:3]
    dynamic = ops.shape(images)[1:3]
    return [
        static[i] if static[i] is not None else dynamic[i] for i in range(2)
    ]


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
    in_h, in_w = _static_or_dynamic_hw(images)
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
