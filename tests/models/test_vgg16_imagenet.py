import h5py
import keras
import numpy as np
import pytest

from keras_scaleattn import ScaleAttentionSegmenter
from keras_scaleattn import load_vgg16_imagenet_weights
from keras_scaleattn.layers import VGG16LargeFOV
from keras_scaleattn.layers import VGGPreprocessing


def _random_vgg16(include_top):
    vgg = keras.applications.VGG16(weights=None, include_top=include_top)
    rng = np.random.default_rng(1)
    vgg.set_weights([rng.normal(0, 0.05, w.shape).astype("float32")
                     for w in vgg.get_weights()])
    return vgg


def _legacy_h5(vgg, path):
    # The layout of Keras' downloadable `vgg16_weights_tf_dim_ordering_tf_kernels*.h5`.
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, vgg)
    return path


def _block1_activations_agree(trunk, vgg, rng):
    images = rng.uniform(0, 255, size=(1, 24, 24, 3)).astype("float32")
    # keras.applications' VGG16 takes "caffe"-preprocessed inputs; the
    # package's VGGPreprocessing with the same mean produces them.
    x = VGGPreprocessing(mean=(103.939, 116.779, 123.68))(images)
    ours = keras.Sequential([trunk.get_layer("block1_conv1"),
                             trunk.get_layer("block1_conv2")])(x)
    probe = keras.Model(vgg.inputs, vgg.get_layer("block1_conv2").output)
    if vgg.input_shape[1] is not None:  # The top model takes 224 x 224 only.
        images = rng.uniform(0, 255, size=(1, 224, 224, 3)).astype("float32")
        x = VGGPreprocessing(mean=(103.939, 116.779, 123.68))(images)
        ours = keras.Sequential([trunk.get_layer("block1_conv1"),
                                 trunk.get_layer("block1_conv2")])(x)
    theirs = probe(keras.applications.vgg16.preprocess_input(images.copy()))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(ours),
                               keras.ops.convert_to_numpy(theirs),
                               rtol=1e-4, atol=1e-3)


def test_notop_file_loads_every_convolution(tmp_path, rng):
    vgg = _random_vgg16(include_top=False)
    path = _legacy_h5(vgg, tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
    trunk = VGG16LargeFOV(num_classes=21)
    trunk.build((None, None, None, 3))
    fc6_before = trunk.get_layer("fc6").get_weights()[0].copy()
    loaded = load_vgg16_imagenet_weights(trunk, path)
    assert len(loaded) == 13
    for name in loaded:
        for ours, theirs in zip(trunk.get_layer(name).get_weights(),
                                vgg.get_layer(name).get_weights()):
            np.testing.assert_array_equal(ours, theirs)
    # Without the top, fc6/fc7 keep their initialisation.
    np.testing.assert_array_equal(trunk.get_layer("fc6").get_weights()[0],
                                  fc6_before)
    _block1_activations_agree(trunk, vgg, rng)


@pytest.mark.slow
def test_full_file_subsamples_fc6_and_fc7(tmp_path, rng):
    vgg = _random_vgg16(include_top=True)
    path = _legacy_h5(vgg, tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels.h5")
    model = ScaleAttentionSegmenter(num_classes=21, scales=(1.0, 0.5))
    loaded = load_vgg16_imagenet_weights(model, path)
    assert loaded[-2:] == ["fc6", "fc7"]
    # DeepLab's conversion, read independently from the HDF5 file: keep
    # kernel positions 0, 3, 6 of 7 and every 4th channel.
    with h5py.File(path, "r") as f:
        def read(layer):  # Legacy layout: names listed in `weight_names`.
            return [f[layer][name][()] for name in f[layer].attrs["weight_names"]]
        (fc1, fc1_b), (fc2, _) = read("fc1"), read("fc2")
        fc1 = fc1.reshape(7, 7, 512, 4096)
    fc6_k, fc6_b = model.trunk.get_layer("fc6").get_weights()
    np.testing.assert_array_equal(fc6_k, fc1[0::3, 0::3, :, 0::4])
    np.testing.assert_array_equal(fc6_b, fc1_b[0::4])
    fc7_k = model.trunk.get_layer("fc7").get_weights()[0]
    np.testing.assert_array_equal(fc7_k[0, 0], fc2[0::4, 0::4])
    _block1_activations_agree(model.trunk, vgg, rng)
    # Keras 3 `.weights.h5` files load too.
    vgg.save_weights(tmp_path / "vgg.weights.h5")
    model2 = ScaleAttentionSegmenter(num_classes=21, scales=(1.0,))
    load_vgg16_imagenet_weights(model2, tmp_path / "vgg.weights.h5")
    np.testing.assert_array_equal(model2.trunk.get_layer("fc6").get_weights()[0],
                                  fc6_k)


def test_bad_weights_files(tmp_path):
    trunk = VGG16LargeFOV(num_classes=21)
    trunk.build((None, None, None, 3))
    with pytest.raises(FileNotFoundError, match="weights_path.*missing.h5"):
        load_vgg16_imagenet_weights(trunk, tmp_path / "missing.h5")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(ValueError, match="not an HDF5.*text.h5"):
        load_vgg16_imagenet_weights(trunk, tmp_path / "text.h5")
    vgg19 = keras.applications.VGG19(weights=None, include_top=False)
    path = _legacy_h5(vgg19, tmp_path / "vgg19.h5")
    with pytest.raises(ValueError, match="does not hold Keras VGG-16 weights"):
        load_vgg16_imagenet_weights(trunk, path)


def test_only_full_width_trunks():
    trunk = VGG16LargeFOV(num_classes=2, width=0.5)
    trunk.build((None, None, None, 3))
    with pytest.raises(ValueError, match="width=0.5"):
        load_vgg16_imagenet_weights(trunk, "unused.h5")
