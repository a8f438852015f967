"""mIoU split by object size: does attention to scale help small and large objects?

The paper (Chen et al., CVPR 2016, Fig. 1 and 5) argues that the attention
weights favour scale 1 on small objects and scale 0.5 on large ones, so the
gain over a single scale should show up at both ends of the size range.
`ObjectSizeMIoU` measures that: the ground truth's objects are sorted into
small / medium / large by area and each group gets its own confusion matrix.
"""

import numpy as np
from scipy import ndimage

from keras_scaleattn.evaluation._arrays import as_class_array
from keras_scaleattn.evaluation._arrays import check_thresholds
from keras_scaleattn.evaluation.confusion_matrix import (
    SegmentationConfusionMatrix,
)

SIZE_BUCKETS = ("small", "medium", "large")

# 8-connectivity: pixels touching only at a corner belong to the same object.
_EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


def object_size_masks(
    label, thresholds=(32**2, 96**2), ignore_label=255, background_class=0
):
    """Splits a label map's object pixels into small, medium and large.

    An object is a connected component (8-connectivity) of the pixels of one
    class, so two touching objects of the same class count as one (semantic
    labels carry no instance ids) while touching objects of different classes
    are separate. Ignored pixels and `background_class` are never objects.
    Each object's pixels go to the bucket of its area `a` in pixels:
    `a < thresholds[0]` small, `a < thresholds[1]` medium, else large.

    Areas are in pixels of `label` as given, so the thresholds depend on the
    image size: the COCO-style defaults `(32**2, 96**2)` suit VOC-sized images
    (~500 x 375); for 129 x 129 synthetic images use e.g. `(16**2, 40**2)`.

    Args:
        label: int array [H, W]. Class ids, `ignore_label` for void pixels.
        thresholds: pair of increasing areas in pixels. Defaults to
            `(32**2, 96**2)`.
        ignore_label: int or None. Void label. Defaults to 255.
        background_class: int or None. Class that is not an object.
            Defaults to 0. None treats every class as objects.

    Returns:
        dict `{"small", "medium", "large"}` of bool arrays [H, W]; disjoint,
        and together exactly the object pixels.

    Example:

    >>> label = np.zeros((8, 8), np.int32)
    >>> label[0:2, 0:2] = 1  # area 4
    >>> label[3:8, 3:8] = 2  # area 25
    >>> masks = object_size_masks(label, thresholds=(10, 20))
    >>> int(masks["small"].sum()), int(masks["medium"].sum()), int(masks["large"].sum())
    (4, 0, 25)
    """
    masks, _ = _object_size_masks_and_counts(
        label, thresholds, ignore_label, background_class
    )
    return masks


def _object_size_masks_and_counts(
    label, thresholds, ignore_label, background_class
):
    """Returns (masks, number of objects per bucket) for one label map."""
    label = as_class_array(label, "label")
    if label.ndim != 2:
        raise ValueError(
            f"`label` must be a 2-D [H, W] array. Received: label.shape={label.shape}"
        )
    t0, t1 = check_thresholds(thresholds)
    # Bucket index per pixel: 0 small, 1 medium, 2 large, -1 not an object.
    bucket = np.full(label.shape, -1, np.int8)
    counts = np.zeros(len(SIZE_BUCKETS), np.int64)
    for class_id in np.unique(label):
        if class_id == ignore_label or class_id == background_class:
            continue
        components, num = ndimage.label(label == class_id, _EIGHT_CONNECTED)
        areas = np.bincount(components.ravel(), minlength=num + 1)
        component_bucket = np.where(areas < t0, 0, np.where(areas < t1, 1, 2))
        component_bucket[0] = -1  # component 0 is "not this class"
        counts += np.bincount(component_bucket[1:], minlength=3)
        in_class = components > 0
        bucket[in_class] = component_bucket[components[in_class]]
    masks = {name: bucket == i for i, name in enumerate(SIZE_BUCKETS)}
    return masks, dict(zip(SIZE_BUCKETS, counts.tolist()))


