"""FLOP counter: hand-computed values, shared layers, and TF's profiler."""

import keras
import numpy as np
import pytest

from keras_scaleattn import ScaleAttentionSegmenter
from keras_scaleattn.layers import VGG16LargeFOV
from keras_scaleattn.profiling import conv_flops
from keras_scaleattn.profiling import count_flops
from keras_scaleattn.profiling import dense_flops
from tests.conftest import requires_tensorflow


def _tiny_sequential():
    return keras.Sequential([
        keras.Input((8, 8, 3)),
        keras.layers.Conv2D(4, 3, padding="same", name="a"),
        keras.layers.Conv2D(6, 3, strides=2, padding="valid", name="b"),
        keras.layers.Conv2D(6, 3, padding="same", dilation_rate=2,
                            groups=2, use_bias=False, name="c"),
        keras.layers.Flatten(),
        keras.layers.Dense(5, name="d"),
    ])


def test_conv_and_dense_formulas_by_hand():
    # 8x8 outputs x 4 filters x (3 x 3 x 3) taps, 2 FLOPs per multiply-add.
    assert conv_flops((1, 8, 8, 3), (1, 8, 8, 4), (3, 3, 3, 4)) == 13824
    assert conv_flops((2, 8, 8, 4), (2, 8, 8, 6), (3, 3, 2, 6),
                      groups=2) == 2 * 2 * 64 * 6 * 18
    assert dense_flops((4, 10), 3) == 240


def test_tiny_model_matches_hand_count():
    report = count_flops(_tiny_sequential(), (2, 8, 8, 3))
    per_layer = report.by_layer()
    assert per_layer == {
        "a": 2 * 2 * (8 * 8 * 4) * (3 * 3 * 3),
        "b": 2 * 2 * (3 * 3 * 6) * (3 * 3 * 4),  # valid, stride 2: 3x3
        "c": 2 * 2 * (3 * 3 * 6) * (3 * 3 * 3),  # 2 groups of 3 channels
        "d": 2 * 2 * 54 * 5,
    }
    assert report.total == sum(per_layer.values())
    # Biases: one addition per output element, none for "c".
    assert report.bias_total == 2 * (8 * 8 * 4 + 3 * 3 * 6 + 5)
    call = report.calls[2]
    assert call.dilation_rate == (2, 2)
    assert call.input_shape == (2, 3, 3, 6)
    assert call.kernel_shape == (3, 3, 3, 6)


def test_shared_layer_is_counted_at_every_call_with_its_shapes():
    conv = keras.layers.Conv2D(2, 3, padding="same", name="shared")
    inputs = keras.Input((None, None, 1))
    small = keras.layers.MaxPooling2D(2)(inputs)
    model = keras.Model(inputs, [conv(inputs), conv(small)])
    report = count_flops(model, (1, 8, 8, 1))
    assert [c.call_index for c in report.calls] == [0, 1]
    assert sorted(c.output_shape for c in report.calls) == [
        (1, 4, 4, 2), (1, 8, 8, 2)]
    assert report.total == 2 * 2 * 9 * (64 + 16)
    assert list(report.by_group()) == ["shared#0", "shared#1"]


def test_largefov_trunk_layer_formula_at_513():
    # keras_hub-style one-layer formula: fc6 is a 3x3 conv, 512 -> 1024
    # channels, on the 65x65 map of a 513 image (dilation adds no taps).
    trunk = VGG16LargeFOV(num_classes=21)
    report = count_flops(trunk, (1, 513, 513, 3))
    layers = report.by_layer()
    assert layers["fc6"] == 2 * 65 * 65 * 1024 * 3 * 3 * 512
    assert layers["block1_conv1"] == 2 * 513 * 513 * 64 * 3 * 3 * 3
    assert layers["fc8"] == 2 * 65 * 65 * 21 * 1024
    assert len(report.calls) == 16  # 13 convolutions, fc6, fc7, fc8


def test_segmenter_groups_trunk_per_scale_and_attention_head():
    model = ScaleAttentionSegmenter(num_classes=3, trunk_width=0.0625)
    single = ScaleAttentionSegmenter(num_classes=3, scales=(1.0,),
                                     trunk_width=0.0625)
    report = count_flops(model, (1, 65, 65, 3))
    groups = report.by_group()
    sides = {g: s[1] for g, s in report.group_input_shapes().items()}
    trunk = {sides[g]: v for g, v in groups.items() if g.startswith("trunk")}
    assert sorted(trunk) == [33, 49, 65]
    assert trunk[65] == count_flops(single, (1, 65, 65, 3)).total
    # Attention head: 3x3 conv on 3 x 64 fc7 channels -> 32, then 1x1 -> 3,
    # on the finest 9x9 map.
    assert groups["scale_attention#0"] == (
        2 * 81 * 32 * 9 * 192 + 2 * 81 * 3 * 32)
    assert report.total == sum(groups.values())


def test_counting_leaves_no_patch_behind():
    model = _tiny_sequential()
    count_flops(model, (1, 8, 8, 3))
    assert all("call" not in vars(layer) for layer in model.layers)
    assert model(np.zeros((1, 8, 8, 3), "float32")).shape == (1, 5)


@pytest.mark.parametrize("shape", [(1, None, 8, 3), (1, 8, 8, 0), ()])
def test_rejects_unknown_shapes(shape):
    model = _tiny_sequential()
    with pytest.raises(ValueError, match="input_shape"):
        count_flops(model, shape)


@requires_tensorflow
def test_agrees_with_tensorflow_profiler_without_dilation():
    import tensorflow as tf

    from keras_scaleattn.profiling import tf_profiler_flops

    model = keras.Sequential([
        keras.Input((16, 16, 3)),
        keras.layers.Conv2D(8, 3, padding="same"),
        keras.layers.Conv2D(4, 1),
    ])
    profiled = tf_profiler_flops(tf.function(lambda x: model(x)),
                                 [tf.TensorSpec((1, 16, 16, 3))])
    assert profiled["Conv2D"] == count_flops(model, (1, 16, 16, 3)).total


@requires_tensorflow
def test_tensorflow_profiler_shows_space_to_batch_padding():
    import tensorflow as tf

    from keras_scaleattn.profiling import tf_profiler_flops

    # A 10x10 map, dilation 4: TF computes 12x12 (a multiple of 4).
    model = keras.Sequential([
        keras.Input((18, 18, 2)),
        keras.layers.Conv2D(3, 3, dilation_rate=4, padding="valid"),
    ])
    profiled = tf_profiler_flops(tf.function(lambda x: model(x)),
                                 [tf.TensorSpec((1, 18, 18, 2))])
    counted = count_flops(model, (1, 18, 18, 2)).total
    assert counted == 2 * 100 * 3 * 18
    assert profiled["Conv2D"] == counted * 144 // 100
