import keras
from keras import ops

IGNORE_LABEL = 255


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
        height, width = y_pred.shape[1], y_pred.shape[2]
        if height is None or width is None:
            dynamic = ops.shape(y_pred)
            height = dynamic[1] if height is None else height
            width = dynamic[2] if width is None else width
        y_true = subsample_labels(y_true, (height, width))
        return super().__call__(y_true, ops.cast(y_pred, "float32"),
                                sample_weight=sample_weight)

    def get_config(self):
        config = super().get_config()
        config.pop("from_logits", None)
        config.pop("ignore_class", None)
        config.pop("axis", None)
        config["ignore_label"] = self.ignore_label
        return config
