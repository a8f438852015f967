import keras
import numpy as np
from keras import ops

from keras_scaleattn.ops.resize import spatial_size

IGNORE_LABEL = 255


def check_label_values(labels, num_classes, ignore_label=IGNORE_LABEL,
                       arg_name="labels"):
    """Raises ValueError unless `labels` are class ids or the ignore label.

    Args:
        labels: array-like of integer labels (NumPy; a tensor is converted).
        num_classes: int. Valid class ids are `[0, num_classes)`.
        ignore_label: int. The label of pixels left out. Defaults to `255`.
        arg_name: str. The argument's name, for the message.
            Defaults to `"labels"`.

    Raises:
        ValueError: naming `arg_name`, the values out of range and the ones
            allowed.

    Example:

    >>> check_label_values(np.array([[0, 2, 255]]), num_classes=3)
    >>> check_label_values(np.array([[0, 3, 255]]), num_classes=3)
    Traceback (most recent call last):
    ...
    ValueError: `labels` must hold class ids in [0, 3) or the ignore label 255. Received: labels with values [3]
    """
    labels = np.asarray(labels)
    bad = (labels < 0) | (labels >= num_classes)
    if ignore_label is not None:
        bad &= labels != ignore_label
    if bad.any():
        values = np.unique(labels[bad])
        shown = ", ".join(str(v) for v in values[:10].tolist())
        if len(values) > 10:
            shown += f", ... ({len(values)} values)"
        raise ValueError(
            f"`{arg_name}` must hold class ids in [0, {num_classes}) or the "
            f"ignore label {ignore_label}. Received: {arg_name} with values "
            f"[{shown}]")


def known_values(x):
    """`x` as a NumPy array if its values are known here (NumPy, or an eager
    TensorFlow / concrete JAX array), else None (inside a traced function,
    where reading them would need a host sync or is impossible)."""
    if isinstance(x, (np.ndarray, np.generic, list, tuple)):
        return np.asarray(x)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        if tf.executing_eagerly() and isinstance(x, tf.Tensor):
            return x.numpy()
    elif backend == "jax":
        import jax

        if isinstance(x, jax.Array) and not isinstance(x, jax.core.Tracer):
            return np.asarray(x)
    return None


def subsample_labels(labels, size):
    """Brings a label map to a score map's size by picking pixels.

    Class ids are never interpolated (PAPER.md, "Extra supervision"):
    output pixel `i` takes the label at `round(i * (H - 1) / (h - 1))`, the
    align-corners grid of the score map. For a 321 crop this is exactly
    `labels[::8, ::8]` for a 41x41 map and `labels[::16, ::16]` for 21x21.

    Args:
        labels: integer tensor `[B, H, W]` or `[B, H, W, 1]`.
        size: pair `(h, w)` of ints or scalar integer tensors.

    Returns:
        int32 tensor `[B, h, w]`.

    Example:

    >>> labels = subsample_labels(np.arange(9).reshape(1, 3, 3), (2, 2))
    >>> keras.ops.convert_to_numpy(labels)[0].tolist()
    [[0, 2], [6, 8]]
    """
    if len(labels.shape) == 4:
        labels = ops.squeeze(labels, axis=-1)
    labels = ops.cast(labels, "int32")
    in_sizes = ops.shape(labels)[1:3]
    for axis, (in_size, out_size) in enumerate(zip(in_sizes, size), start=1):
        in_f = ops.cast(in_size, "float32")
        out_f = ops.cast(out_size, "float32")
        ratio = (in_f - 1.0) / ops.maximum(out_f - 1.0, 1.0)
        index = ops.cast(
            ops.round(ops.arange(out_size, dtype="float32") * ratio), "int32"
        )
        labels = ops.take(labels, index, axis=axis)
    return labels


