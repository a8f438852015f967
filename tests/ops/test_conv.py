"""`dilated_conv2d` against a NumPy reference and Keras' own convolution."""

import keras
import numpy as np
import pytest

from keras_scaleattn.ops import dilated_conv2d
from tests.conftest import requires_tensorflow


@pytest.mark.parametrize("dilation", [(1, 1), (2, 2), (3, 2), (12, 12)])
def test_matches_numpy_valid_dilated_convolution(rng, dilation):
    x = rng.normal(size=(2, 29, 31, 3)).astype("float32")
    kernel = rng.normal(size=(3, 3, 3, 4)).astype("float32")
    dh, dw = dilation
    out_h, out_w = 29 - 2 * dh, 31 - 2 * dw
    # y[i, j] = sum_ab x[i + a * dh, j + b * dw] @ kernel[a, b].
    expected = sum(
        x[:, a * dh:a * dh + out_h, b * dw:b * dw + out_w] @ kernel[a, b]
        for a in range(3) for b in range(3))
    actual = keras.ops.convert_to_numpy(dilated_conv2d(x, kernel, dilation))
    assert actual.shape == (2, 29 - 2 * dh, 31 - 2 * dw, 4)
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4)


@requires_tensorflow
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_one_conv2d_op_where_tf_has_its_gradients(dtype):
    # float16 / float64 gradients of a dilated Conv2D do not exist on CPU
    # (nor float32 without oneDNN): there the SpaceToBatchND form stays.
    import tensorflow as tf

    from keras_scaleattn.ops.conv import _onednn_enabled

    x = tf.cast(tf.random.stateless_normal((1, 33, 33, 8), seed=(0, 1)), dtype)
    kernel = tf.cast(tf.random.stateless_normal((3, 3, 8, 5), seed=(0, 2)),
                     dtype)
    function = tf.function(lambda a, k: dilated_conv2d(a, k, (12, 12)))
    graph = function.get_concrete_function(x, kernel).graph
    types = [op.type for op in graph.get_operations()]
    assert types.count("Conv2D") == 1
    native = dtype == "float32" and _onednn_enabled()
    assert ("SpaceToBatchND" in types) != native

    def gradients(convolve):
        @tf.function
        def run(a, k):
            with tf.GradientTape() as tape:
                tape.watch([a, k])
                loss = tf.reduce_sum(tf.sin(convolve(a, k)))
            return tape.gradient(loss, [a, k])
        return run(x, kernel)

    expected = gradients(lambda a, k: keras.ops.conv(
        a, k, padding="valid", dilation_rate=12))
    actual = gradients(lambda a, k: dilated_conv2d(a, k, (12, 12)))
    tolerance = 1e-2 if dtype == "float16" else 1e-4
    for got, want in zip(actual, expected):
        np.testing.assert_allclose(np.float64(got), np.float64(want),
                                   rtol=tolerance, atol=tolerance)


@requires_tensorflow
def test_without_onednn_keeps_the_form_with_cpu_gradients(monkeypatch):
    import tensorflow as tf

    from keras_scaleattn.ops import conv

    monkeypatch.setattr(conv, "_onednn_enabled", lambda: False)
    x = tf.random.stateless_normal((1, 17, 17, 2), seed=(0, 1))
    kernel = tf.Variable(tf.random.stateless_normal((3, 3, 2, 3), seed=(0, 2)))

    @tf.function
    def step(a):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(dilated_conv2d(a, kernel, (4, 4)) ** 2)
        return tape.gradient(loss, kernel)

    graph = step.get_concrete_function(x).graph
    assert "SpaceToBatchND" in [op.type for op in graph.get_operations()]
    assert np.isfinite(step(x).numpy()).all()