class ObjectSizeMIoU:
    """mIoU and pixel accuracy within small, medium and large objects.

    Each bucket's region is the set of ground-truth pixels that belong to
    objects of that size (see `object_size_masks`). One
    `SegmentationConfusionMatrix` per bucket counts `(label, prediction)`
    only inside that region, so:

    - a class's IoU in a bucket is `TP / (TP + FN + FP)` where FP counts only
      pixels *of other objects of that size* predicted as the class;
      false positives on background or on objects of other sizes do not
      count;
    - the bucket's `miou` averages only the classes that have ground-truth
      pixels in the bucket. Classes that are only predicted there (the
      background class, above all) have no ground truth in the region and
      would score IoU 0 by construction; their errors are already counted
      as the missed pixels (FN) of the true classes;
    - `pixel_accuracy` is the fraction of the bucket's pixels predicted as
      their ground-truth class (recall within the region).

    These are therefore not comparable with the image-level mIoU; compare
    them across models (single scale, max, average, attention).

    Args:
        num_classes: int. Number of classes C.
        thresholds: pair of increasing areas in pixels splitting small /
            medium / large. Defaults to `(32**2, 96**2)`.
        ignore_label: int or None. Void label. Defaults to 255.
        background_class: int or None. Class that is not an object.
            Defaults to 0.
        class_names: sequence of C str, or None. Keys of `per_class_iou`.

    Example:

    >>> metric = ObjectSizeMIoU(num_classes=3, thresholds=(10, 20))
    >>> label = np.zeros((8, 8), np.int32)
    >>> label[0:2, 0:2] = 1
    >>> metric.update(label, np.zeros_like(label))
    >>> metric.result()["small"]["pixel_accuracy"], metric.result()["small"]["num_objects"]
    (0.0, 1)
    """

    def __init__(
        self,
        num_classes,
        thresholds=(32**2, 96**2),
        ignore_label=255,
        background_class=0,
        class_names=None,
    ):
        self.thresholds = check_thresholds(thresholds)
        self.num_classes = num_classes
        self.ignore_label = ignore_label
        self.background_class = background_class
        self.class_names = class_names
        self.matrices = {
            name: SegmentationConfusionMatrix(
                num_classes, ignore_label=ignore_label, class_names=class_names
            )
            for name in SIZE_BUCKETS
        }
        self.reset()

    def reset(self):
        """Sets every count back to zero."""
        for matrix in self.matrices.values():
            matrix.reset()
        self._num_objects = dict.fromkeys(SIZE_BUCKETS, 0)

    def update(self, labels, predictions):
        """Adds one label map [H, W] or a batch [N, H, W].

        Args:
            labels: int array [H, W] or [N, H, W].
            predictions: int array of the same shape, class ids in `[0, C)`.
        """
        labels = as_class_array(labels, "labels")
        predictions = as_class_array(predictions, "predictions")
        if labels.shape != predictions.shape:
            raise ValueError(
                "`labels` and `predictions` must have the same shape. "
                f"Received: labels.shape={labels.shape}, "
                f"predictions.shape={predictions.shape}"
            )
        if labels.ndim not in (2, 3):
            raise ValueError(
                "`labels` must be [H, W] or [N, H, W]. "
                f"Received: labels.shape={labels.shape}"
            )
        if labels.ndim == 2:
            labels, predictions = labels[None], predictions[None]
        for label, prediction in zip(labels, predictions):
            masks, counts = _object_size_masks_and_counts(
                label, self.thresholds, self.ignore_label, self.background_class
            )
            for name in SIZE_BUCKETS:
                self.matrices[name].update(label, prediction, mask=masks[name])
                self._num_objects[name] += counts[name]

    def merge(self, other):
        """Adds the counts of another `ObjectSizeMIoU` with the same setup.

        Args:
            other: ObjectSizeMIoU with equal `num_classes` and `thresholds`.

        Returns:
            self.
        """
        if not isinstance(other, ObjectSizeMIoU) or (
            other.thresholds != self.thresholds
        ):
            raise ValueError(
                "`other` must be an ObjectSizeMIoU with the same thresholds. "
                f"Received: other={other!r}"
            )
        for name in SIZE_BUCKETS:
            self.matrices[name].merge(other.matrices[name])
            self._num_objects[name] += other._num_objects[name]
        return self

    def result(self):
        """Computes the per-bucket scores.

        Returns:
            dict `{bucket: {"miou", "pixel_accuracy", "num_pixels",
            "num_objects", "per_class_iou"}}` for buckets small, medium and
            large. `miou` and `pixel_accuracy` are NaN for an empty bucket;
            `per_class_iou` is NaN for classes without ground truth there.
        """
        results = {}
        for name in SIZE_BUCKETS:
            matrix = self.matrices[name]
            scores = matrix.result()
            cm = scores["confusion_matrix"]
            has_gt = cm.sum(axis=1) > 0
            iou = np.array(list(scores["per_class_iou"].values()))
            iou[~has_gt] = np.nan
            results[name] = {
                "miou": float(iou[has_gt].mean()) if has_gt.any() else np.nan,
                "pixel_accuracy": scores["pixel_accuracy"],
                "num_pixels": int(cm.sum()),
                "num_objects": int(self._num_objects[name]),
                "per_class_iou": dict(zip(matrix.class_names, iou.tolist())),
            }
        return results

    def __repr__(self):
        return (
            f"ObjectSizeMIoU(num_classes={self.num_classes}, "
            f"thresholds={self.thresholds})"
        )
