import keras
import numpy as np

from keras_scaleattn.layers import VGGPreprocessing


def test_matches_keras_applications_vgg16_preprocess_input(rng):
    # keras.applications' "caffe" mode: RGB -> BGR, minus the ImageNet mean.
    x = rng.uniform(0, 255, size=(2, 5, 4, 3)).astype("float32")
    expected = keras.applications.vgg16.preprocess_input(x.copy())
    out = keras.ops.convert_to_numpy(VGGPreprocessing(
        mean=(103.939, 116.779, 123.68))(x))
    np.testing.assert_allclose(out, expected, atol=1e-4)


def test_default_mean_is_the_papers():
    x = np.zeros((1, 1, 1, 3), "float32")
    x[..., 0], x[..., 1], x[..., 2] = 122.675, 116.669, 104.008  # RGB
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(VGGPreprocessing()(x)), 0.0, atol=1e-4)


def test_config_round_trip():
    layer = VGGPreprocessing(mean=(1, 2, 3))
    assert VGGPreprocessing.from_config(layer.get_config()).mean == (1.0, 2.0, 3.0)
