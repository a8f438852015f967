"""Prototype patches: same numbers as the model they patch."""

import keras
import numpy as np
import pytest

from keras_scaleattn import ScaleAttentionSegmenter
from keras_scaleattn.profiling.prototypes import PROTOTYPES
from keras_scaleattn.profiling.prototypes import apply_prototypes
from keras_scaleattn.profiling.prototypes import dilated_conv2d_layers
from keras_scaleattn.profiling.prototypes import restore_dilated_convolutions
from tests.conftest import requires_tensorflow

pytestmark = requires_tensorflow


def _pair(scales=(1.0, 0.75, 0.5)):
    models = []
    for _ in range(2):
        keras.utils.set_random_seed(0)
        models.append(ScaleAttentionSegmenter(
            num_classes=3, scales=scales, trunk_width=0.0625))
    return models


@pytest.mark.parametrize("names", [[name] for name in PROTOTYPES]
                         + [list(PROTOTYPES)])
def test_patched_model_computes_the_same_outputs(rng, names):
    reference, patched = _pair()
    apply_prototypes(patched, names)
    images = rng.uniform(0, 255, (1, 57, 65, 3)).astype("float32")
    expected = reference.predict_on_batch(images)
    actual = patched.predict_on_batch(images)
    for name in expected:
        np.testing.assert_allclose(actual[name], expected[name],
                                   rtol=1e-5, atol=1e-5)


def test_native_dilation_emits_no_space_to_batch():
    import tensorflow as tf

    _, patched = _pair(scales=(1.0,))
    layers = PROTOTYPES["native-dilation"](patched)
    assert [layer.name for layer in layers] == [
        "block5_conv1", "block5_conv2", "block5_conv3", "fc6"]
    function = tf.function(lambda x: patched(x)["logits"])
    graph = function.get_concrete_function(
        tf.TensorSpec((1, 65, 65, 3))).graph
    ops = {op.type for op in graph.get_operations()}
    assert "SpaceToBatchND" not in ops
    restore_dilated_convolutions(layers)
    assert all("convolution_op" not in vars(layer)
               for layer in dilated_conv2d_layers(patched))


def test_unknown_prototype_is_refused():
    with pytest.raises(ValueError, match="Unknown prototype"):
        apply_prototypes(_pair()[0], ["faster"])
