"""Validation losses: the model at the evaluation geometry (16k + 1 sides
for scales {1, 0.5}, see `alignment_step`)."""

import numpy as np
import pytest
import tensorflow as tf

from keras_scaleattn import ScaleAttentionSegmenter
from keras_scaleattn.training.validation_losses import evaluate_losses
from tests import references

MEAN_RGB = np.array([122.675, 116.669, 104.008], "float32")


def _cross_entropy(labels, logits):
    """Mean softmax cross-entropy over the pixels whose label is not 255,
    labels subsampled (align-corners positions) to the logits' size."""
    batch, out_h, out_w, _ = logits.shape
    rows = np.round(np.linspace(0, labels.shape[1] - 1, out_h)).astype(int)
    cols = np.round(np.linspace(0, labels.shape[2] - 1, out_w)).astype(int)
    sub = labels[:, rows][:, :, cols]
    log_p = np.log(references.softmax(logits.astype(np.float64)))
    keep = sub != 255
    picked = np.take_along_axis(log_p, np.where(keep, sub, 0)[..., None],
                                axis=-1)[..., 0]
    return -picked[keep].mean()


@pytest.mark.parametrize("height, width, size", [
    (20, 24, (33, 33)),   # below min_input_size (33): padded up to it
    (38, 45, (49, 49)),   # padded to the next 16k + 1 (scale 0.5: 8j + 1)
])
def test_losses_match_the_padded_reference(rng, height, width, size):
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5),
                                    trunk_width=0.0625, attention_filters=8,
                                    dropout=0.0)
    images = rng.uniform(0, 255, size=(2, height, width, 3)).astype("float32")
    labels = rng.integers(0, 3, size=(2, height, width)).astype("int32")
    labels[:, :2] = 255
    dataset = tf.data.Dataset.from_tensors((images, labels))
    weights = {"logits": 1.0, "scale_logits_0": 0.5, "scale_logits_1": 0.25}
    got = evaluate_losses(model, dataset, weights)

    padded = np.empty((2, *size, 3), "float32")
    padded[:] = MEAN_RGB
    padded[:, :height, :width] = images
    padded_labels = np.full((2, *size), 255, "int32")
    padded_labels[:, :height, :width] = labels
    outputs = model.predict(padded, verbose=0)
    parts = {name: _cross_entropy(padded_labels, outputs[name])
             for name in weights}
    for name, value in parts.items():
        assert got[f"val_{name}_loss"] == pytest.approx(value, rel=1e-4)
    total = sum(weights[name] * value for name, value in parts.items())
    assert got["val_loss"] == pytest.approx(total, rel=1e-4)


def test_callback_traces_the_model_once_for_every_epoch_and_size(rng, monkeypatch):
    """Evaluation images of many sizes over many epochs: the callback keeps
    one compiled function, which traces at most twice on TensorFlow (the
    first shape, then one relaxed trace for any size) and once per
    evaluation size on JAX, never again at a later epoch."""
    from keras_scaleattn.training import validation_losses

    traces = []
    pad = validation_losses.pad_images

    def counting_pad(images, size):  # runs once per trace, in Python
        traces.append(tuple(images.shape[1:3]))
        return pad(images, size)

    monkeypatch.setattr(validation_losses, "pad_images", counting_pad)
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5),
                                    trunk_width=0.0625, attention_filters=8,
                                    dropout=0.0)
    batches = []
    # Four image sizes, two evaluation sizes (33 x 33 and 49 x 49).
    sizes = [(33, 33), (40, 36), (45, 47), (49, 40)]
    for height, width in sizes:
        images = rng.uniform(0, 255, (1, height, width, 3)).astype("float32")
        labels = rng.integers(0, 3, (1, height, width)).astype("int32")
        batches.append((images, labels))
    dataset = tf.data.Dataset.from_generator(
        lambda: iter(batches),
        output_signature=(tf.TensorSpec([1, None, None, 3], tf.float32),
                          tf.TensorSpec([1, None, None], tf.int32)))
    weights = {"logits": 1.0, "scale_logits_0": 1.0, "scale_logits_1": 1.0}
    callback = validation_losses.ValidationLosses(dataset, weights)
    callback.set_model(model)
    logs = [{} for _ in range(3)]
    for epoch, epoch_logs in enumerate(logs):
        callback.on_epoch_end(epoch, epoch_logs)
    # TensorFlow: the first shape, then one relaxed trace. JAX: one per
    # evaluation size, since the batches are padded before the function.
    assert len(traces) <= 2, traces
    expected = evaluate_losses(model, dataset, weights)
    for epoch_logs in logs:
        assert epoch_logs == pytest.approx(expected, rel=1e-5)
