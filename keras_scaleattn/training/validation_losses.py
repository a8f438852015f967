"""Validation losses at every epoch end, on this process only."""

import keras
import numpy as np
from keras import ops

from keras_scaleattn.data.constants import IGNORE_LABEL
from keras_scaleattn.inference.compiled import compile_model_function
from keras_scaleattn.inference.full_resolution import model_evaluation_size
from keras_scaleattn.inference.full_resolution import pad_images
from keras_scaleattn.inference.full_resolution import pad_to_evaluation_size
from keras_scaleattn.losses.segmentation_cross_entropy import SegmentationCrossEntropy
from keras_scaleattn.ops.resize import spatial_size


def validation_loss_function(model, loss_weights):
    """The compiled function `evaluate_losses` runs on each batch.

    Compiled for the backend by `compile_model_function`: on TensorFlow one
    `tf.function` that, after the first two batch shapes, traces once for
    any height and width (evaluation images of many sizes, as PASCAL VOC's,
    cost two traces, not one per size); on JAX a `jax.jit` that reads the
    model's current weights at each call and compiles once per input size
    (`evaluate_losses` pads the batches first there, so once per evaluation
    size).
    Build it once and pass it to every `evaluate_losses` call (as
    `ValidationLosses` does), or each call traces the model again.

    Args:
        model: a `ScaleAttentionSegmenter`.
        loss_weights: dict `output name -> weight` of the supervised outputs.

    Returns:
        callable of `(images, labels)` returning a dict `"loss"` (the
        weighted sum) and `"{name}_loss"` per output.
    """
    mean_loss = SegmentationCrossEntropy()
    loss_weights = dict(loss_weights)

    def losses(images, labels):
        images = ops.cast(images, "float32")
        height, width = spatial_size(images)
        size = model_evaluation_size(model, height, width)
        images = pad_images(images, size)
        label_pad = [[0, 0], [0, size[0] - height], [0, size[1] - width]]
        label_pad += [[0, 0]] * (len(labels.shape) - 3)
        labels = ops.pad(labels, label_pad, constant_values=IGNORE_LABEL)
        outputs = model(images, training=False)
        parts = {f"{name}_loss": ops.cast(mean_loss(labels, outputs[name]), "float32")
                 for name in loss_weights}
        total = sum(float(loss_weights[name]) * parts[f"{name}_loss"]
                    for name in loss_weights)
        return {"loss": total, **parts}

    return compile_model_function(model, losses)


def evaluate_losses(model, dataset, loss_weights, loss_function=None):
    """Mean losses of `model` over `dataset`, named as `fit` names them.

    Each batch is padded at the bottom and right to the evaluation size (the
    next `m k + 1` of `alignment_step`, at least `model.min_input_size`: images with the mean
    colour, labels with the ignore label), where the score maps' pixels sit
    on every 8th label pixel, as in training crops and evaluation.

    Args:
        model: a `ScaleAttentionSegmenter`.
        dataset: `tf.data.Dataset` of `(images, labels)` batches, any size.
        loss_weights: dict `output name -> weight` of the supervised outputs.
        loss_function: the result of `validation_loss_function(model,
            loss_weights)`, to reuse its traces over several calls. Defaults
            to None (built for this call).

    Returns:
        dict: `"val_loss"` (the weighted sum) and `"val_{name}_loss"` per
        output, each the mean over the batches of `SegmentationCrossEntropy`.
    """
    if loss_function is None:
        loss_function = validation_loss_function(model, loss_weights)
    if keras.backend.backend() != "tensorflow":
        # Padded here, in NumPy, so that XLA compiles the function once per
        # evaluation size (a few `m k + 1` sides), not once per image size.
        dataset = (_pad_to_evaluation_size(model, images, labels)
                   for images, labels in dataset.as_numpy_iterator())
    sums, count = {}, 0
    for images, labels in dataset:
        for key, value in loss_function(images, labels).items():
            sums[key] = sums.get(key, 0.0) + float(value)
        count += 1
    return {f"val_{key}": value / max(count, 1) for key, value in sums.items()}


def _pad_to_evaluation_size(model, images, labels):
    """NumPy `(images, labels)` padded as `validation_loss_function` pads
    them (mean colour, ignore label), so that its padding is a no-op."""
    padded = pad_to_evaluation_size(model, images)
    height, width = images.shape[1:3]
    padded_labels = np.full((labels.shape[0], *padded.shape[1:3],
                             *labels.shape[3:]), IGNORE_LABEL, labels.dtype)
    padded_labels[:, :height, :width] = labels
    return padded, padded_labels


class ValidationLosses(keras.callbacks.Callback):
    """Adds `val_loss` and each output's `val_*_loss` to the epoch logs.

    Runs the model on this process's copy of the weights, outside
    `tf.distribute` (no collectives): `fit`'s own validation splits every
    batch over the replicas, and a batch of one full-size image (evaluation
    images differ in size) leaves a replica an empty batch, which fails
    under `MirroredStrategy` ("Inputs to operation AddN ... must have the
    same size and shape"). Put it before the callbacks that read the logs
    (TensorBoard); Keras' progress bar and History come last.

    Args:
        dataset: `tf.data.Dataset` of `(images, labels)`; iterated entirely
            at every epoch end (`.take(n)` it).
        loss_weights: dict `output name -> weight` of the supervised outputs.

    Example:

    ```python
    callbacks = [ValidationLosses(eval_batches.take(10), {"logits": 1.0}),
                 keras.callbacks.TensorBoard("/tmp/logs")]
    ```
    """

    def __init__(self, dataset, loss_weights):
        super().__init__()
        self.dataset = dataset
        self.loss_weights = dict(loss_weights)
        # Built at the first epoch end and kept: a new tf.function per epoch
        # would trace the model again at every epoch.
        self._loss_function = None
        self._loss_function_model = None

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        if self._loss_function_model is not self.model:
            self._loss_function = validation_loss_function(
                self.model, self.loss_weights)
            self._loss_function_model = self.model
        logs.update(evaluate_losses(self.model, self.dataset, self.loss_weights,
                                    loss_function=self._loss_function))
