import keras
import numpy as np
import pytest

from keras_scaleattn.losses import SegmentationCrossEntropy
from keras_scaleattn.losses import subsample_labels
from tests.references import softmax


def _numpy_loss(labels, logits, ignore=255):
    probs = softmax(logits.astype(np.float64))
    valid = labels != ignore
    picked = np.take_along_axis(
        probs, np.where(valid, labels, 0)[..., None], axis=-1)[..., 0]
    return -np.log(picked[valid]).mean()


@pytest.mark.parametrize("size, out, stride", [(321, 41, 8), (321, 21, 16),
                                               (513, 65, 8), (33, 5, 8)])
def test_subsampling_is_strided_picking(rng, size, out, stride):
    labels = rng.integers(0, 21, size=(2, size, size))
    sub = keras.ops.convert_to_numpy(subsample_labels(labels, (out, out)))
    np.testing.assert_array_equal(sub, labels[:, ::stride, ::stride])


def test_subsampling_never_invents_classes(rng):
    labels = rng.choice([0, 3, 7, 255], size=(1, 50, 37))
    sub = keras.ops.convert_to_numpy(subsample_labels(labels, (13, 9)))
    assert set(np.unique(sub)) <= {0, 3, 7, 255}


def test_loss_is_mean_over_valid_pixels(rng):
    labels = rng.integers(0, 5, size=(2, 33, 33))
    labels[:, :10] = 255
    logits = rng.normal(size=(2, 5, 5, 5)).astype("float32") * 3
    loss = SegmentationCrossEntropy()(labels, logits)
    expected = _numpy_loss(labels[:, ::8, ::8], logits)
    np.testing.assert_allclose(float(keras.ops.convert_to_numpy(loss)),
                               expected, rtol=1e-5)


def test_labels_with_channel_axis(rng):
    labels = rng.integers(0, 3, size=(1, 17, 17, 1))
    logits = rng.normal(size=(1, 3, 3, 3)).astype("float32")
    loss = SegmentationCrossEntropy()(labels, logits)
    np.testing.assert_allclose(float(keras.ops.convert_to_numpy(loss)),
                               _numpy_loss(labels[:, ::8, ::8, 0], logits),
                               rtol=1e-5)


def test_config_round_trip():
    loss = SegmentationCrossEntropy(ignore_label=0)
    clone = SegmentationCrossEntropy.from_config(loss.get_config())
    assert clone.ignore_label == 0


def _bad_labels(rng):
    labels = rng.integers(0, 3, size=(2, 17, 17))
    labels[:, :4] = 255                      # ignored: fine
    labels[1, 8, 8] = 7                      # >= num_classes, on the grid
    labels[1, 3, 5] = -1                     # off the subsampling grid
    return labels


@pytest.mark.parametrize("value", [3, 7, -1, 254, 256])
def test_out_of_range_labels_are_an_error_on_known_values(rng, value):
    labels = rng.integers(0, 3, size=(1, 17, 17))
    labels[0, 1, 2] = value
    logits = rng.normal(size=(1, 3, 3, 3)).astype("float32")
    message = (r"`y_true` must hold class ids in \[0, 3\) or the ignore label "
               rf"255\. Received: y_true with values \[{value}\]")
    with pytest.raises(ValueError, match=message):
        SegmentationCrossEntropy()(labels, logits)
    # The same for a backend tensor outside a traced function.
    with pytest.raises(ValueError, match=message):
        SegmentationCrossEntropy()(keras.ops.convert_to_tensor(labels), logits)


def _traced(fn):
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(fn)
    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(fn)
    pytest.skip("tests the TensorFlow and JAX traced functions")


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none"])
def test_out_of_range_labels_make_the_loss_nan_in_traced_functions(
        rng, reduction):
    # No error can be raised from a compiled step without a host sync: the
    # loss is NaN on every backend (TF on CPU used to raise, TF on GPU gave
    # NaN, JAX counted such pixels as a loss of 0).
    labels = _bad_labels(rng)
    logits = rng.normal(size=(2, 3, 3, 3)).astype("float32")
    loss_fn = SegmentationCrossEntropy(reduction=reduction)
    loss = keras.ops.convert_to_numpy(_traced(loss_fn)(
        keras.ops.convert_to_tensor(labels), keras.ops.convert_to_tensor(logits)))
    if reduction != "none":
        assert np.isnan(loss)
        return
    # Per pixel: NaN on every pixel of the image with a bad label, the
    # other image unchanged (0 on ignored pixels).
    assert loss.shape == (2, 3, 3)
    assert np.isnan(loss[1]).all()
    valid = labels[0, ::8, ::8] != 255
    probs = softmax(logits[0].astype(np.float64))
    picked = np.take_along_axis(
        probs, np.where(valid, labels[0, ::8, ::8], 0)[..., None], -1)[..., 0]
    np.testing.assert_allclose(loss[0], np.where(valid, -np.log(picked), 0.0),
                               rtol=1e-5, atol=1e-6)


def test_valid_labels_in_traced_functions_are_unchanged(rng):
    labels = rng.integers(0, 5, size=(2, 33, 33))
    labels[:, :10] = 255
    logits = rng.normal(size=(2, 5, 5, 5)).astype("float32") * 3
    loss = _traced(SegmentationCrossEntropy())(
        keras.ops.convert_to_tensor(labels), keras.ops.convert_to_tensor(logits))
    np.testing.assert_allclose(float(keras.ops.convert_to_numpy(loss)),
                               _numpy_loss(labels[:, ::8, ::8], logits),
                               rtol=1e-5)
