import keras
import numpy as np
import pytest

from keras_scaleattn.layers import ScaleAttention
from tests import references


def _reference(features, layer, target_index):
    """att_fc(dropout(relu(att_conv1(concat(resized fc7))))) in NumPy."""
    h, w = features[target_index].shape[1:3]
    resized = [f if i == target_index else
               references.resize_align_corners(f, h, w)
               for i, f in enumerate(features)]
    x = np.concatenate(resized, axis=-1)
    k1, b1 = layer.conv.get_weights()
    x = np.maximum(references.conv2d_same(x, k1, b1), 0.0)
    k2, b2 = layer.score.get_weights()
    return references.conv2d_same(x, k2, b2)


@pytest.mark.parametrize("num_scales", [1, 2, 3, 4])
def test_matches_numpy_reference(rng, num_scales):
    sizes = [(9, 7), (7, 5), (5, 4), (3, 3)][:num_scales]
    features = [rng.normal(size=(2,) + s + (6,)).astype("float32")
                for s in sizes]
    layer = ScaleAttention(num_scales=num_scales, filters=8)
    out = layer(features)
    assert tuple(out.shape) == (2, 9, 7, num_scales)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out),
                               _reference(features, layer, 0),
                               rtol=1e-4, atol=1e-4)


def test_target_index_picks_the_output_size(rng):
    features = [rng.normal(size=(1, 5, 5, 3)).astype("float32"),
                rng.normal(size=(1, 9, 9, 3)).astype("float32")]
    layer = ScaleAttention(num_scales=2, filters=4, target_index=1)
    out = layer(features)
    assert tuple(out.shape) == (1, 9, 9, 2)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out),
                               _reference(features, layer, 1), atol=1e-4)


@pytest.mark.parametrize("num_scales, channels, filters",
                         [(1, 16, 8), (2, 16, 8), (3, 1024, 512), (4, 8, 3)])
def test_weight_counts(num_scales, channels, filters):
    layer = ScaleAttention(num_scales=num_scales, filters=filters)
    layer.build([(None, None, None, channels)] * num_scales)
    expected = (3 * 3 * num_scales * channels * filters + filters
                + filters * num_scales + num_scales)
    assert layer.count_params() == expected
    # The paper's head on three scales of fc7: 3x3x3072x512 + 1x1x512x3.
    if (num_scales, channels, filters) == (3, 1024, 512):
        assert layer.count_params() == 14_157_827


def test_symbolic_shapes_with_dynamic_sizes():
    inputs = [keras.Input((None, None, 4)) for _ in range(3)]
    out = ScaleAttention(num_scales=3, filters=2)(inputs)
    assert tuple(out.shape) == (None, None, None, 3)


def test_dropout_only_in_training(rng):
    features = [rng.normal(size=(1, 5, 5, 4)).astype("float32")] * 2
    layer = ScaleAttention(num_scales=2, filters=64, dropout=0.5)
    a = keras.ops.convert_to_numpy(layer(features, training=False))
    b = keras.ops.convert_to_numpy(layer(features, training=False))
    c = keras.ops.convert_to_numpy(layer(features, training=True))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_config_round_trip():
    layer = ScaleAttention(num_scales=3, filters=16, dropout=0.3,
                           target_index=2, name="att")
    config = layer.get_config()
    clone = ScaleAttention.from_config(config)
    assert clone.get_config() == config


def test_fit_step(rng):
    inputs = [keras.Input((7, 7, 4)), keras.Input((4, 4, 4))]
    model = keras.Model(inputs, ScaleAttention(num_scales=2, filters=4)(inputs))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = [w.copy() for w in model.get_weights()]
    x = [rng.normal(size=(2, 7, 7, 4)), rng.normal(size=(2, 4, 4, 4))]
    model.fit(x, np.ones((2, 7, 7, 2)), epochs=1, verbose=0)
    assert all(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_scales"):
        ScaleAttention(num_scales=0)
    with pytest.raises(ValueError, match="filters"):
        ScaleAttention(num_scales=2, filters=0)
    with pytest.raises(ValueError, match="target_index"):
        ScaleAttention(num_scales=2, target_index=2)
    with pytest.raises(ValueError, match="list of 2 tensors"):
        ScaleAttention(num_scales=2)([np.zeros((1, 4, 4, 2), "float32")])


def test_numpy_integers_accepted_bools_refused():
    layer = ScaleAttention(num_scales=np.int64(2), filters=np.int32(4))
    config = layer.get_config()
    assert type(config["num_scales"]) is int and type(config["filters"]) is int
    with pytest.raises(ValueError, match=r"num_scales=True"):
        ScaleAttention(num_scales=True)
    with pytest.raises(ValueError, match=r"filters=True"):
        ScaleAttention(num_scales=2, filters=True)
