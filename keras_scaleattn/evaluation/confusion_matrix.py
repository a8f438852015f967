"""Accumulated confusion matrix and the usual semantic-segmentation scores."""

import numpy as np

from keras_scaleattn.evaluation._arrays import as_class_array
from keras_scaleattn.evaluation._arrays import describe_values


class SegmentationConfusionMatrix:
    """Confusion matrix over pixels, with mIoU and pixel accuracies.

    Counts `(ground truth, prediction)` pairs over every pixel whose label is
    not `ignore_label` (and, if a mask is given, where the mask is true).
    Rows are ground-truth classes, columns predicted classes. The scores
    follow the PASCAL VOC definition used by the paper:

    - IoU of class c: `TP / (TP + FP + FN)` = `cm[c, c] / (row_c + col_c -
      cm[c, c])`. A class absent from both ground truth and prediction has
      IoU NaN and is left out of the mean; a class that is only predicted
      has IoU 0 and counts (as in `keras.metrics.MeanIoU`).
    - `pixel_accuracy`: `trace(cm) / sum(cm)`.
    - `mean_class_accuracy`: mean over classes with ground-truth pixels of
      `cm[c, c] / row_c`.

    Args:
        num_classes: int. Number of classes C; class ids are in `[0, C)`.
        ignore_label: int or None. Label value excluded from the counts.
            Defaults to 255. None counts every pixel.
        class_names: sequence of C distinct str, or None. Keys of
            `per_class_iou`. Defaults to `"0"`, `"1"`, ...

    Example:

    >>> cm = SegmentationConfusionMatrix(num_classes=3)
    >>> cm.update([[0, 1], [2, 255]], [[0, 1], [1, 0]])
    >>> result = cm.result()
    >>> round(result["miou"], 4), result["pixel_accuracy"]
    (0.5, 0.6666666666666666)
    """

    def __init__(self, num_classes, ignore_label=255, class_names=None):
        if (
            isinstance(num_classes, bool)
            or not isinstance(num_classes, (int, np.integer))
            or num_classes < 1
        ):
            raise ValueError(
                "`num_classes` must be a positive integer. "
                f"Received: num_classes={num_classes}"
            )
        if ignore_label is not None and (
            isinstance(ignore_label, bool)
            or not isinstance(ignore_label, (int, np.integer))
        ):
            raise ValueError(
                "`ignore_label` must be an integer or None. "
                f"Received: ignore_label={ignore_label}"
            )
        if class_names is None:
            class_names = [str(i) for i in range(num_classes)]
        else:
            class_names = [str(name) for name in class_names]
            if len(class_names) != num_classes or len(set(class_names)) != len(
                class_names
            ):
                raise ValueError(
                    f"`class_names` must be {num_classes} distinct names "
                    f"(one per class). Received: class_names={class_names}"
                )
        self.num_classes = int(num_classes)
        self.ignore_label = None if ignore_label is None else int(ignore_label)
        self.class_names = class_names
        self.reset()

    def reset(self):
        """Sets every count back to zero."""
        self._matrix = np.zeros((self.num_classes, self.num_classes), np.int64)

    @property
    def confusion_matrix(self):
        """A copy of the accumulated C x C int64 matrix (rows = ground truth)."""
        return self._matrix.copy()

    def update(self, labels, predictions, mask=None):
        """Adds one label map (or a batch) to the counts.

        Args:
            labels: int array, e.g. [H, W] or [N, H, W]. Class ids in
                `[0, C)` or `ignore_label`.
            predictions: int array of the same shape, class ids in `[0, C)`
                at every pixel (ignored pixels included).
            mask: bool array of the same shape, or None. Only pixels where
                it is true are counted.
        """
        labels = as_class_array(labels, "labels")
        predictions = as_class_array(predictions, "predictions")
        if labels.shape != predictions.shape:
            raise ValueError(
                "`labels` and `predictions` must have the same shape. "
                f"Received: labels.shape={labels.shape}, "
                f"predictions.shape={predictions.shape}"
            )
        c = self.num_classes
        valid = np.ones(labels.shape, bool)
        if self.ignore_label is not None:
            valid &= labels != self.ignore_label
        bad = valid & ((labels < 0) | (labels >= c))
        if np.any(bad):
            raise ValueError(
                f"`labels` must be class ids in [0, {c}) or the ignore label "
                f"{self.ignore_label}. Received out-of-range values: "
                f"{describe_values(labels[bad])}"
            )
        bad = (predictions < 0) | (predictions >= c)
        if np.any(bad):
            raise ValueError(
                f"`predictions` must be class ids in [0, {c}). Received "
                f"out-of-range values: {describe_values(predictions[bad])}"
            )
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != labels.shape:
                raise ValueError(
                    "`mask` must have the shape of `labels`. "
                    f"Received: mask.shape={mask.shape}, "
                    f"labels.shape={labels.shape}"
                )
            valid &= mask.astype(bool)
        pairs = labels[valid] * c + predictions[valid]
        self._matrix += np.bincount(pairs, minlength=c * c).reshape(c, c)

    def merge(self, other):
        """Adds the counts of another matrix (e.g. from another worker).

        Args:
            other: SegmentationConfusionMatrix with the same `num_classes`.

        Returns:
            self, so calls can be chained.
        """
        if not isinstance(other, SegmentationConfusionMatrix):
            raise ValueError(
                "`other` must be a SegmentationConfusionMatrix. "
                f"Received: other={type(other).__name__}"
            )
        if other.num_classes != self.num_classes:
            raise ValueError(
                "`other` must have the same number of classes. Received: "
                f"other.num_classes={other.num_classes}, expected "
                f"{self.num_classes}"
            )
        self._matrix += other._matrix
        return self

    def result(self):
        """Computes the scores from the counts so far.

        Returns:
            dict with `miou` (float), `per_class_iou` (dict name -> float,
            NaN for classes absent from both ground truth and prediction),
            `pixel_accuracy` (float), `mean_class_accuracy` (float) and
            `confusion_matrix` (C x C int64 copy). Scores with nothing to
            average over are NaN.
        """
        cm = self._matrix.astype(np.float64)
        tp = np.diag(cm)
        gt = cm.sum(axis=1)
        union = gt + cm.sum(axis=0) - tp
        with np.errstate(invalid="ignore", divide="ignore"):
            iou = np.where(union > 0, tp / union, np.nan)
            recall = np.where(gt > 0, tp / gt, np.nan)
        total = cm.sum()
        return {
            "miou": _nanmean(iou),
            "per_class_iou": {
                name: float(v) for name, v in zip(self.class_names, iou)
            },
            "pixel_accuracy": float(tp.sum() / total) if total else np.nan,
            "mean_class_accuracy": _nanmean(recall),
            "confusion_matrix": self._matrix.copy(),
        }


def _nanmean(values):
    """Mean of the non-NaN values; NaN (without a warning) if there are none."""
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else np.nan
