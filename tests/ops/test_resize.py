import re
from fractions import Fraction

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


# Scales as exact fractions: the reference is Caffe's geometry in integers,
# floor((n - 1) * p / q) + 1, with no float rounding at all.
_FRACTIONS = [Fraction(13, 20), Fraction(3, 4), Fraction(1, 2), Fraction(3, 5),
              Fraction(3, 10), Fraction(13, 10), Fraction(3, 2), Fraction(2),
              Fraction(1, 3), Fraction(2, 3), Fraction(1, 8), Fraction(11, 20),
              Fraction(17, 20), Fraction(7, 9), Fraction(1, 100)]


def _tensor_path(sizes, scale):
    sizes = keras.ops.convert_to_tensor(np.asarray(sizes, "int32"))
    out = scaled_size(sizes, scale)
    assert keras.backend.standardize_dtype(out.dtype) == "int32"
    return keras.ops.convert_to_numpy(out)


@pytest.mark.parametrize("fraction", _FRACTIONS, ids=str)
def test_scaled_size_is_exact_for_every_size(fraction):
    # Both paths, every side up to 20000 px (float32 loses the exact
    # multiples from about 5000 px on: 5141 at 0.65 is 3342, not 3341).
    sizes = np.arange(1, 20001)
    expected = (sizes - 1) * fraction.numerator // fraction.denominator + 1
    scale = float(fraction)
    np.testing.assert_array_equal(_tensor_path(sizes, scale), expected)
    np.testing.assert_array_equal(
        [scaled_size(int(n), scale) for n in sizes], expected)


def test_scaled_size_paths_agree_for_any_scale(rng):
    # Static sizes (int path: shapes, min_input_size) and dynamic ones
    # (tensor path: a traced graph, an export) must give one shape.
    sizes = np.unique(np.concatenate(
        [np.arange(1, 400), rng.integers(400, 40000, size=1500)]))
    scales = np.concatenate([rng.uniform(0.01, 2.0, size=40),
                             np.round(rng.uniform(0.01, 2.0, size=20), 2)])
    for scale in scales:
        ints = np.array([scaled_size(int(n), float(scale)) for n in sizes])
        np.testing.assert_array_equal(_tensor_path(sizes, float(scale)), ints,
                                      err_msg=f"scale={scale}")
        # Within one pixel of the real-valued floor((n - 1) * s) + 1.
        exact = np.floor((sizes - 1) * scale) + 1
        assert np.all(np.abs(ints - exact) <= 1), scale


def test_scaled_size_takes_numpy_integers_as_ints():
    assert scaled_size(np.int64(321), 0.75) == 241
    assert type(scaled_size(np.int64(321), 0.75)) is int


@pytest.mark.parametrize("scale, shown", [(0.0, "scale=0.0"),
                                          (-0.5, "scale=-0.5"),
                                          (1e-9, "scale=1e-09"),
                                          (float("nan"), "scale=nan"),
                                          (True, "scale=True"),
                                          ("0.5", "scale='0.5'")])
def test_scaled_size_rejects_bad_scales(scale, shown):
    with pytest.raises(ValueError, match=r"`scale` must be a number >= "
                       r"0\.001.*" + re.escape(shown)):
        scaled_size(321, scale)


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
