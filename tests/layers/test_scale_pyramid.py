import contextlib
import signal

import keras
import numpy as np
import pytest

from keras_scaleattn.layers import ScalePyramid
from keras_scaleattn.layers.scale_pyramid import min_input_size
from keras_scaleattn.ops import scaled_size
from tests import references


@pytest.mark.parametrize("scales", [(1.0,), (1.0, 0.5), (1.0, 0.75, 0.5),
                                    (1.0, 0.75, 0.5, 0.25)])
def test_sizes_and_values_match_caffe_interp(rng, scales):
    x = rng.uniform(0, 255, size=(2, 69, 67, 3)).astype("float32")
    outputs = ScalePyramid(scales=scales)(x)
    assert len(outputs) == len(scales)
    for scale, out in zip(scales, outputs):
        h = int(np.floor(68 * scale + 1e-4)) + 1
        w = int(np.floor(66 * scale + 1e-4)) + 1
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(out),
            # TF computes the sampling positions in float32.
            references.resize_align_corners(x, h, w), rtol=1e-5, atol=3e-3)


def test_paper_sizes():
    shapes = ScalePyramid().compute_output_shape((None, 321, 321, 3))
    assert [s[1] for s in shapes] == [321, 241, 161]


def test_half_scale_samples_every_other_pixel(rng):
    # For odd sizes, pixel i of the half-scale image is original pixel 2i.
    x = rng.uniform(0, 255, size=(1, 33, 33, 3)).astype("float32")
    half = ScalePyramid(scales=(0.5,))(x)[0]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(half),
                               x[:, ::2, ::2], atol=1e-3)


def test_config_round_trip():
    layer = ScalePyramid(scales=(1.0, 0.5), name="p")
    clone = ScalePyramid.from_config(layer.get_config())
    assert clone.scales == (1.0, 0.5) and clone.name == "p"
    assert layer.weights == []


def test_min_input_size():
    assert min_input_size((1.0, 0.75, 0.5)) == 33
    assert min_input_size((1.0,)) == 17
    # The smallest scale gets at least 17 pixels at the minimum size.
    for scales in [(1.0, 0.5), (1.0, 0.6), (0.3,)]:
        size = min_input_size(scales)
        assert np.floor((size - 1) * min(scales) + 1e-4) + 1 >= 17
        assert np.floor((size - 2) * min(scales) + 1e-4) + 1 < 17


def test_min_input_size_is_the_smallest_side_for_any_scale(rng):
    # The closed form against the definition: the smallest side n >= 17 at
    # which every scale keeps 17 pixels.
    for scale in np.concatenate([[0.001, 0.01, 0.05, 0.125, 1 / 3, 0.65, 1.5],
                                 rng.uniform(0.05, 2.0, size=30)]):
        size = min_input_size((1.0, float(scale)))
        assert size >= 17 and scaled_size(size, float(scale)) >= 17, scale
        assert size == 17 or scaled_size(size - 1, float(scale)) < 17, scale
    assert min_input_size((0.001,)) == 16001


@contextlib.contextmanager
def _seconds(limit):
    """Fails the test (instead of hanging) if the block runs over `limit`."""
    def fail(*_):
        raise TimeoutError(f"took more than {limit} s")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("scale", [1e-9, 1e-4, 0.0009])
def test_tiny_scales_are_refused_at_once(scale):
    # They used to loop over every side up to 16 / scale (forever for 1e-9).
    message = (r"`scales` must be numbers in \(0, 2\] and at least 0\.001.*"
               rf"scales=\(1\.0, {scale!r}\)")
    with _seconds(5):
        with pytest.raises(ValueError, match=message):
            min_input_size((1.0, scale))
        with pytest.raises(ValueError, match=message):
            ScalePyramid(scales=(1.0, scale))


@pytest.mark.parametrize(
    "scales, match",
    [((), "at least one"), ((1.0, 0.0), r"\(0, 2\]"), ((1.0, -0.5), r"\(0, 2\]"),
     ((1.0, 2.5), r"\(0, 2\]"), ((1.0, 1.0), "repeat"), (("a",), "numbers"),
     (None, "numbers")],
)
def test_bad_scales(scales, match):
    with pytest.raises(ValueError, match=match):
        ScalePyramid(scales=scales)


def test_bad_images():
    layer = ScalePyramid(scales=(1.0, 0.5))
    with pytest.raises(ValueError, match="4D"):
        layer(np.zeros((33, 33, 3)))
    with pytest.raises(ValueError, match="3 \\(RGB\\) channels"):
        layer(np.zeros((1, 33, 33, 4)))
    with pytest.raises(ValueError, match="at least 33 pixels.*32"):
        layer(np.zeros((1, 32, 40, 3)))
