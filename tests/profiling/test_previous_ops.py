"""Previous implementations: same numbers as the package's current ops."""

import keras
import numpy as np
import pytest

from keras_scaleattn import ScaleAttentionSegmenter
from keras_scaleattn.profiling.previous_ops import PREVIOUS_OPS
from keras_scaleattn.profiling.previous_ops import apply_previous_ops
from keras_scaleattn.profiling.previous_ops import dilated_conv2d_layers
from keras_scaleattn.profiling.previous_ops import restore_dilated_convolutions
from tests.conftest import requires_tensorflow

pytestmark = requires_tensorflow


def _pair(scales=(1.0, 0.75, 0.5)):
    models = []
    for _ in range(2):
        keras.utils.set_random_seed(0)
        models.append(ScaleAttentionSegmenter(
            num_classes=3, scales=scales, trunk_width=0.0625))
    return models


def _graph_op_types(model, size=65):
    import tensorflow as tf

    function = tf.function(lambda x: model(x)["logits"])
    graph = function.get_concrete_function(
        tf.TensorSpec((1, size, size, 3))).graph
    return [op.type for op in graph.get_operations()]


@pytest.mark.parametrize("names", [[name] for name in PREVIOUS_OPS]
                         + [list(PREVIOUS_OPS)])
def test_previous_ops_compute_the_same_outputs(rng, names):
    current, previous = _pair()
    apply_previous_ops(previous, names)
    images = rng.uniform(0, 255, (1, 57, 65, 3)).astype("float32")
    expected = previous.predict_on_batch(images)
    actual = current.predict_on_batch(images)
    for name in expected:
        np.testing.assert_allclose(actual[name], expected[name],
                                   rtol=1e-5, atol=1e-5)


def test_current_model_has_no_space_to_batch_but_the_previous_one_had():
    current, previous = _pair(scales=(1.0,))
    assert "SpaceToBatchND" not in _graph_op_types(current)
    layers = PREVIOUS_OPS["spacetobatch-dilation"](previous)
    assert [layer.name for layer in layers] == [
        "block5_conv1", "block5_conv2", "block5_conv3", "fc6"]
    assert "SpaceToBatchND" in _graph_op_types(previous)
    restore_dilated_convolutions(layers)
    assert all("convolution_op" not in vars(layer)
               for layer in dilated_conv2d_layers(previous))
    assert "SpaceToBatchND" not in _graph_op_types(previous)


def _concatenated_feature_maps(model, channels):
    import tensorflow as tf

    function = tf.function(lambda x: model(x)["logits"])
    graph = function.get_concrete_function(
        tf.TensorSpec((1, 65, 65, 3))).graph
    return [op for op in graph.get_operations() if op.type == "ConcatV2"
            and op.outputs[0].shape.rank == 4
            and op.outputs[0].shape[-1] == channels]


def test_current_attention_head_runs_one_convolution_per_scale():
    current, previous = _pair(scales=(1.0, 0.5))
    fc7_channels = current.trunk.get_layer("fc7").filters
    apply_previous_ops(previous, ["concat-attention-conv"])
    assert not _concatenated_feature_maps(current, 2 * fc7_channels)
    assert len(_concatenated_feature_maps(previous, 2 * fc7_channels)) == 1
    # One more Conv2D: att_conv1 is two convolutions instead of one.
    assert _graph_op_types(current).count("Conv2D") == (
        _graph_op_types(previous).count("Conv2D") + 1)


def test_unknown_previous_op_is_refused():
    with pytest.raises(ValueError, match="Received: 'faster'"):
        apply_previous_ops(_pair()[0], ["faster"])


def test_previous_ops_flag_is_parsed_and_checked(capsys):
    import argparse

    from keras_scaleattn.profiling.cli import add_previous_ops_argument

    parser = add_previous_ops_argument(argparse.ArgumentParser(), "help")
    assert parser.parse_args([]).previous_ops == []
    assert parser.parse_args(
        ["--previous-ops", " concat-attention-conv,spacetobatch-dilation"]
    ).previous_ops == ["concat-attention-conv", "spacetobatch-dilation"]
    with pytest.raises(SystemExit):
        parser.parse_args(["--previous-ops", "concat-attention-conv,faster"])
    error = capsys.readouterr().err
    assert "--previous-ops" in error and "['faster']" in error
    assert "spacetobatch-dilation" in error
