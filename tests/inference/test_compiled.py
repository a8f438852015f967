"""compile_model_function: the model's own outputs, with its current weights,
on the active backend."""

import keras
import numpy as np

from keras_scaleattn import ScaleAttentionSegmenter
from keras_scaleattn.inference import compile_model_function


def _model():
    return ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5),
                                   trunk_width=0.0625, attention_filters=8,
                                   dropout=0.0)


def test_matches_the_eager_model_at_several_sizes(rng):
    model = _model()
    logits = compile_model_function(
        model, lambda images: model(images, training=False)["logits"])
    for height, width in [(33, 33), (49, 41), (41, 65)]:
        images = rng.uniform(0, 255, (2, height, width, 3)).astype("float32")
        expected = keras.ops.convert_to_numpy(
            model(images, training=False)["logits"])
        got = keras.ops.convert_to_numpy(logits(images))
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_sees_weights_changed_after_it_was_built(rng):
    # A validation callback builds its function once and calls it after
    # every epoch of training: the function must not keep the old weights.
    model = _model()
    logits = compile_model_function(
        model, lambda images: model(images, training=False)["logits"])
    images = rng.uniform(0, 255, (1, 33, 33, 3)).astype("float32")
    before = keras.ops.convert_to_numpy(logits(images))
    fc8 = model.get_layer("trunk").classifier
    fc8.bias.assign(fc8.bias + np.array([5.0, 0.0, -5.0], "float32"))
    after = keras.ops.convert_to_numpy(logits(images))
    expected = keras.ops.convert_to_numpy(model(images, training=False)["logits"])
    np.testing.assert_allclose(after, expected, rtol=1e-5, atol=1e-5)
    assert not np.allclose(after, before, atol=1.0)
