"""Dilated convolution as one backend op.

DeepLab-LargeFOV dilates conv5_x by 2 and fc6 by 12. On TensorFlow,
`keras.ops.conv` calls `tf.nn.convolution`, which lowers a dilated
convolution to SpaceToBatchND -> Conv2D -> BatchToSpaceND: the map is split
into `d * d` small images, each padded to a multiple of `d` (fc6 at 513 px: a
49x49 map computed as 60x60, 1.5x its FLOPs, on 144 images of 5x5 pixels).
`tf.nn.conv2d(..., dilations=d)` emits one Conv2D with a `dilations`
attribute instead, which oneDNN, Eigen and cuDNN run directly, tf2onnx
exports as one ONNX `Conv(dilations)` and the TFLite converter as one
`CONV_2D` with dilation factors, at any input size (in float32 and
bfloat16 with oneDNN, TF's default on Linux; see `_tf_dilated_conv2d` for
the other cases). Measured effect in
docs/performance.md ("Applied changes", B). Other backends already
emit one dilated convolution (`lax.conv_general_dilated`, `torch.conv2d`).
"""

import functools

import keras


def dilated_conv2d(inputs, kernel, dilation_rate):
    """A "valid", stride-1 dilated 2D convolution, channels last.

    Args:
        inputs: `[B, H, W, C_in]` tensor.
        kernel: `[kh, kw, C_in, C_out]` tensor.
        dilation_rate: pair of ints, the dilation along rows and columns.

    Returns:
        `[B, H - (kh - 1) * d_h, W - (kw - 1) * d_w, C_out]` tensor.

    Example:

    >>> x = np.ones((1, 9, 9, 1), "float32")
    >>> k = np.ones((3, 3, 1, 1), "float32")
    >>> y = dilated_conv2d(x, k, (2, 2))
    >>> tuple(y.shape), float(y[0, 0, 0, 0])
    ((1, 5, 5, 1), 9.0)
    """
    dilation_rate = tuple(int(d) for d in dilation_rate)
    if keras.backend.backend() == "tensorflow":
        return _tf_dilated_conv2d(inputs, kernel, dilation_rate)
    return keras.ops.conv(inputs, kernel, strides=1, padding="valid",
                          dilation_rate=dilation_rate)


# Dtypes whose dilated Conv2D gradients TF's CPU kernels compute (oneDNN).
_NATIVE_GRADIENT_DTYPES = ("float32", "bfloat16")


@functools.cache
def _onednn_enabled():
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:  # A TF without the flag: assume plain Eigen kernels.
        return False
    return bool(_pywrap_util_port.IsMklEnabled())


def _tf_dilated_conv2d(inputs, kernel, dilation_rate):
    import tensorflow as tf

    inputs = tf.convert_to_tensor(inputs)
    # TF's CPU kernels compute a dilated Conv2D's *gradients* only in oneDNN
    # builds and only in float32 / bfloat16 (otherwise: "Current CPU
    # implementations do not yet support dilation rates larger than 1", e.g.
    # mixed_float16 or float64 on CPU, or TF on macOS). Elsewhere the
    # SpaceToBatchND form, which every device and dtype supports, is kept.
    # (A custom gradient would cover those too, but its IdentityN op breaks
    # the TFLite int8 converter.)
    if inputs.dtype.name in _NATIVE_GRADIENT_DTYPES and _onednn_enabled():
        return tf.nn.conv2d(inputs, kernel, strides=1, padding="VALID",
                            dilations=list(dilation_rate))
    return tf.nn.convolution(inputs, kernel, padding="VALID",
                             dilations=list(dilation_rate))
