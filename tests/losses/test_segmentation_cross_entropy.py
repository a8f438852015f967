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
