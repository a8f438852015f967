import keras
import numpy as np
import pytest

from keras_scaleattn.ops import resize_bilinear_align_corners
from keras_scaleattn.ops import scaled_size
from tests import references


@pytest.mark.parametrize(
    "n, scale, expected",
    [(321, 1.0, 321), (321, 0.75, 241), (321, 0.5, 161), (513, 0.75, 385),
     (513, 0.5, 257), (321, 0.6, 193), (41, 2.0, 81), (20, 0.5, 10)],
)
def test_scaled_size_is_caffe_interp(n, scale, expected):
    # (n - 1) * s + 1, rounded down: the paper's 321 -> 241 -> 161.
    assert scaled_size(n, scale) == expected
    tensor = scaled_size(keras.ops.convert_to_tensor(n), scale)
    assert int(keras.ops.convert_to_numpy(tensor)) == expected


@pytest.mark.parametrize(
    "in_hw, out_hw",
    [((5, 7), (9, 13)), ((9, 13), (5, 7)), ((41, 41), (31, 31)),
     ((21, 17), (41, 33)), ((1, 4), (3, 4)), ((6, 6), (1, 1)), ((4, 4), (4, 4))],
)
def test_resize_matches_numpy_align_corners(rng, in_hw, out_hw):
    x = rng.normal(size=(2,) + in_hw + (3,)).astype("float32")
    out = keras.ops.convert_to_numpy(resize_bilinear_align_corners(x, out_hw))
    expected = references.resize_align_corners(x, *out_hw)
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_resize_corners_coincide(rng):
    x = rng.normal(size=(1, 8, 5, 2)).astype("float32")
    out = keras.ops.convert_to_numpy(resize_bilinear_align_corners(x, (15, 9)))
    for i, j in [(0, 0), (0, -1), (-1, 0), (-1, -1)]:
        np.testing.assert_allclose(out[0, i, j], x[0, i, j], atol=1e-6)


def test_resize_generic_path_matches_numpy(rng):
    # The keras.ops gather-and-lerp path every non-TF backend uses.
    from keras_scaleattn.ops.resize import _resize_gather

    x = rng.normal(size=(1, 11, 6, 2)).astype("float32")
    out = keras.ops.convert_to_numpy(_resize_gather(x, (7, 16)))
    np.testing.assert_allclose(
        out, references.resize_align_corners(x, 7, 16), atol=1e-5)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="dynamic shapes inside tf.function are TF-only")
def test_resize_with_dynamic_sizes(rng):
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 1])])
    def half(x):
        shape = tf.shape(x)
        size = (scaled_size(shape[1], 0.5), scaled_size(shape[2], 0.5))
        return resize_bilinear_align_corners(x, size)

    x = rng.normal(size=(1, 9, 13, 1)).astype("float32")
    np.testing.assert_allclose(
        half(x).numpy(), references.resize_align_corners(x, 5, 7), atol=1e-5)


def test_resize_rejects_bad_size():
    with pytest.raises(ValueError, match="size"):
        resize_bilinear_align_corners(np.zeros((1, 4, 4, 1)), (4, 4, 4))