@keras.saving.register_keras_serializable(package="keras_scaleattn")
class SegmentationCrossEntropy(keras.losses.SparseCategoricalCrossentropy):
    """Pixel-wise softmax cross-entropy on logits, ignoring a label.

    Full-resolution labels are first subsampled to the score map's size
    (`subsample_labels`), so one label tensor supervises the merged output
    and every scale's own score map (extra supervision). The mean is taken
    over the pixels that are not ignored, as Caffe's `SoftmaxWithLoss`
    with `ignore_label` does.

    Labels must be class ids in `[0, num_classes)` (the last axis of
    `y_pred`) or `ignore_label`. Other values are an error where they can
    be read without slowing training, and a NaN loss where they cannot,
    identically on every backend:

    - labels whose values are known at the call (NumPy arrays, eager
      TensorFlow tensors, concrete JAX arrays; `run_eagerly=True`): a
      `ValueError` naming the values;
    - inside a traced function (`fit`, `evaluate`, `tf.function`,
      `jax.jit`), where raising would need a host sync every step: the loss
      is NaN (with `reduction="none"`, every pixel of each image holding
      such a label, on or off the subsampling grid). Before, TensorFlow
      raised on CPU and gave NaN on GPU while JAX counted those pixels as a
      loss of 0. `ScaleAttentionSegmenter.fit` checks NumPy labels before
      training, and the package's data pipelines check label ids when
      given `num_classes`.

    Args:
        ignore_label: int. Label excluded from the loss. Defaults to `255`.
        name: str. Defaults to `"segmentation_cross_entropy"`.
        **kwargs: other arguments of `keras.losses.Loss` (e.g. `reduction`).

    Example:

    >>> loss = SegmentationCrossEntropy()
    >>> round(float(loss(np.zeros((1, 17, 17)), np.zeros((1, 3, 3, 21)))), 4)  # log(21)
    3.0445

    Reference:
        [Chen et al., Attention to Scale, CVPR 2016](https://arxiv.org/abs/1511.03339)
    """

    def __init__(self, ignore_label=IGNORE_LABEL,
                 name="segmentation_cross_entropy", **kwargs):
        kwargs.pop("from_logits", None)
        kwargs.pop("ignore_class", None)
        super().__init__(from_logits=True, ignore_class=ignore_label,
                         name=name, **kwargs)
        self.ignore_label = ignore_label

    def __call__(self, y_true, y_pred, sample_weight=None):
        num_classes = y_pred.shape[-1]
        known = known_values(y_true)
        if known is not None and num_classes is not None:
            check_label_values(known, num_classes, self.ignore_label,
                               arg_name="y_true")
        if num_classes is None:
            bad_images = None
        else:
            bad_images = self._images_with_bad_labels(y_true, num_classes)
        y_true = subsample_labels(y_true, spatial_size(y_pred))
        if bad_images is not None:
            # A valid id in their place: TensorFlow's op would raise on CPU
            # (NaN on GPU) and JAX's one-hot give 0; the loss is NaN below.
            y_true = ops.where(self._out_of_range(y_true, num_classes), 0,
                               y_true)
        loss = super().__call__(y_true, ops.cast(y_pred, "float32"),
                                sample_weight=sample_weight)
        if bad_images is None:
            return loss
        nan = ops.convert_to_tensor(float("nan"), dtype=loss.dtype)
        if len(loss.shape) == 0:
            return ops.where(ops.any(bad_images), nan, loss)
        bad = ops.reshape(bad_images, (-1,) + (1,) * (len(loss.shape) - 1))
        return ops.where(bad, nan, loss)

    def _out_of_range(self, labels, num_classes):
        outside = ops.logical_or(ops.less(labels, 0),
                                 ops.greater_equal(labels, num_classes))
        if self.ignore_label is None:
            return outside
        return ops.logical_and(outside,
                               ops.not_equal(labels, self.ignore_label))

    def _images_with_bad_labels(self, labels, num_classes):
        """bool `[B]`: whether each full-resolution label map holds an id
        that is neither a class nor the ignore label (graph ops, no sync)."""
        if len(labels.shape) == 4:
            labels = ops.squeeze(labels, axis=-1)
        bad = self._out_of_range(ops.cast(labels, "int32"), num_classes)
        return ops.any(ops.reshape(bad, (ops.shape(bad)[0], -1)), axis=-1)

    def get_config(self):
        config = super().get_config()
        config.pop("from_logits", None)
        config.pop("ignore_class", None)
        config.pop("axis", None)
        config["ignore_label"] = self.ignore_label
        return config
