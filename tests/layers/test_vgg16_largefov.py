import keras
import numpy as np
import pytest

from keras_scaleattn.layers import VGG16LargeFOV
from tests import references


def _caffe_max_pool(x, stride):
    """3x3 max pool, pad 1 (padding ignored), Caffe's ceil output size."""
    n_h, n_w = x.shape[1:3]
    out_h = -(-(n_h + 2 - 3) // stride) + 1
    out_w = -(-(n_w + 2 - 3) // stride) + 1
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)),
                    constant_values=-np.inf)
    out = np.full((x.shape[0], out_h, out_w, x.shape[3]), -np.inf)
    for i in range(out_h):
        for j in range(out_w):
            window = padded[:, i * stride:i * stride + 3, j * stride:j * stride + 3]
            out[:, i, j] = window.max(axis=(1, 2))
    return out


def _numpy_trunk(trunk, x):
    """DeepLab-LargeFOV as PAPER.md describes it, in NumPy."""
    def conv(name, x, dilation=1, relu=True):
        kernel, bias = trunk.get_layer(name).get_weights()
        y = references.conv2d_same(x, kernel, bias, dilation)
        return np.maximum(y, 0) if relu else y

    for block, repeats in enumerate((2, 2, 3, 3, 3), start=1):
        for i in range(1, repeats + 1):
            x = conv(f"block{block}_conv{i}", x, dilation=2 if block == 5 else 1)
        x = _caffe_max_pool(x, stride=2 if block <= 3 else 1)
    fc7 = conv("fc7", conv("fc6", x, dilation=12))
    return fc7, conv("fc8", fc7, relu=False)


def test_matches_numpy_deeplab_largefov(rng):
    trunk = VGG16LargeFOV(num_classes=3, width=0.0625)
    x = rng.normal(size=(1, 33, 33, 3)).astype("float32") * 50
    fc7, fc8 = trunk(x)
    ref7, ref8 = _numpy_trunk(trunk, x.astype(np.float64))
    assert tuple(fc8.shape) == (1, 5, 5, 3)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(fc7), ref7,
                               rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(fc8), ref8,
                               rtol=1e-3, atol=1e-3)


def test_full_width_parameter_count():
    trunk = VGG16LargeFOV(num_classes=21)
    trunk.build((None, None, None, 3))
    # VGG-16 convolutions (14,714,688) + fc6 3x3x512x1024 + fc7 1x1x1024x1024
    # + fc8 1x1x1024x21, with biases.
    expected = 14_714_688 + (9 * 512 * 1024 + 1024) + (1024 * 1024 + 1024) \
        + (1024 * 21 + 21)
    assert trunk.count_params() == expected == 20_505_429


@pytest.mark.parametrize("width", [0.0625, 0.25, 0.5])
def test_parameter_count_scales_with_width(width):
    trunk = VGG16LargeFOV(num_classes=7, width=width)
    trunk.build((None, None, None, 3))
    widths = [int(round(c * width)) for c in
              (64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512)]
    expected, previous = 0, 3
    for c in widths:
        expected += 9 * previous * c + c
        previous = c
    fc = int(round(1024 * width))
    expected += 9 * previous * fc + fc + fc * fc + fc + fc * 7 + 7
    assert trunk.count_params() == expected


@pytest.mark.parametrize("size, expected", [(321, 41), (513, 65), (241, 31),
                                            (161, 21), (100, 13)])
def test_output_stride_8(size, expected):
    trunk = VGG16LargeFOV(num_classes=21)
    fc7, fc8 = trunk.compute_output_shape((None, size, size, 3))
    assert fc8 == (None, expected, expected, 21)
    assert fc7 == (None, expected, expected, 1024)
    assert expected == references.caffe_output_size(size)


@pytest.mark.slow
@pytest.mark.parametrize("size", [321, 513])
def test_output_stride_8_forward(size):
    trunk = VGG16LargeFOV(num_classes=21, width=0.125)
    _, fc8 = trunk(np.zeros((1, size, size, 3), "float32"))
    assert tuple(fc8.shape) == (1, (size + 7) // 8, (size + 7) // 8, 21)


@pytest.mark.slow
def test_full_width_forward_at_small_size(rng):
    trunk = VGG16LargeFOV(num_classes=21)
    fc7, fc8 = trunk(rng.normal(size=(1, 41, 57, 3)).astype("float32"))
    assert tuple(fc7.shape) == (1, 6, 8, 1024)
    assert tuple(fc8.shape) == (1, 6, 8, 21)
    assert np.isfinite(keras.ops.convert_to_numpy(fc8)).all()


def test_fc8_initialisation_is_paper_normal():
    trunk = VGG16LargeFOV(num_classes=64, width=0.5)
    trunk.build((None, None, None, 3))
    kernel = trunk.get_layer("fc8").get_weights()[0]
    assert abs(kernel.std() - 0.01) < 0.001


def test_dropout_only_in_training(rng):
    trunk = VGG16LargeFOV(num_classes=3, width=0.0625)
    x = rng.normal(size=(1, 17, 17, 3)).astype("float32") * 50
    a = keras.ops.convert_to_numpy(trunk(x, training=False)[1])
    b = keras.ops.convert_to_numpy(trunk(x)[1])
    c = keras.ops.convert_to_numpy(trunk(x, training=True)[1])
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_config_round_trip():
    trunk = VGG16LargeFOV(num_classes=5, width=0.25, dropout=0.1, name="t")
    config = trunk.get_config()
    assert VGG16LargeFOV.from_config(config).get_config() == config


def test_shared_weights_and_fit_step(rng):
    a, b = keras.Input((None, None, 3)), keras.Input((None, None, 3))
    trunk = VGG16LargeFOV(num_classes=2, width=0.0625)
    out_a, out_b = trunk(a)[1], trunk(b)[1]
    model = keras.Model([a, b], [out_a, out_b])
    assert len(model.weights) == len(trunk.weights) == 32
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    x = rng.normal(size=(2, 17, 17, 3)).astype("float32")
    before = trunk.get_layer("block1_conv1").get_weights()[0].copy()
    model.fit([x, x], [np.ones((2, 3, 3, 2))] * 2, epochs=1, verbose=0)
    assert not np.allclose(before, trunk.get_layer("block1_conv1").get_weights()[0])


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_classes"):
        VGG16LargeFOV(num_classes=0)
    with pytest.raises(ValueError, match="width"):
        VGG16LargeFOV(num_classes=2, width=0)
    with pytest.raises(ValueError, match="dropout"):
        VGG16LargeFOV(num_classes=2, dropout=1.0)
    with pytest.raises(ValueError, match="name"):
        VGG16LargeFOV(num_classes=2).get_layer("conv9")


def test_numpy_integers_accepted_bools_refused():
    trunk = VGG16LargeFOV(num_classes=np.int64(3), width=0.0625)
    assert type(trunk.get_config()["num_classes"]) is int
    assert trunk.classifier.filters == 3
    with pytest.raises(ValueError, match=r"num_classes=True"):
        VGG16LargeFOV(num_classes=True)
    with pytest.raises(ValueError, match=r"width=True"):
        VGG16LargeFOV(num_classes=2, width=True)
